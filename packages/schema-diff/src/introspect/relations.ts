import type postgres from 'postgres';
import type { Column, SequenceInfo, Table, View, ViewColumn } from '../model.js';
import { readRelationParts } from './relation-parts.js';
import { byName, optional } from './rows.js';

const IN_SCHEMAS = `n.nspname = ANY($1::text[])`;
// Relations that belong to an extension are recreated by CREATE EXTENSION ('e' = DEPENDENCY_EXTENSION).
const NOT_EXTENSION_MEMBER = `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')`;
const STORAGE: Record<string, Column['storage']> = { p: 'plain', e: 'external', x: 'extended', m: 'main' };
const SEQUENCE_COLUMNS = `pg_catalog.format_type(s.seqtypid, NULL) AS data_type, s.seqstart::text AS start,
  s.seqincrement::text AS increment, s.seqmin::text AS min_value, s.seqmax::text AS max_value,
  s.seqcache::text AS cache, s.seqcycle AS cycle`;

interface SequenceRow { data_type: string; start: string; increment: string; min_value: string; max_value: string; cache: string; cycle: boolean; acl?: string[] | null }
interface ColumnRow {
  relid: number; name: string; position: number; type: string; not_null: boolean; default: string | null; identity: string;
  generated: string; collation: string | null; is_local: boolean; inherit_count: number; statistics: number; storage: string;
  type_storage: string; comment: string | null; acl: string[] | null;
  seq_schema: string | null; seq_name: string | null; seq: SequenceRow | null;
}

function sequenceOptions(s: SequenceRow) {
  return { dataType: s.data_type, start: s.start, increment: s.increment, minValue: s.min_value, maxValue: s.max_value, cache: s.cache, cycle: s.cycle };
}

function toColumn(r: ColumnRow): Column {
  const storage = r.storage !== r.type_storage ? STORAGE[r.storage] : undefined;
  return {
    name: r.name, position: r.position, type: r.type, notNull: r.not_null,
    // a generated column's expression lives in pg_attrdef too, but it is not a default
    ...optional('default', r.generated === '' ? r.default : null),
    ...optional<'identity', Column['identity']>('identity', r.identity === 'a' ? 'always' : r.identity === 'd' ? 'by default' : null),
    ...(r.seq && r.seq_schema !== null && r.seq_name !== null
      ? { identitySequence: { sequenceSchema: r.seq_schema, sequenceName: r.seq_name, ...sequenceOptions(r.seq), ...optional('acl', r.seq.acl) } } : {}),
    ...optional('generated', r.generated === 's' ? r.default : null),
    ...optional('collation', r.collation),
    isLocal: r.is_local, inheritCount: r.inherit_count,
    ...optional('statistics', r.statistics >= 0 ? r.statistics : null),
    ...optional('storage', storage),
    ...optional('comment', r.comment),
    ...optional('acl', r.acl),
  };
}

/** Tables (ordinary, partitioned, foreign), views, materialized views and sequences of the selected schemas. */
export async function readRelations(tx: postgres.TransactionSql, schemas: string[]): Promise<{ tables: Table[]; views: View[]; sequences: SequenceInfo[] }> {
  const relsQuery = tx.unsafe<{ relid: number; schema: string; name: string; kind: string; persistence: string;
    partition_bound: string | null; partition_key: string | null; rls_enabled: boolean; rls_forced: boolean; replica_identity: Table['replicaIdentity'];
    reloptions: string[]; comment: string | null; bytes: number; owner: string; acl: string[] | null; definition: string | null; populated: boolean }[]>(`
    SELECT c.oid::pg_catalog.int8::pg_catalog.float8 AS relid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
      c.relpersistence AS persistence,
      CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
      CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
      c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced, c.relreplident AS replica_identity,
      COALESCE(c.reloptions, '{}') AS reloptions, d.description AS comment,
      CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_table_size(c.oid)::pg_catalog.float8 ELSE 0 END AS bytes,
      pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl,
      CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition, c.relispopulated AS populated
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
    WHERE ${IN_SCHEMAS} AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${NOT_EXTENSION_MEMBER}`, [schemas]);

  const columnsQuery = tx.unsafe<ColumnRow[]>(`
    SELECT a.attrelid::pg_catalog.int8::pg_catalog.float8 AS relid, a.attname AS name, a.attnum AS position,
      pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
      pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated,
      CASE WHEN a.attcollation <> t.typcollation THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation,
      a.attislocal AS is_local, a.attinhcount AS inherit_count, a.attstattarget AS statistics, a.attstorage AS storage,
      t.typstorage AS type_storage, d.description AS comment, a.attacl::text[] AS acl,
      sn.nspname AS seq_schema, sc.relname AS seq_name,
      CASE WHEN s.seqrelid IS NOT NULL THEN json_build_object(
        'data_type', pg_catalog.format_type(s.seqtypid, NULL), 'start', s.seqstart::text, 'increment', s.seqincrement::text,
        'min_value', s.seqmin::text, 'max_value', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle,
        'acl', sc.relacl::text[]) END AS seq
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
    LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = a.attnum
    -- an identity column's sequence depends on it internally ('i')
    LEFT JOIN pg_catalog.pg_depend sd ON a.attidentity <> '' AND sd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND sd.refobjid = a.attrelid AND sd.refobjsubid = a.attnum AND sd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND sd.deptype = 'i'
    LEFT JOIN pg_catalog.pg_class sc ON sc.oid = sd.objid AND sc.relkind = 'S'
    LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
    LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = sc.oid
    WHERE ${IN_SCHEMAS} AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
      AND (sd.objid IS NULL OR sc.oid IS NOT NULL)
    ORDER BY a.attrelid, a.attnum`, [schemas]);

  const inheritsQuery = tx.unsafe<{ relid: number; schema: string; name: string }[]>(`
    SELECT i.inhrelid::pg_catalog.int8::pg_catalog.float8 AS relid, pn.nspname AS schema, p.relname AS name
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
    JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
    WHERE ${IN_SCHEMAS} AND c.relkind IN ('r', 'p', 'f')
    ORDER BY i.inhrelid, i.inhseqno`, [schemas]);

  const sequencesQuery = tx.unsafe<(SequenceRow & { schema: string; name: string; persistence: string; owner: string; acl: string[] | null;
    comment: string | null; owned_schema: string | null; owned_table: string | null; owned_column: string | null })[]>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relpersistence AS persistence, ${SEQUENCE_COLUMNS},
      pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl, d.description AS comment,
      tn.nspname AS owned_schema, t.relname AS owned_table, a.attname AS owned_column
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
    -- OWNED BY is an auto ('a') dependency on the column
    LEFT JOIN pg_catalog.pg_depend od ON od.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND od.objid = c.oid
      AND od.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND od.refobjsubid > 0 AND od.deptype = 'a'
    LEFT JOIN pg_catalog.pg_class t ON t.oid = od.refobjid
    LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = od.refobjid AND a.attnum = od.refobjsubid
    WHERE ${IN_SCHEMAS} AND c.relkind = 'S' AND ${NOT_EXTENSION_MEMBER}
      -- identity sequences are part of their column ('i' = internal)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
        AND i.objid = c.oid AND i.deptype = 'i')`, [schemas]);

  const partsQuery = readRelationParts(tx, schemas);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [rels, columns, inherits, sequences, parts] = await Promise.all([relsQuery, columnsQuery, inheritsQuery, sequencesQuery, partsQuery]);
  const columnsByRel = new Map<number, ColumnRow[]>();
  for (const c of columns) columnsByRel.set(c.relid, [...(columnsByRel.get(c.relid) ?? []), c]);
  const parentsByRel = new Map<number, { schema: string; name: string }[]>();
  for (const i of inherits) parentsByRel.set(i.relid, [...(parentsByRel.get(i.relid) ?? []), { schema: i.schema, name: i.name }]);

  const tables: Table[] = [];
  const views: View[] = [];
  for (const r of rels) {
    const cols = columnsByRel.get(r.relid) ?? [];
    const ownership = { owner: r.owner, acl: r.acl };
    if (r.kind === 'v' || r.kind === 'm') {
      views.push({
        schema: r.schema, name: r.name, materialized: r.kind === 'm', ...ownership,
        definition: (r.definition ?? '').trim().replace(/;$/, ''),
        columns: cols.map((c): ViewColumn => ({ name: c.name, position: c.position, type: c.type, ...optional('collation', c.collation), ...optional('comment', c.comment) })),
        reloptions: r.reloptions, populated: r.kind === 'm' ? r.populated : true,
        indexes: parts.indexes.get(r.relid) ?? [], triggers: parts.triggers.get(r.relid) ?? [], rules: parts.rules.get(r.relid) ?? [],
        ...optional('comment', r.comment),
      });
      continue;
    }
    const parents = parentsByRel.get(r.relid) ?? [];
    const isPartition = r.partition_bound !== null;
    tables.push({
      schema: r.schema, name: r.name, kind: r.kind === 'p' ? 'partitioned' : r.kind === 'f' ? 'foreign' : 'table', ...ownership,
      persistence: r.persistence === 'u' ? 'unlogged' : 'permanent',
      ...(isPartition && parents[0] ? { partitionOf: parents[0] } : {}),
      ...optional('partitionBound', r.partition_bound), ...optional('partitionKey', r.partition_key),
      inherits: isPartition ? [] : parents,
      columns: cols.map(toColumn),
      constraints: parts.constraints.get(r.relid) ?? [], indexes: parts.indexes.get(r.relid) ?? [],
      triggers: parts.triggers.get(r.relid) ?? [], rules: parts.rules.get(r.relid) ?? [], policies: parts.policies.get(r.relid) ?? [],
      rlsEnabled: r.rls_enabled, rlsForced: r.rls_forced, replicaIdentity: r.replica_identity, reloptions: r.reloptions,
      ...optional('comment', r.comment), estimatedBytes: r.bytes,
    });
  }
  return {
    tables: tables.sort(byName),
    views: views.sort(byName),
    sequences: sequences.map((s): SequenceInfo => ({
      schema: s.schema, name: s.name, owner: s.owner, acl: s.acl, ...sequenceOptions(s),
      persistence: s.persistence === 'u' ? 'unlogged' : 'permanent',
      ...(s.owned_schema !== null && s.owned_table !== null && s.owned_column !== null
        ? { ownedBy: { schema: s.owned_schema, table: s.owned_table, column: s.owned_column } } : {}),
      ...optional('comment', s.comment),
    })).sort(byName),
  };
}
