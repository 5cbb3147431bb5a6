import type postgres from 'postgres';
import type { CatalogObjects, Cast, Collation, Conversion, StatisticsObject } from '../catalog-objects.js';
import type { Column, Table } from '../model.js';
import { fromSelected, notMember } from './catalog-sql.js';
import { readOperators } from './operators.js';
import { byName, compareText, optional } from './rows.js';
import { readTextSearch } from './text-search.js';

/** OIDs below FirstNormalObjectId belong to initdb (the built-in casts). */
const FIRST_NORMAL_OBJECT_ID = 16384;

const PROVIDERS: Record<string, Collation['provider']> = { c: 'libc', i: 'icu', b: 'builtin' };
const CAST_METHODS: Record<string, Cast['method']> = { f: 'function', b: 'binary', i: 'inout' };
const CAST_CONTEXTS: Record<string, Cast['context']> = { e: 'explicit', a: 'assignment', i: 'implicit' };

/**
 * Collations. Where the locale lives depends on the server version (collcollate for ICU before 15, colliculocale
 * in 15 and 16, colllocale from 17): read through to_jsonb so one query serves them all, and normalised so that
 * the model does not change with the version: `locale` for ICU and builtin, lcCollate/lcCtype for libc.
 */
async function readCollations(tx: postgres.TransactionSql, schemas: string[]): Promise<Collation[]> {
  const rows = await tx.unsafe<{ schema: string; name: string; owner: string; provider: string; deterministic: boolean; lc_collate: string | null;
    lc_ctype: string | null; icu_locale: string | null; locale: string | null; rules: string | null; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.collname AS name, pg_catalog.pg_get_userbyid(o.collowner) AS owner, o.collprovider AS provider,
      o.collisdeterministic AS deterministic, pg_catalog.to_jsonb(o) ->> 'collcollate' AS lc_collate, pg_catalog.to_jsonb(o) ->> 'collctype' AS lc_ctype,
      pg_catalog.to_jsonb(o) ->> 'colliculocale' AS icu_locale, pg_catalog.to_jsonb(o) ->> 'colllocale' AS locale,
      pg_catalog.to_jsonb(o) ->> 'collicurules' AS rules, d.description AS comment
    ${fromSelected('pg_collation', 'collnamespace')} AND o.collprovider <> 'd'`, [schemas]);
  return rows.map((r): Collation => {
    const provider = PROVIDERS[r.provider] ?? 'libc';
    const locale = provider === 'libc' ? null : r.locale ?? r.icu_locale ?? r.lc_collate;
    return {
      schema: r.schema, name: r.name, owner: r.owner, provider, deterministic: r.deterministic,
      ...optional('locale', locale),
      ...(provider === 'libc' ? { ...optional('lcCollate', r.lc_collate), ...optional('lcCtype', r.lc_ctype) } : {}),
      ...optional('rules', r.rules), ...optional('comment', r.comment),
    };
  }).sort(byName);
}

/**
 * User-defined casts whose function, source type or target type lives in the selected schemas (extension members
 * and the casts a type is made with left out).
 */
async function readCasts(tx: postgres.TransactionSql, schemas: string[]): Promise<Cast[]> {
  const rows = await tx.unsafe<{ source: string; target: string; method: string; context: string; function: string | null; schemas: string[];
    comment: string | null }[]>(`
    SELECT pg_catalog.format_type(c.castsource, NULL) AS source, pg_catalog.format_type(c.casttarget, NULL) AS target,
      c.castmethod AS method, c.castcontext AS context,
      CASE WHEN c.castfunc <> 0 THEN c.castfunc::pg_catalog.regprocedure::text END AS function,
      ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[sn.nspname, tn.nspname, fn.nspname]) x WHERE x = ANY($1::text[]) ORDER BY 1) AS schemas,
      d.description AS comment
    FROM pg_catalog.pg_cast c
    JOIN pg_catalog.pg_type s ON s.oid = c.castsource JOIN pg_catalog.pg_namespace sn ON sn.oid = s.typnamespace
    JOIN pg_catalog.pg_type t ON t.oid = c.casttarget JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_cast'::pg_catalog.regclass
    WHERE c.oid >= ${FIRST_NORMAL_OBJECT_ID} AND ${notMember('pg_cast', 'c')}
      AND (sn.nspname = ANY($1::text[]) OR tn.nspname = ANY($1::text[]) OR fn.nspname = ANY($1::text[]))`, [schemas]);
  return rows.map((r): Cast => ({
    source: r.source, target: r.target, method: CAST_METHODS[r.method] ?? 'function', ...optional('function', r.function),
    context: CAST_CONTEXTS[r.context] ?? 'explicit', schemas: r.schemas, ...optional('comment', r.comment),
  })).sort((a, b) => compareText(a.source, b.source) || compareText(a.target, b.target));
}

async function readConversions(tx: postgres.TransactionSql, schemas: string[]): Promise<Conversion[]> {
  const rows = await tx.unsafe<{ schema: string; name: string; owner: string; from: string; to: string; function: string; default: boolean; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.conname AS name, pg_catalog.pg_get_userbyid(o.conowner) AS owner,
      pg_catalog.pg_encoding_to_char(o.conforencoding) AS from, pg_catalog.pg_encoding_to_char(o.contoencoding) AS to,
      o.conproc::pg_catalog.regproc::text AS function, o.condefault AS default, d.description AS comment
    ${fromSelected('pg_conversion', 'connamespace')}`, [schemas]);
  return rows.map((r): Conversion => ({
    schema: r.schema, name: r.name, owner: r.owner, from: r.from, to: r.to, function: r.function, default: r.default, ...optional('comment', r.comment),
  })).sort(byName);
}

/**
 * Extended statistics on the model's relations (`relations`: 'schema.name' of its tables and views); the target is
 * read through to_jsonb (no stxstattarget before 13, nullable from 17).
 */
async function readStatistics(tx: postgres.TransactionSql, schemas: string[], relations: ReadonlySet<string>): Promise<StatisticsObject[]> {
  const rows = await tx.unsafe<{ schema: string; name: string; owner: string; table_schema: string; table_name: string; definition: string;
    target: number | null; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.stxname AS name, pg_catalog.pg_get_userbyid(o.stxowner) AS owner, rn.nspname AS table_schema, r.relname AS table_name,
      pg_catalog.pg_get_statisticsobjdef(o.oid) AS definition, (pg_catalog.to_jsonb(o) ->> 'stxstattarget')::int AS target, d.description AS comment
    ${fromSelected('pg_statistic_ext', 'stxnamespace', `JOIN pg_catalog.pg_class r ON r.oid = o.stxrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace`)}`,
  [schemas]);
  return rows.filter((r) => relations.has(`${r.table_schema}.${r.table_name}`)).map((r): StatisticsObject => ({
    schema: r.schema, name: r.name, owner: r.owner, table: { schema: r.table_schema, name: r.table_name }, definition: r.definition,
    ...optional('target', r.target !== null && r.target >= 0 ? r.target : null), ...optional('comment', r.comment),
  })).sort(byName);
}

/**
 * Every catalog object of the selected schemas the model carries besides relations, types and routines.
 * `relations` ('schema.name' of the model's tables and views) limits statistics to those on copied relations.
 */
export async function readCatalogObjects(tx: postgres.TransactionSql, schemas: string[], relations: ReadonlySet<string>): Promise<CatalogObjects> {
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [collations, textSearch, casts, operators, conversions, statistics] = await Promise.all([
    readCollations(tx, schemas), readTextSearch(tx, schemas), readCasts(tx, schemas), readOperators(tx, schemas), readConversions(tx, schemas),
    readStatistics(tx, schemas, relations),
  ]);
  return { collations, ...textSearch, casts, ...operators, conversions, statistics };
}

const COMPRESSION: Record<string, Column['compression']> = { p: 'pglz', l: 'lz4' };

/**
 * What a table has beyond relations.ts's reading: its type (typed tables), and per column the compression method
 * and the attribute options. The server adds options of its own named `pg_*` (pg_attver): never the user's, never
 * copied nor compared, as pg_dump leaves them out too. attcompression (14+) is read through to_jsonb.
 */
export async function addTableDetails(tx: postgres.TransactionSql, schemas: string[], tables: Table[]): Promise<Table[]> {
  const typedQuery = tx.unsafe<{ schema: string; name: string; of_type: string }[]>(`
    SELECT n.nspname AS schema, c.relname AS name, pg_catalog.format_type(c.reloftype, NULL) AS of_type
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND c.reloftype <> 0`, [schemas]);
  const columnsQuery = tx.unsafe<{ schema: string; name: string; column: string; compression: string | null; options: string[] }[]>(`
    SELECT x.* FROM (
      SELECT n.nspname AS schema, c.relname AS name, a.attname AS column, pg_catalog.to_jsonb(a) ->> 'attcompression' AS compression,
        ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_%') AS options
      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped) x
    WHERE COALESCE(x.compression, '') <> '' OR pg_catalog.cardinality(x.options) > 0`, [schemas]);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [typed, columns] = await Promise.all([typedQuery, columnsQuery]);
  if (typed.length === 0 && columns.length === 0) return tables;
  const ofType = new Map(typed.map((t) => [`${t.schema}.${t.name}`, t.of_type]));
  const extras = new Map<string, Map<string, { compression?: Column['compression']; options?: string[] }>>();
  for (const c of columns) {
    const key = `${c.schema}.${c.name}`;
    const map = extras.get(key) ?? new Map();
    map.set(c.column, { ...optional('compression', COMPRESSION[c.compression ?? '']), ...(c.options.length > 0 ? { options: c.options } : {}) });
    extras.set(key, map);
  }
  return tables.map((t) => {
    const key = `${t.schema}.${t.name}`;
    const type = ofType.get(key);
    const byColumn = extras.get(key);
    if (type === undefined && byColumn === undefined) return t;
    return {
      ...t, ...optional('ofType', type),
      columns: byColumn ? t.columns.map((c) => ({ ...c, ...byColumn.get(c.name) })) : t.columns,
    };
  });
}
