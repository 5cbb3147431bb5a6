import { codedError } from '@mbsync/errors';
/** Every failure the dump package reports carries one of these codes; the api maps them to HTTP statuses. */
export type DumpErrorCode =
  | 'DUMP_CONNECTION_FAILED'
  | 'DUMP_AUTHENTICATION_FAILED'
  | 'DUMP_DATABASE_NOT_FOUND'
  | 'DUMP_PERMISSION_DENIED'
  | 'DUMP_LOCK_TIMEOUT'
  | 'DUMP_OUTPUT_NOT_WRITABLE'
  /** the export's output file (or its manifest) already exists: dumps are never overwritten */
  | 'DUMP_OUTPUT_EXISTS'
  | 'DUMP_CANCELLED'
  | 'DUMP_QUERY_FAILED'
  | 'DUMP_CORRUPT'
  | 'DUMP_MANIFEST_INVALID'
  | 'DUMP_FORMAT_UNSUPPORTED'
  | 'DUMP_IMPORT_FAILED'
  | 'DUMP_TARGET_BUSY'
  | 'DUMP_SQL_SYNTAX'
  | 'DUMP_BACKSLASH_COMMAND'
  | 'DUMP_STATEMENT_TOO_LARGE'
  | 'DUMP_UNTERMINATED'
  | 'DUMP_BACKUP_NOT_FOUND'
  | 'DUMP_VERIFY_FAILED'
  | 'DUMP_DEPENDENTS_LOST'
  | 'DUMP_UNSUPPORTED_OBJECTS'
  /** postgres.js lacks patches/postgres@3.4.9.patch (see assertDriverPatched) */
  | 'DUMP_DRIVER_UNPATCHED';

/** Base class for the dump package's errors. Messages never contain connection strings or passwords. */
export class DumpError extends codedError<DumpErrorCode>('DumpError') {}

/** True when an error is an AbortSignal's abort reason or our own cancellation. */
export function isAbortError(error: unknown): boolean {
  return (
    (error instanceof DumpError && error.code === 'DUMP_CANCELLED') ||
    (error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR'))
  );
}

/** Throws DUMP_CANCELLED when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'cancelled');
}
