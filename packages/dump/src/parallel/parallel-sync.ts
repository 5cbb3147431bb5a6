import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import { introspect, type SchemaModel } from '@mbsync/schema-diff';
import { cancelBackend } from '../cancel-backend.js';
import { qualify, quoteIdent, renderSchema, type RenderedSchema } from '../ddl.js';
import { EXPORT_SESSION_SETTINGS, RESTORE_SETTINGS } from '../dump-format.js';
import { listTables, lockTables, readSequenceValues, type DumpSelection, type TableStats } from '../dump-writer.js';
import { DumpError, isAbortError, throwIfAborted } from '../errors.js';
import type { ImportResult } from '../import.js';
import { acquireTargetLock } from '../target-lock.js';
import { copyLargeObjects, includesLargeObjects } from '../large-objects.js';
import { describePgError } from '../pg-errors.js';
import { ProgressMeter, type ProgressCallback } from '../progress.js';
import { dropSchemasForReplace, schemasOfModel } from '../replace.js';
import { quoteLiteral } from '../sql-literal.js';
import { pipeCopy } from './copy-pipe.js';
import { planStaging, type StagePlan, type StagedTable } from './stage-plan.js';
import { dropStagingSchemas, dropStaleStagingSchemas, openLike, STAGE_SCHEMA_PREFIX } from './staging-schemas.js';
import { runLaneTasks, type LaneTask } from './task-scheduler.js';

export interface ParallelSyncOptions extends DumpSelection {
  /** source pool (one connection: the snapshot's coordinator); lanes open their own connections like it */
  source: postgres.Sql;
  /** target pool (one connection: holds the import lock and runs the final transaction) */
  target: postgres.Sql;
  /** environment names, for messages (never URLs) */
  sourceName: string;
  targetName: string;
  /** lanes: each a source and a target connection (default 2) */
  jobs?: number;
  /** maintenance_work_mem of each lane while it builds indexes (default 256MB) */
  maintenanceWorkMem?: string;
  /** binary COPY for staged tables whose column types all allow it (default true) */
  binary?: boolean;
  lockTimeoutMs?: number;
  /** how long to wait for another import into the same target (default 0: fail at once) */
  lockWaitMs?: number;
  signal?: AbortSignal;
  /** the source's schema model, read inside the snapshot, before the target is touched */
  onSchema?: (model: SchemaModel) => Promise<void> | void;
  /** runs in the main transaction after the target lock is taken and before any write (schema validation) */
  beforeWrite?: (tx: postgres.TransactionSql) => Promise<void>;
  /** runs alongside the lanes after beforeWrite (the backup of the target's old schemas); must succeed */
  alongside?: (signal: AbortSignal) => Promise<void>;
  onProgress?: ProgressCallback;
}

export interface ParallelSyncResult {
  serverVersion: string;
  schema: SchemaModel;
  /** rows and COPY bytes per data table, as read from the source */
  tables: TableStats[];
  import: ImportResult;
  /** tables loaded in the staging schemas, and why the others were not */
  staged: string[];
  notStaged: Record<string, string>;
}

/** Carries an error thrown by a caller's hook through the transactions untouched. */
class HookFailure {
  constructor(readonly inner: unknown) {}
}

interface Lane {
  index: number;
  src: postgres.TransactionSql;
  dst: postgres.Sql;
  current: { cancel(): void } | null;
}

/**
 * Streaming sync in replace mode over several connections. The source is read from one exported snapshot
 * (the coordinator's, with pg_dump's session settings and ACCESS SHARE locks); the target keeps one main
 * transaction open for the whole run, holding the import lock. Lanes copy tables, largest first, straight from
 * source COPY to target COPY into staging schemas (`mbsync_stage_*`, one transaction per table: CREATE TABLE,
 * COPY FREEZE, row check, COMMIT), then build their indexes, keys and foreign keys in parallel. Finally the
 * main transaction drops the replaced schemas, recreates everything from the model as the one-transaction
 * import does but moves each staged table in (ALTER TABLE … SET SCHEMA: indexes and constraints go with it),
 * loads the tables that could not be staged, checks row counts, drops the empty staging schemas and commits.
 * The target's own schemas are untouched until that COMMIT; on any failure or cancel they stay as they were
 * and the staging schemas are dropped (or, if the process dies, by the next import into the target).
 */
export async function syncParallel(options: ParallelSyncOptions): Promise<ParallelSyncResult> {
  const { signal } = options;
  throwIfAborted(signal);
  const started = Date.now();
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const stagePrefix = `${STAGE_SCHEMA_PREFIX}${randomBytes(4).toString('hex')}`;
  let createdStages: string[] = [];
  let sourcePid: number | null = null;
  let coordinatorQuery: { cancel(): void } | null = null;
  const onAbortSource = () => {
    coordinatorQuery?.cancel();
    if (sourcePid !== null) void cancelBackend(options.source, sourcePid);
  };
  controller.signal.addEventListener('abort', onAbortSource, { once: true });
  try {
    return await options.source.begin('isolation level repeatable read read only', async (coord) => {
      await coord.unsafe(`SELECT ${EXPORT_SESSION_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(v)}, true)`).join(', ')}`);
      const [session] = await coord<{ version: string; pid: number }[]>`SELECT current_setting('server_version') AS version, pg_catalog.pg_backend_pid() AS pid`;
      sourcePid = session!.pid;
      const selection = { schemas: options.schemas, excludeSchemas: options.excludeSchemas, excludeTables: options.excludeTables };
      await lockTables(coord, await listTables(coord, selection), options.lockTimeoutMs ?? 30_000, (q) => (coordinatorQuery = q));
      coordinatorQuery = null;
      throwIfAborted(controller.signal);
      const model = await introspect(coord, selection);
      const [snapshot] = await coord<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
      const renderOptions = { owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData };
      const plain = renderSchema(model, renderOptions);
      const sizes = await tableSizes(coord, plain.dataTables);
      const setvals = await readSequenceValues(coord, plain.sequences);
      await options.onSchema?.(model);
      throwIfAborted(controller.signal);
      // binary COPY's row counts come from the servers' own counters, which need track_counts on both sides
      const [counts] = await coord<{ on: boolean }[]>`SELECT pg_catalog.current_setting('track_counts')::bool AS on`;
      const [targetCounts] = await options.target<{ on: boolean }[]>`SELECT pg_catalog.current_setting('track_counts')::bool AS on`;
      const binary = options.binary !== false && counts!.on && targetCounts!.on;
      const plan = planStaging(model, { stagePrefix, excludeTableData: options.excludeTableData, sizes, binary });
      const final = renderSchema(model, { ...renderOptions, staged: plan.rendering });
      const run = new Run(options, controller, plan, final, sizes);
      const result = await run.importInto(coord, snapshot!.id, setvals, schemasOfModel(model), (names) => (createdStages = names));
      return {
        serverVersion: session!.version,
        schema: model,
        tables: result.tables,
        import: { ...result.import, durationMs: Date.now() - started },
        staged: plan.tables.map((t) => t.key),
        notStaged: Object.fromEntries(plan.notStaged),
      };
    });
  } catch (error) {
    controller.abort();
    await dropStagingSchemas(options.target, createdStages);
    if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', `sync into "${options.targetName}" cancelled; nothing was changed`, { cause: error });
    if (error instanceof HookFailure) throw error.inner;
    if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') throw error;
    throw describePgError(error, 'target', options.targetName);
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
    controller.signal.removeEventListener('abort', onAbortSource);
  }
}

/** pg_table_size (heap and TOAST) of every data table: the lanes take the largest first. */
async function tableSizes(tx: postgres.TransactionSql, tables: RenderedSchema['dataTables']): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (let i = 0; i < tables.length; i += 500) {
    const batch = tables.slice(i, i + 500);
    const rows = await tx.unsafe<{ i: number; n: string }[]>(batch.map((t, j) => `SELECT ${j} AS i, pg_catalog.pg_table_size(${quoteLiteral(qualify(t.schema, t.name))}::pg_catalog.regclass)::text AS n`).join(' UNION ALL '));
    for (const r of rows) sizes.set(`${batch[r.i]!.schema}.${batch[r.i]!.name}`, Number(r.n));
  }
  return sizes;
}

/** Rows this transaction inserted into a table: the server's own count (count(*) when track_counts is off). */
async function insertedRows(tx: postgres.TransactionSql, table: string): Promise<number> {
  const [row] = await tx.unsafe<{ n: string; tracked: boolean }[]>(
    `SELECT pg_catalog.pg_stat_get_xact_tuples_inserted(${quoteLiteral(table)}::pg_catalog.regclass)::text AS n, pg_catalog.current_setting('track_counts')::bool AS tracked`,
  );
  if (row?.tracked) return Number(row.n);
  const [counted] = await tx.unsafe<{ n: string }[]>(`SELECT count(*)::text AS n FROM ONLY ${table}`);
  return Number(counted?.n ?? 0);
}

/** Rows this transaction's scans of a table returned (a COPY TO is one scan), by the server's own count. */
async function scannedRows(tx: postgres.TransactionSql, table: string): Promise<number> {
  const [row] = await tx.unsafe<{ n: string }[]>(`SELECT pg_catalog.pg_stat_get_xact_tuples_returned(${quoteLiteral(table)}::pg_catalog.regclass)::text AS n`);
  return Number(row?.n ?? -1);
}

/** One parallel import: the lanes, the progress, and the final transaction. */
class Run {
  readonly meter: ProgressMeter;
  readonly stats = new Map<string, TableStats>();
  readonly #inflight = new Map<string, { bytes: number; rows: number }>();
  #doneBytes = 0;
  #doneRows = 0;
  #builds = { done: 0, total: 0 };
  #statements = 0;

  constructor(
    readonly options: ParallelSyncOptions,
    readonly controller: AbortController,
    readonly plan: StagePlan,
    readonly final: RenderedSchema,
    readonly sizes: Map<string, number>,
  ) {
    const bytesTotal = final.dataTables.reduce((n, t) => n + (sizes.get(`${t.schema}.${t.name}`) ?? 0), 0);
    this.meter = new ProgressMeter(options.onProgress, { tablesTotal: final.dataTables.length, bytesTotal });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Progress of a table being copied (once per chunk): its bytes count up to its estimated size. */
  #onBytes(key: string, bytes: number, rows: number): void {
    const entry = this.#inflight.get(key) ?? { bytes: 0, rows: 0 };
    entry.bytes = Math.min(this.sizes.get(key) ?? 0, entry.bytes + bytes);
    entry.rows = rows;
    this.#inflight.set(key, entry);
    let inflightBytes = 0;
    let inflightRows = 0;
    for (const v of this.#inflight.values()) {
      inflightBytes += v.bytes;
      inflightRows += v.rows;
    }
    // with several lanes, `table` is the one that moved bytes last
    this.meter.update({ table: key, bytesDone: this.#doneBytes + inflightBytes, rowsDone: this.#doneRows + inflightRows });
  }

  #tableDone(key: string, stats: TableStats): void {
    this.#inflight.delete(key);
    this.#doneBytes += this.sizes.get(key) ?? 0;
    this.#doneRows += stats.rows;
    this.stats.set(key, stats);
    const other = this.#inflight.keys().next();
    this.meter.update({ tablesDone: this.stats.size, rowsDone: this.#doneRows, bytesDone: this.#doneBytes, table: other.done ? null : other.value }, true);
  }

  async importInto(
    coord: postgres.TransactionSql,
    snapshotId: string,
    setvals: string[],
    schemas: string[],
    onStages: (names: string[]) => void,
  ): Promise<{ tables: TableStats[]; import: Omit<ImportResult, 'durationMs'> }> {
    const { options } = this;
    let mainPid: number | null = null;
    const onAbort = () => {
      if (mainPid !== null) void cancelBackend(options.target, mainPid);
    };
    this.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await options.target.begin(async (tx) => {
        const [session] = await tx<[{ pid: number }]>`SELECT pg_catalog.pg_backend_pid() AS pid`;
        mainPid = session.pid;
        await acquireTargetLock(tx, options.targetName, options.lockWaitMs ?? 0);
        // the main transaction waits idle while the lanes work
        await tx.unsafe(`SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '0', true), pg_catalog.set_config('statement_timeout', '0', true)`);
        const lanes = await this.#openTargetLanes();
        try {
          // under the lock: any staging schema is a leftover of a killed import
          await dropStaleStagingSchemas(lanes[0]!);
          try {
            await options.beforeWrite?.(tx);
          } catch (error) {
            throw new HookFailure(error);
          }
          throwIfAborted(this.signal);
          const stages = [...this.plan.stageSchemas.values()];
          onStages(stages);
          for (const name of stages) await lanes[0]!.unsafe(`CREATE SCHEMA ${quoteIdent(name)}`);
          // the first failure (a lane's or the backup's) is the one reported; it stops the other side
          let first: { error: unknown; stopped: boolean } | null = null;
          const fail = (error: unknown) => {
            // a side stopped because the other failed reports a cancellation: the failure that stopped it wins
            const stopped = this.controller.signal.aborted && isAbortError(error instanceof HookFailure ? error.inner : error);
            if (!first || (first.stopped && !stopped)) first = { error, stopped };
            this.controller.abort();
          };
          const alongside = options.alongside ? options.alongside(this.signal).catch((error: unknown) => fail(new HookFailure(error))) : Promise.resolve();
          await this.#runLanes(lanes, snapshotId).catch(fail);
          await alongside;
          if (first) throw (first as { error: unknown }).error;
        } finally {
          await Promise.all(lanes.map((l) => l.end({ timeout: 1 })));
        }
        throwIfAborted(this.signal);
        return await this.#finish(tx, coord, setvals, schemas);
      });
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  async #openTargetLanes(): Promise<postgres.Sql[]> {
    const jobs = Math.max(1, Math.floor(this.options.jobs ?? 2));
    const mem = this.options.maintenanceWorkMem ?? '256MB';
    const lanes = Array.from({ length: jobs }, (_, i) => openLike(this.options.target, `mbsync sync lane ${i + 1}`));
    try {
      await Promise.all(lanes.map(async (dst) => {
        for (const s of RESTORE_SETTINGS) await dst.unsafe(s);
        // index builds sort in memory; foreign key checks hash the referenced keys instead of spilling batches
        await dst.unsafe(`SELECT pg_catalog.set_config('maintenance_work_mem', ${quoteLiteral(mem)}, false), pg_catalog.set_config('work_mem', ${quoteLiteral(mem)}, false)`);
      }));
    } catch (error) {
      await Promise.all(lanes.map((l) => l.end({ timeout: 1 })));
      throw error;
    }
    return lanes;
  }

  /** Opens the source side of every lane in the coordinator's snapshot, then runs every task over the lanes. */
  async #runLanes(targets: postgres.Sql[], snapshotId: string): Promise<void> {
    const sources = targets.map((_, i) => openLike(this.options.source, `mbsync sync lane ${i + 1}`));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const opened: Promise<Lane>[] = [];
    const holders: Promise<unknown>[] = [];
    for (const [i, src] of sources.entries()) {
      let ready!: (lane: Lane) => void;
      let failed!: (error: unknown) => void;
      opened.push(new Promise<Lane>((resolve, reject) => ((ready = resolve), (failed = reject))));
      const holder = src.begin('isolation level repeatable read read only', async (stx) => {
        await stx.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotId)}`);
        await stx.unsafe(`SELECT ${EXPORT_SESSION_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(v)}, true)`).join(', ')}`);
        ready({ index: i, src: stx, dst: targets[i]!, current: null });
        await released;
      }).catch((error: unknown) => {
        failed(error);
        throw error;
      });
      holder.catch(() => {});
      holders.push(holder);
    }
    const lanes: Lane[] = [];
    const onAbort = () => {
      for (const l of lanes) l.current?.cancel();
    };
    this.signal.addEventListener('abort', onAbort, { once: true });
    try {
      lanes.push(...(await Promise.all(opened)));
      this.#builds.total = this.plan.tables.reduce((n, t) => n + t.builds.length + t.foreignKeys.length, 0);
      await runLaneTasks(lanes, this.#tasks(), () => this.controller.abort());
      throwIfAborted(this.signal);
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      release();
      await Promise.allSettled(holders);
      await Promise.all(sources.map((s) => s.end({ timeout: 1 })));
    }
  }

  #tasks(): LaneTask<Lane>[] {
    const tasks: LaneTask<Lane>[] = [];
    for (const t of this.plan.tables) {
      const copyId = `copy:${t.key}`;
      tasks.push({ id: copyId, after: [], locks: [{ table: t.key, exclusive: true }], cost: t.bytes, run: (lane) => this.#copy(lane, t) });
      for (const b of t.builds) {
        tasks.push({ id: b.id, after: [copyId, ...b.after], locks: b.tables.map((table) => ({ table, exclusive: b.exclusive })), cost: b.cost, run: (lane) => this.#build(lane, b.sql, b.label) });
      }
    }
    const byKey = new Map(this.plan.tables.map((t) => [t.key, t]));
    for (const t of this.plan.tables) {
      for (const fk of t.foreignKeys) {
        const ref = byKey.get(fk.references)!;
        const after = [`copy:${t.key}`, `copy:${ref.key}`, ...t.builds.map((b) => b.id), ...ref.builds.map((b) => b.id)];
        tasks.push({ id: fk.id, after, locks: fk.tables.map((table) => ({ table, exclusive: true })), cost: fk.cost, run: (lane) => this.#build(lane, fk.sql, fk.label) });
      }
    }
    return tasks;
  }

  async #copy(lane: Lane, t: StagedTable): Promise<void> {
    throwIfAborted(this.signal);
    const real = qualify(t.schema, t.name);
    this.meter.update({ table: t.key }, true);
    try {
      // like pg_dump's workers: never queue behind another session's pending exclusive lock (the coordinator
      // holds ACCESS SHARE already, so such a wait could never end)
      const lock = lane.src.unsafe(`LOCK TABLE ${real} IN ACCESS SHARE MODE NOWAIT`);
      lane.current = lock;
      await lock;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') {
        throw new DumpError('DUMP_LOCK_TIMEOUT', `another session is waiting for a lock on ${t.key} in the source "${this.options.sourceName}"; try again when it has finished`, { cause: error });
      }
      throw error;
    }
    const stats: TableStats = { schema: t.schema, name: t.name, rows: 0, bytes: 0 };
    await lane.dst.begin(async (ttx) => {
      for (const statement of t.create) await ttx.unsafe(statement);
      const copied = await pipeCopy(lane.src, t.copyOut, ttx, t.copyIn, {
        signal: this.signal,
        countLines: !t.binary,
        onBytes: (bytes, rows) => this.#onBytes(t.key, bytes, rows),
      }).catch((error: unknown) => {
        throw laneError(error, `copying ${t.key}`, this.options.targetName);
      });
      // binary COPY has no lines to count: the source server's count of rows its scan returned
      if (t.binary) copied.rows = await scannedRows(lane.src, real);
      stats.rows = copied.rows;
      stats.bytes = copied.bytes;
      const inserted = await insertedRows(ttx, qualify(t.stageSchema, t.name));
      if (inserted !== copied.rows) {
        throw new DumpError('DUMP_VERIFY_FAILED', `${t.key}: the source sent ${copied.rows} rows but "${this.options.targetName}" took ${inserted}; nothing was changed`);
      }
    });
    lane.current = null;
    this.#tableDone(t.key, stats);
  }

  async #build(lane: Lane, statement: string, label: string): Promise<void> {
    throwIfAborted(this.signal);
    this.meter.update({ message: `building indexes and keys (${this.#builds.done}/${this.#builds.total}): ${label}` }, true);
    const query = lane.dst.unsafe(statement);
    lane.current = query;
    await query.catch((error: unknown) => {
      throw laneError(error, statement.split('\n')[0]!.slice(0, 100), this.options.targetName);
    });
    lane.current = null;
    this.#builds.done++;
  }

  /** The final transaction: replace the schemas, move the staged tables in, load the rest, check, commit. */
  async #finish(tx: postgres.TransactionSql, coord: postgres.TransactionSql, setvals: string[], schemas: string[]): Promise<{ tables: TableStats[]; import: Omit<ImportResult, 'durationMs'> }> {
    this.meter.update({ message: 'replacing the schemas', table: null }, true);
    const run = async (statement: string) => {
      throwIfAborted(this.signal);
      await tx.unsafe(statement).simple().catch((error: unknown) => {
        throw laneError(error, statement.split('\n')[0]!.slice(0, 100), this.options.targetName);
      });
      this.#statements++;
    };
    for (const s of RESTORE_SETTINGS) await run(s);
    await tx.unsafe(`SELECT pg_catalog.set_config('maintenance_work_mem', ${quoteLiteral(this.options.maintenanceWorkMem ?? '256MB')}, true)`);
    await dropSchemasForReplace(tx, schemas);
    for (const s of this.final.preData) await run(s);
    const staged = new Set(this.plan.tables.map((t) => t.key));
    for (const t of this.final.dataTables) {
      const key = `${t.schema}.${t.name}`;
      if (staged.has(key)) continue;
      this.meter.update({ message: 'loading the tables that could not be staged' });
      const name = qualify(t.schema, t.name);
      const list = t.columns.length ? ` (${t.columns.map(quoteIdent).join(', ')})` : '';
      this.meter.update({ table: key }, true);
      const copied = await pipeCopy(coord, `COPY ${name}${list} TO STDOUT`, tx, `COPY ${name}${list} FROM STDIN WITH (FREEZE)`, {
        signal: this.signal,
        onBytes: (bytes, rows) => this.#onBytes(key, bytes, rows),
      }).catch((error: unknown) => {
        throw laneError(error, `copying ${key}`, this.options.targetName);
      });
      const inserted = await insertedRows(tx, name);
      if (inserted !== copied.rows) {
        throw new DumpError('DUMP_VERIFY_FAILED', `${key}: the source sent ${copied.rows} rows but "${this.options.targetName}" took ${inserted}; nothing was changed`);
      }
      this.#statements++;
      this.#tableDone(key, { schema: t.schema, name: t.name, rows: copied.rows, bytes: copied.bytes });
    }
    if (includesLargeObjects(this.options)) {
      this.meter.update({ message: 'large objects', table: null }, true);
      await copyLargeObjects(coord, run, { owners: this.options.owners, privileges: this.options.privileges, signal: this.signal });
    }
    for (const s of setvals) await run(s.trimEnd());
    this.meter.update({ message: 'indexes, keys and triggers of the remaining objects' }, true);
    for (const s of this.final.postData) await run(s);
    for (const s of this.final.refreshMaterializedViews) await run(s);
    // every data table was loaded exactly once (staged ones by a lane, the others here)
    const missing = this.final.dataTables.map((t) => `${t.schema}.${t.name}`).filter((k) => !this.stats.has(k));
    if (missing.length > 0) throw new DumpError('DUMP_VERIFY_FAILED', `tables not loaded: ${missing.slice(0, 5).join(', ')}; nothing was changed`);
    // RESTRICT: a staging schema still holding anything means a table was not moved in
    for (const name of this.plan.stageSchemas.values()) await run(`DROP SCHEMA ${quoteIdent(name)}`);
    const tables = this.final.dataTables.map((t) => this.stats.get(`${t.schema}.${t.name}`)!);
    const rows = tables.reduce((n, t) => n + t.rows, 0);
    const bytes = tables.reduce((n, t) => n + t.bytes, 0);
    this.meter.update({ message: 'committing', bytesDone: this.meter.state.bytesTotal, tablesDone: tables.length }, true);
    return {
      tables,
      import: { mode: 'replace', statements: this.#statements, tables: tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows })), rows, bytesRead: bytes },
    };
  }
}

/** An error that names what was being done and the server's message. */
function laneError(error: unknown, what: string, target: string): DumpError {
  if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') return error;
  const described = describePgError(error, 'target', target);
  if (described.code !== 'DUMP_QUERY_FAILED') return described;
  const e = error as { message?: string; code?: string };
  return new DumpError('DUMP_IMPORT_FAILED', `${what}: ${e.message ?? String(error)}; the target was left unchanged`, { cause: error, details: { statement: what, pgCode: e.code } });
}
