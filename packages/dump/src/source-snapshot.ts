import { horizonOfRow, horizonQuery, type SourceHorizon } from './incremental/copy-record.js';
import type postgres from 'postgres';
import { inlineParameters, introspect, selectSchemas, type IntrospectOptions, type SchemaModel } from '@mbsync/schema-diff';
import { cancelBackend } from './cancel-backend.js';
import { assertCopiable } from './census.js';
import { exportSessionSettingsSql } from './dump-format.js';
import { DumpError, throwIfAborted } from './errors.js';
import { describePgError } from './pg-errors.js';
import { qualify } from './ddl/quote.js';
import type { PlatformTarget } from './platform.js';
import { quoteLiteral } from './sql-literal.js';

/** What to dump and how. Names, never URLs: `sourceName` goes into the file header. */
export interface DumpSelection {
  schemas?: string[];
  excludeSchemas?: string[];
  /** 'schema.table' */
  excludeTables?: string[];
  /** 'schema.table': structure dumped, rows not */
  excludeTableData?: string[];
  owners?: boolean;
  privileges?: boolean;
  /** copy event triggers (default true; only a superuser can create them in the target) */
  eventTriggers?: boolean;
  /** the target's platform (a local Supabase stack): its schemas' structure left out, its data tables loaded data-only */
  platform?: PlatformTarget;
  /** the database's large objects (default: unless `schemas` limits the dump, pg_dump's rule) */
  largeObjects?: boolean;
}

/** What readSourceSnapshot reads: the selection, and how long to wait for the tables' ACCESS SHARE locks. */
export interface SnapshotOptions extends DumpSelection {
  /** environment name of the source, for messages (never a URL) */
  sourceName: string;
  /** how long to wait for the ACCESS SHARE locks on the dumped tables (default 30 s) */
  lockTimeoutMs?: number;
  /** refuse a source holding objects the copy would lose (default true; backups turn it off, see assertCopiable) */
  census?: boolean;
  signal?: AbortSignal;
}

/** The source as one REPEATABLE READ READ ONLY transaction (the runner's, or writeDump's own) sees it. */
export interface SourceSnapshot {
  model: SchemaModel;
  serverVersion: string;
  serverVersionNum: number;
  startedAt: string;
  /** the change horizon of this snapshot (see ChangeHorizon), read in its first statement; null: not known */
  horizon: SourceHorizon | null;
}

/**
 * Opens the export's view of the source in `tx` (a REPEATABLE READ READ ONLY transaction of `sql`): pg_dump's session
 * settings, ACCESS SHARE locks on the selected tables (first, as pg_dump: nothing can change a table's definition
 * between the lock and the catalog read; a wait for a lock held elsewhere is one cancellable statement), the schema
 * read in the snapshot and checked for objects the copy would lose. While it reads, an abort cancels on the server;
 * afterwards the caller's own statements answer the signal.
 */
export async function readSourceSnapshot(tx: postgres.TransactionSql, sql: postgres.Sql, options: SnapshotOptions): Promise<SourceSnapshot> {
  const startedAt = new Date().toISOString();
  let current: { cancel(): void } | null = null;
  // the transaction's first statement takes its snapshot: the change horizon is read in it (see horizonQuery)
  const [session] = await tx.unsafe<{ version: string; num: string; pid: number; horizon_xid: string; horizon_timeline: string | null }[]>(horizonQuery(
    `pg_catalog.current_setting('server_version') AS version, pg_catalog.current_setting('server_version_num') AS num, pg_catalog.pg_backend_pid() AS pid, `));
  const onAbort = () => {
    current?.cancel();
    void cancelBackend(sql, session!.pid);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(options.signal);
    await tx.unsafe(exportSessionSettingsSql());
    const selection = { schemas: options.schemas, excludeSchemas: options.excludeSchemas, excludeTables: options.excludeTables };
    // the catalog queries' parameters as literals: one round trip each, not two (see inlineParameters)
    const reader = inlineParameters(tx);
    await lockTables(tx, await listTables(reader, selection), options.lockTimeoutMs ?? 30_000, (q) => (current = q));
    current = null;
    throwIfAborted(options.signal);
    const model = await introspect(tx, selection);
    if (options.eventTriggers === false) model.eventTriggers = [];
    if (options.census !== false) await assertCopiable(reader, { ...selection, privileges: options.privileges }, options.sourceName);
    return { model, serverVersion: session!.version, serverVersionNum: Number(session!.num), startedAt, horizon: horizonOfRow(session) };
  } catch (error) {
    if (options.signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled', { cause: error });
    if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') throw error;
    throw describePgError(error, 'source', options.sourceName);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Qualified names of the tables a selection covers (extension members left out; LOCK refuses matviews). */
export async function listTables(tx: postgres.TransactionSql, selection: IntrospectOptions): Promise<string[]> {
  const schemas = await selectSchemas(tx, selection);
  if (schemas.length === 0) return [];
  const excluded = new Set(selection.excludeTables ?? []);
  const rows = await tx.unsafe<{ schema: string; name: string }[]>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname IN (${schemas.map(quoteLiteral).join(', ')})
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`);
  return rows.filter((r) => !excluded.has(`${r.schema}.${r.name}`)).map((r) => qualify(r.schema, r.name));
}

export async function lockTables(tx: postgres.TransactionSql, names: string[], timeoutMs: number, setCurrent: (q: { cancel(): void }) => void): Promise<void> {
  if (names.length === 0) return;
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', ${quoteLiteral(String(timeoutMs))}, true)`);
  // A few statements for all tables; LOCK on a partitioned table also locks its partitions.
  for (let i = 0; i < names.length; i += 1000) {
    // cancellable: waiting for a lock held elsewhere can take up to the timeout
    const query = tx.unsafe(`LOCK TABLE ${names.slice(i, i + 1000).join(', ')} IN ACCESS SHARE MODE`);
    setCurrent(query);
    await query;
  }
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '0', true)`);
}
