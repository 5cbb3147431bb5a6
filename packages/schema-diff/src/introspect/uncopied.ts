import type postgres from 'postgres';
import { compareText } from './rows.js';

/** An object of the source that the schema model does not carry, so a copy would lose it. */
export interface UncopiedObject {
  /** What kind of object, in pg_dump's words (e.g. `OPERATOR`, `TEXT SEARCH CONFIGURATION`, `EVENT TRIGGER`). */
  kind: string;
  /** pg_describe_object's text (or a description of the feature, e.g. `compression of column public.t.c`). */
  description: string;
}

/** Which objects the census looks for: besides the selected schemas' own, database-wide ones and privileges. */
export interface CensusOptions {
  /** Database-wide objects (publications, event triggers, casts, …) are part of the copy: a whole-database selection. */
  databaseWide: boolean;
  /** Privileges are copied: default privileges must be too. */
  privileges: boolean;
}

/**
 * `$1` is the selected schemas. Members of extensions are left out (CREATE EXTENSION brings them back), and so are
 * objects made implicitly with another (a range type's casts to its multirange: 'i').
 */
const NOT_MEMBER = (catalog: string, alias: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
  WHERE e.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND e.objid = ${alias}.oid AND e.deptype IN ('e', 'i'))`;

function inSchemas(catalog: string, namespaceColumn: string, extra = ''): string {
  return `SELECT pg_catalog.pg_describe_object('pg_catalog.${catalog}'::pg_catalog.regclass, o.oid, 0) AS description
    FROM pg_catalog.${catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.${namespaceColumn}
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_MEMBER(catalog, 'o')}${extra}`;
}

function databaseWide(catalog: string, extra = ''): string {
  // OIDs below FirstNormalObjectId (16384) are initdb's own
  return `SELECT pg_catalog.pg_describe_object('pg_catalog.${catalog}'::pg_catalog.regclass, o.oid, 0) AS description
    FROM pg_catalog.${catalog} o WHERE o.oid >= 16384 AND ${NOT_MEMBER(catalog, 'o')}${extra}`;
}

const TABLES = `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1::text[]) AND ${NOT_MEMBER('pg_class', 'c')}`;
const COLUMNS = `FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f') AND ${NOT_MEMBER('pg_class', 'c')}`;
const COLUMN_NAME = `pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname)`;

interface CensusEntry {
  kind: string;
  /** when the entry applies */
  when?: (options: CensusOptions) => boolean;
  /** one row per uncopied object, with a `description` column */
  sql: string;
}

/**
 * Every kind of object pg_dump emits that the schema model does not carry yet. A copy is refused while the source
 * holds any of them, naming each: nothing is silently dropped. (Kinds the model carries are copied; the
 * catalog-coverage test creates one object of every kind pg_dump emits and checks each is one or the other.)
 */
export const CENSUS: readonly CensusEntry[] = Object.freeze([
  // postfix operators (PostgreSQL 13 and older); shell operators are left out as pg_dump does (a CREATE OPERATOR
  // naming one as its commutator or negator makes it again)
  { kind: 'OPERATOR', sql: inSchemas('pg_operator', 'oprnamespace', ` AND o.oprkind = 'r' AND o.oprcode <> 0`) },
  // statistics on a relation outside the selected schemas, or on one of theirs from a schema left out
  { kind: 'STATISTICS', sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_statistic_ext'::pg_catalog.regclass, o.oid, 0)
      || ' on ' || pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(r.relname) || ' (the object and its table must both be copied)' AS description
    FROM pg_catalog.pg_statistic_ext o JOIN pg_catalog.pg_namespace n ON n.oid = o.stxnamespace
    JOIN pg_catalog.pg_class r ON r.oid = o.stxrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
    WHERE (n.nspname = ANY($1::text[])) <> (rn.nspname = ANY($1::text[])) AND ${NOT_MEMBER('pg_statistic_ext', 'o')}` },
  { kind: 'FOREIGN TABLE', sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) AS description ${TABLES} AND c.relkind = 'f'` },
  // base types with their own input/output functions, and shell types (CREATE TYPE name;)
  { kind: 'TYPE', sql: inSchemas('pg_type', 'typnamespace', ` AND (o.typtype = 'p' OR (o.typtype = 'b' AND o.typcategory <> 'A'))`) },
  // moving-aggregate and sort-operator options are not carried by the model's CREATE AGGREGATE
  { kind: 'AGGREGATE', sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 0) || ' (moving-aggregate or sort operator options)' AS description
    FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_MEMBER('pg_proc', 'p')} AND (a.aggmtransfn <> 0 OR a.aggsortop <> 0)` },
  { kind: 'TABLE ACCESS METHOD', sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) || ' using access method ' || am.amname AS description
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_am am ON am.oid = c.relam
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_MEMBER('pg_class', 'c')} AND c.relkind IN ('r', 'm') AND am.amname <> 'heap'` },
  { kind: 'TABLESPACE', sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) || ' in tablespace ' || t.spcname AS description
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_MEMBER('pg_class', 'c')}` },
  // a table's are copied; a materialized view's are not carried by the model (foreign tables are refused whole)
  { kind: 'COLUMN COMPRESSION', sql: `SELECT 'compression of column ' || ${COLUMN_NAME} AS description ${COLUMNS} AND c.relkind IN ('m', 'f') AND a.attcompression <> ''` },
  // options the server keeps for itself (pg_*, e.g. pg_attver) are not the user's: pg_dump leaves them out too
  { kind: 'COLUMN OPTIONS', sql: `SELECT 'options (' || pg_catalog.array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_%'), ', ') || ') of column ' || ${COLUMN_NAME} AS description
    ${COLUMNS} AND c.relkind IN ('m', 'f') AND EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_%')` },
  { kind: 'SECURITY LABEL', sql: `SELECT pg_catalog.pg_describe_object(s.classoid, s.objoid, s.objsubid) || ' (security label)' AS description FROM pg_catalog.pg_seclabel s` },
  { kind: 'SUBSCRIPTION', when: (o) => o.databaseWide, sql: `SELECT pg_catalog.pg_describe_object('pg_catalog.pg_subscription'::pg_catalog.regclass, o.oid, 0) AS description
    FROM pg_catalog.pg_subscription o WHERE o.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())` },
  { kind: 'FOREIGN DATA WRAPPER', when: (o) => o.databaseWide, sql: databaseWide('pg_foreign_data_wrapper') },
  { kind: 'SERVER', when: (o) => o.databaseWide, sql: databaseWide('pg_foreign_server') },
  // pg_user_mapping itself is for superusers; its view is not
  { kind: 'USER MAPPING', when: (o) => o.databaseWide, sql: `SELECT 'user mapping for ' || o.usename || ' on server ' || o.srvname AS description FROM pg_catalog.pg_user_mappings o` },
  { kind: 'PROCEDURAL LANGUAGE', when: (o) => o.databaseWide, sql: databaseWide('pg_language') },
  // casts whose function and types all lie outside the selected schemas (the model carries the others)
  { kind: 'CAST', when: (o) => o.databaseWide, sql: databaseWide('pg_cast', ` AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
      JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid IN (o.castsource, o.casttarget) AND tn.nspname = ANY($1::text[]))
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
      WHERE f.oid = o.castfunc AND fn.nspname = ANY($1::text[]))`) },
  { kind: 'TRANSFORM', when: (o) => o.databaseWide, sql: databaseWide('pg_transform') },
  { kind: 'ACCESS METHOD', when: (o) => o.databaseWide, sql: databaseWide('pg_am') },
]);

/**
 * The objects of the selection (and, for a whole-database copy, of the database) that the model does not carry.
 * Read inside the exporter's snapshot, before anything is written anywhere.
 */
export async function readUncopied(tx: postgres.TransactionSql, schemas: string[], options: CensusOptions): Promise<UncopiedObject[]> {
  const entries = CENSUS.filter((e) => e.when?.(options) ?? true);
  const rows = await tx.unsafe<{ kind: string; description: string }[]>(
    entries.map((e) => `SELECT ${`'${e.kind}'`}::text AS kind, x.description FROM (${e.sql}) x`).join('\nUNION ALL\n'), [schemas],
  );
  return rows.map((r) => ({ kind: r.kind, description: r.description })).sort((a, b) => compareText(a.kind, b.kind) || compareText(a.description, b.description));
}
