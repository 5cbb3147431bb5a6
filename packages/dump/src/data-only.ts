import type postgres from 'postgres';
import { qualify, quoteIdent } from './ddl.js';
import { DumpError } from './errors.js';
import { quoteLiteral } from './sql-literal.js';

export interface DataOnlyPlan {
  /** Drops FKs touching the tables, disables their user triggers, truncates them. */
  prepare(): Promise<void>;
  /**
   * Re-enables the triggers, re-adds (and so re-validates) the foreign keys and refreshes the populated
   * materialized views that read the reloaded tables.
   */
  finish(): Promise<void>;
}

/**
 * Data-only import without superuser rights: instead of session_replication_role (superuser only), the
 * foreign keys on or referencing the loaded tables are dropped and re-added in the same transaction, and
 * user triggers are disabled (table owners may), so load order and triggers cannot change the data.
 */
export async function createDataOnlyPlan(tx: postgres.TransactionSql, tables: { schema: string; name: string }[]): Promise<DataOnlyPlan> {
  await tx.unsafe(`SELECT pg_catalog.set_config('search_path', '', true)`);
  const names = tables.map((t) => qualify(t.schema, t.name));
  const wanted = tables.map((t) => `(${quoteLiteral(t.schema)}, ${quoteLiteral(t.name)})`).join(', ');
  const found = tables.length === 0 ? [] : await tx.unsafe<{ name: string }[]>(`
    SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname, c.relname) IN (VALUES ${wanted}) AND c.relkind IN ('r', 'p')`);
  const present = new Set(found.map((r) => r.name));
  const missing = tables.filter((t) => !present.has(`${t.schema}.${t.name}`)).map((t) => `${t.schema}.${t.name}`);
  if (missing.length > 0) {
    throw new DumpError('DUMP_IMPORT_FAILED', `data-only import: the target lacks table${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, { details: { missing } });
  }
  const oids = names.length ? `ARRAY[${names.map((n) => `${quoteLiteral(n)}::regclass`).join(', ')}]` : `ARRAY[]::regclass[]`;
  const fks = await tx.unsafe<{ tbl: string; name: string; def: string }[]>(`
    SELECT c.conrelid::regclass::text AS tbl, c.conname AS name, pg_catalog.pg_get_constraintdef(c.oid) AS def
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.conparentid = 0 AND (c.conrelid = ANY(${oids}) OR c.confrelid = ANY(${oids}))
    ORDER BY 1, 2`);
  const stale = await staleMaterializedViews(tx, oids);
  const triggers = await tx.unsafe<{ tbl: string; name: string; enabled: 'O' | 'R' | 'A' }[]>(`
    SELECT t.tgrelid::regclass::text AS tbl, t.tgname AS name, t.tgenabled AS enabled FROM pg_catalog.pg_trigger t
    WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgrelid = ANY(${oids}) ORDER BY 1, 2`);
  return {
    async prepare() {
      for (const fk of fks) await tx.unsafe(`ALTER TABLE ${fk.tbl} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
      for (const t of triggers) await tx.unsafe(`ALTER TABLE ${t.tbl} DISABLE TRIGGER ${quoteIdent(t.name)}`);
      if (names.length) await tx.unsafe(`TRUNCATE ONLY ${names.join(', ')}`);
    },
    async finish() {
      const how = { O: 'ENABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as const;
      for (const t of triggers) await tx.unsafe(`ALTER TABLE ${t.tbl} ${how[t.enabled]} TRIGGER ${quoteIdent(t.name)}`);
      for (const fk of fks) await tx.unsafe(`ALTER TABLE ${fk.tbl} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
      // their rows were computed from the old data (a replace recreates them; here they are kept)
      for (const name of stale) await tx.unsafe(`REFRESH MATERIALIZED VIEW ${name}`);
    },
  };
}

/**
 * The populated materialized views that read (through any chain of views) one of `oids` or a parent of one (a
 * partitioned or inheritance parent scans its children), qualified, in an order that refreshes each after
 * those it reads. Unpopulated ones (WITH NO DATA) stay so.
 */
async function staleMaterializedViews(tx: postgres.TransactionSql, oids: string): Promise<string[]> {
  // a view's reads are its _RETURN rule's dependencies on relations
  const rows = await tx.unsafe<{ oid: string; name: string; matview: boolean; reads: string }[]>(`
    WITH RECURSIVE loaded(oid) AS (
      SELECT unnest(${oids})::pg_catalog.oid
      UNION
      SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN loaded l ON i.inhrelid = l.oid
    ), reads(v, r) AS (
      SELECT DISTINCT rw.ev_class, d.refobjid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
      WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
        AND rw.ev_class <> d.refobjid
    ), stale(oid) AS (
      SELECT v FROM reads WHERE r IN (SELECT oid FROM loaded)
      UNION
      SELECT reads.v FROM reads JOIN stale ON reads.r = stale.oid
    )
    SELECT c.oid::text AS oid, c.oid::pg_catalog.regclass::text AS name, c.relkind = 'm' AND c.relispopulated AS matview,
      pg_catalog.array_to_string(ARRAY(SELECT r::text FROM reads WHERE reads.v = c.oid AND reads.r IN (SELECT oid FROM stale)), ' ') AS reads
    FROM pg_catalog.pg_class c WHERE c.oid IN (SELECT oid FROM stale) ORDER BY 2`);
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (oid: string) => {
    if (done.has(oid)) return;
    done.add(oid);
    const row = byOid.get(oid)!;
    for (const r of row.reads.split(' ')) if (r) visit(r);
    if (row.matview) order.push(row.name);
  };
  for (const row of rows) visit(row.oid);
  return order;
}
