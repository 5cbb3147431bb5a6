/** Version of the dump file format written by this package (header line and manifest). */
export const DUMP_FORMAT_VERSION = 1;
export const TOOL_NAME = 'multiboard-sync';
export const TOOL_VERSION = '0.1.0';

/** First line of every dump we write; the importer uses it to recognise our own files. */
export const HEADER_MARK = `-- ${TOOL_NAME} dump format ${DUMP_FORMAT_VERSION}`;
/** Prefix of the last line of a complete dump. A file without it was cut short. */
export const TRAILER_MARK = `-- ${TOOL_NAME} dump complete`;

/**
 * The session settings written at the top of a dump. They make the file restore the same way whatever the
 * target's defaults are: data is in ISO/postgres styles with full float precision, names are
 * schema-qualified under an empty search_path, and function bodies are not validated mid-restore.
 */
export const RESTORE_SETTINGS = [
  'SET statement_timeout = 0;',
  'SET lock_timeout = 0;',
  'SET idle_in_transaction_session_timeout = 0;',
  "SET client_encoding = 'UTF8';",
  'SET standard_conforming_strings = on;',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  'SET check_function_bodies = false;',
  'SET xmloption = content;',
  'SET client_min_messages = warning;',
  'SET row_security = off;',
  "SET DateStyle = 'ISO, MDY';",
  "SET IntervalStyle = 'postgres';",
  'SET extra_float_digits = 3;',
];

/**
 * Settings for the exporting session (pg_dump's): text forms that read back exactly on any server,
 * no timeouts that could cut a long COPY, and RLS off so a role that cannot bypass it fails instead of
 * silently dumping a subset of rows.
 */
export const EXPORT_SESSION_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO, MDY'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['statement_timeout', '0'],
  ['idle_in_transaction_session_timeout', '0'],
  ['row_security', 'off'],
  ['search_path', ''],
  ['synchronize_seqscans', 'off'],
  ['client_min_messages', 'warning'],
];

/** One statement applying EXPORT_SESSION_SETTINGS for the rest of the transaction (every exporting session runs it). */
export function exportSessionSettingsSql(): string {
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return `SELECT ${EXPORT_SESSION_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quote(k)}, ${quote(v)}, true)`).join(', ')}`;
}
