import type postgres from 'postgres';
import { qualify, quoteIdent } from './ddl.js';
import { DumpError } from './errors.js';
import { quoteLiteral } from './sql-literal.js';

export interface DataOnlyPlan {
  /** Drops FKs touching the tables, disables their user triggers, truncates them. */
  prepare(): Promise<void>;
  /** Re-enables the triggers and re-adds (and so re-validates) the foreign keys. */
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
    },
  };
}
