import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import { type SchemaModel, type Table } from '@mbsync/schema-diff';
import { qualify, quoteIdent, renderSchema, type RenderedSchema } from '../ddl.js';
import { exportSessionSettingsSql, RESTORE_SETTINGS } from '../dump-format.js';
import { readSequenceValues, type DumpSelection, type TableStats } from '../dump-writer.js';
import { DumpError, isAbortError, throwIfAborted } from '../errors.js';
import type { ImportResult } from '../import.js';
import type { TargetSession } from '../target-session.js';
import type { SourceSnapshot } from '../source-snapshot.js';
import { copyLargeObjects, includesLargeObjects } from '../large-objects.js';
import { describePgError } from '../pg-errors.js';
import { ProgressMeter, type ProgressCallback } from '../progress.js';
import { completeReplace, dropReplacedSchemas, planReplace, type ReplaceReport } from '../replace/replace-plan.js';
import { schemasOfModel } from '../replace/schemas.js';
import { quoteLiteral } from '../sql-literal.js';
import { verifySchemaModel } from '../verify.js';
import { chooseCopyFormats } from './copy-format.js';
import { pipeCopy } from './copy-pipe.js';
import { pipePackedCopy, probePacking, type SourcePacking } from './packed-copy.js';
import { planShadow, type BuildStep, type ShadowPlan, type ShadowTable } from './shadow-plan.js';
import { dropStagingSchemas, poolOpener, STAGE_SCHEMA_PREFIX, type PoolOpener } from './staging-schemas.js';
import { readTargetExtensions } from './target-extensions.js';
import { createDataOnlyPlan, type DataOnlyPlan } from '../data-only.js';
import { splitForPlatform, type PlatformTarget } from '../platform.js';
import { createMissingRoles } from '../roles.js';
import { runLaneTasks, type LaneTask } from './task-scheduler.js';
import { copyCost, countCost, type TableWeight } from './task-costs.js';
import { planLaneRefreshes, type LaneRefresh } from './lane-refresh.js';
import type { TableFingerprint } from '../incremental/copy-record.js';

/** A pino-compatible logger (the job's): the parallel sync says when it falls back and what it could not clean up. */
export interface ParallelSyncLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface ParallelSyncOptions extends DumpSelection {
  /** fingerprint each table a lane loads (its rows and their xmin: see TableFingerprint) for the next sync's change
   * horizon; a server before 14 (no hash_record_extended) gets none */
  fingerprints?: boolean;
  logger?: ParallelSyncLogger;
  /** how the lanes' source and target connections are opened (a runner's; default: like `source` / `target`) */
  openSource?: PoolOpener;
  openTarget?: PoolOpener;
  /** source pool: the lanes open their own connections like it */
  source: postgres.Sql;
  /** target pool: the lanes open their own connections like it */
  target: postgres.Sql;
  /** the runner's source transaction holding the snapshot (readSourceSnapshot ran in it) */
  coordinator: postgres.TransactionSql;
  snapshot: SourceSnapshot;
  /** the runner's locked target session (withTargetSession): validated and backed up; the final transaction */
  session: TargetSession;
  /**
   * Settles when the target may be changed (the runner's backup of it): awaited before the live schemas are touched;
   * its rejection stops the lanes and is the error reported.
   */
  gate?: Promise<unknown>;
  /** environment names, for messages (never URLs) */
  sourceName: string;
  targetName: string;
  /** lanes: each a source and a target connection (default 2) */
  jobs?: number;
  /** maintenance_work_mem of each lane while it builds indexes (default 256MB) */
  maintenanceWorkMem?: string;
  /** binary COPY for tables whose column types all allow it (default true) */
  binary?: boolean;
  /**
   * Which of those go in binary: 'smaller' (default) all but those whose text COPY the source's statistics estimate
   * smaller (chooseCopyFormats; binary where the statistics cannot tell); 'binary' all of them
   */
  copyFormat?: 'smaller' | 'binary';
  /**
   * Tables go packed where the source can pack (probePacking: pgcrypto, PostgreSQL 14+): rows rendered and deflated
   * on the source, for a source across a slow link (default false: on a fast one the source's CPU costs more than the
   * bytes it saves)
   */
  pack?: boolean;
  /** accept that objects outside the replaced schemas which cannot be recreated are dropped (`--yes`) */
  acceptDependentLoss?: boolean;
  /** create the roles the copy names that the target lacks, NOLOGIN (`--create-roles`) */
  createRoles?: boolean;
  /** the target's platform (a local Supabase stack): its schemas left alone, its data tables loaded data-only */
  platform?: PlatformTarget;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface ParallelSyncResult {
  serverVersion: string;
  schema: SchemaModel;
  /** rows and COPY bytes per data table, as read from the source */
  tables: TableStats[];
  import: ImportResult;
  /** tables loaded by the lanes beside the live schemas, and why the others were not (all of them, on fallback) */
  staged: string[];
  notStaged: Record<string, string>;
  /** why the replacement was built in the final transaction instead (one connection), when it was */
  fallback?: string;
  /** materialized views ('schema.name') a lane refreshed beside the live schemas; the others were refreshed after the swap */
  refreshedInLanes: string[];
  /** rows per table counted before COMMIT (by the lanes once each table was loaded, else the final transaction) */
  verified: { tables: number; rows: number };
  /**
   * Where the time went, in ms: the lanes (prep, copies, builds; with the gate, the backup beside them) and the final
   * transaction (the swap: rows and catalog checked, schemas renamed; or, on fallback, the whole build)
   */
  timings: { lanesMs: number; finalMs: number };
  /** per table ('schema.table') loaded by a lane on its own (not through a partition root, not after the swap), when
   * asked for: its fingerprint as the copy leaves it */
  fingerprints: Record<string, TableFingerprint>;
}

/** Carries the gate's rejection (the runner's backup) through the transactions untouched. */
class GateFailure {
  constructor(readonly inner: unknown) {}
}

/** A failure of the parallel build that the one-transaction build may not meet: it falls back instead of failing. */
class BuildFailure {
  constructor(readonly reason: string) {}
}

/** CREATE TABLEs in a row from which the staging schema's statements are shared out over the lanes (#prepare). */
const SHARED_PREP_MIN = 16;

interface Lane {
  index: number;
  src: postgres.TransactionSql;
  dst: postgres.Sql;
  current: { cancel(): void } | null;
}

/**
 * Streaming sync in replace mode over several connections. The source is read from one exported snapshot (the
 * coordinator's, with pg_dump's session settings and ACCESS SHARE locks); the target keeps one main transaction
 * open for the whole run, holding the import lock. The replacement is built beside the live schemas, each replaced
 * schema under a temporary name (`mbsync_stage_*`, see planShadow): types, functions, tables and views first, then
 * the lanes copy tables, largest first, straight from source COPY to target COPY FREEZE and build their indexes,
 * keys and foreign keys, then the rest of post-data. The main transaction then checks the rows, renames the live
 * schemas away and the new ones into their names, drops the old ones, recreates what outside objects depended on
 * them, refreshes materialized views, checks the catalog against the dump's model and commits. The target's own
 * schemas are untouched until that COMMIT; on any failure or cancel they stay as they were and the temporary
 * schemas are dropped (or, if the process dies, by the next import into the target). Should the parallel build
 * fail where the one-transaction import would not (an object whose text the renaming cannot redirect), the main
 * transaction builds everything itself instead, as `--jobs 1` does.
 */
export async function syncParallel(options: ParallelSyncOptions): Promise<ParallelSyncResult> {
  const { signal, coordinator: coord, snapshot } = options;
  throwIfAborted(signal);
  const started = Date.now();
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const suffix = randomBytes(4).toString('hex');
  try {
    const model = snapshot.model;
    const plain = renderSchema(model, {
      owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData, ...(options.platform ? { platform: options.platform } : {}),
    });
    const { sizes, weights } = await tableSizes(coord, plain.dataTables);
    throwIfAborted(controller.signal);
    // binary COPY's row counts come from the servers' own counters, which need track_counts on both sides
    const [counts] = await coord<{ on: boolean }[]>`SELECT pg_catalog.current_setting('track_counts')::bool AS on`;
    const [targetCounts] = await options.session.tx<{ on: boolean }[]>`SELECT pg_catalog.current_setting('track_counts')::bool AS on`;
    const binary = options.binary !== false && counts!.on && targetCounts!.on;
    // the lanes join the coordinator's snapshot (exported before the statistics' savepoint: not from a subtransaction)
    const [exported] = await coord<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
    const textTables = binary && options.copyFormat !== 'binary' ? await smallerInText(coord, model, plain.dataTables) : new Set<string>();
    const packWith = options.pack ? await probePacking(coord) : null;
    throwIfAborted(controller.signal);
    const run = new Run(options, controller, model, plain, sizes, weights, binary, textTables, packWith, suffix);
    if (options.fingerprints) {
      const [version] = await options.session.tx<{ num: number }[]>`SELECT pg_catalog.current_setting('server_version_num')::int AS num`;
      run.fingerprinting = version!.num >= 140000;
    }
    // the lanes commit the temporary schemas; once the main transaction is over (its locks would block the drop),
    // whatever of them is left goes: all of them after a failure or a failed COMMIT, none after a swap
    const result = await run.importInto(coord, exported!.id, (names) => options.session.afterEnd(() => dropStagingSchemas(poolOpener(options.target, options.openTarget), names, options.logger)));
    return {
      serverVersion: snapshot.serverVersion,
      schema: model,
      tables: result.tables,
      import: { ...result.import, durationMs: Date.now() - started },
      staged: result.fallback ? [] : plain.dataTables.map((t) => `${t.schema}.${t.name}`).filter((key) => !result.late.includes(key)),
      notStaged: result.fallback
        ? Object.fromEntries(plain.dataTables.map((t) => [`${t.schema}.${t.name}`, result.fallback!]))
        : Object.fromEntries(result.late.map((key) => [key, 'a column of a reg* type (or of a type holding one): its values name objects, so it is loaded after the swap, in the final transaction'])),
      ...(result.fallback ? { fallback: result.fallback } : {}),
      verified: result.verified,
      refreshedInLanes: result.fallback ? [] : [...run.refreshedInLanes.keys()],
      timings: result.timings,
      fingerprints: result.fallback ? {} : Object.fromEntries([...run.fingerprints].filter(([key]) => !result.late.includes(key))),
    };
  } catch (error) {
    controller.abort();
    if (error instanceof GateFailure) throw error.inner;
    if (signal?.aborted) throw new DumpError('DUMP_CANCELLED', `sync into "${options.targetName}" cancelled; nothing was changed`, { cause: error });
    if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') throw error;
    throw describePgError(error, 'target', options.targetName);
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * pg_table_size (heap and TOAST) of every data table, for progress, and what the lanes' tasks are weighed by
 * (task-costs.ts): that size, the heap alone and the planner's row estimate (reltuples; -1, a table never vacuumed or
 * analyzed: rows of 128 bytes are assumed).
 */
async function tableSizes(tx: postgres.TransactionSql, tables: RenderedSchema['dataTables']): Promise<{ sizes: Map<string, number>; weights: Map<string, TableWeight> }> {
  const sizes = new Map<string, number>();
  const weights = new Map<string, TableWeight>();
  for (let i = 0; i < tables.length; i += 500) {
    const batch = tables.slice(i, i + 500);
    const rows = await tx.unsafe<{ i: number; n: string; heap: string; rows: number }[]>(batch.map((t, j) => `SELECT ${j} AS i, pg_catalog.pg_table_size(c.oid)::text AS n, `
      + `pg_catalog.pg_relation_size(c.oid)::text AS heap, c.reltuples::float8 AS rows FROM pg_catalog.pg_class c WHERE c.oid = ${quoteLiteral(qualify(t.schema, t.name))}::pg_catalog.regclass`).join(' UNION ALL '));
    for (const r of rows) {
      const key = `${batch[r.i]!.schema}.${batch[r.i]!.name}`;
      const bytes = Number(r.n);
      const heapBytes = Number(r.heap);
      sizes.set(key, bytes);
      weights.set(key, { bytes, heapBytes, rows: r.rows >= 0 ? r.rows : heapBytes / 128 });
    }
  }
  return { sizes, weights };
}

/**
 * 'schema.table' of the binary-safe tables whose text COPY is estimated smaller than their binary COPY (from the
 * source's statistics, one query for all tables): they go as text, the rest as the types allow.
 */
async function smallerInText(tx: postgres.TransactionSql, model: SchemaModel, tables: RenderedSchema['dataTables']): Promise<Set<string>> {
  const byKey = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  // rows loaded through a partition root, and a platform's, go as text anyway
  const copied = tables.flatMap((d) => {
    const t = byKey.get(`${d.schema}.${d.name}`);
    if (!t || d.loadVia || d.platform) return [];
    const types = new Map(t.columns.map((c) => [c.name, c.type]));
    return [{ schema: d.schema, name: d.name, columns: d.columns.map((name) => ({ name, type: types.get(name) ?? '' })) }];
  });
  const chosen = await chooseCopyFormats(tx, model, copied);
  return new Set([...chosen].filter(([, c]) => c.format === 'text').map(([key]) => key));
}

/** Rows this transaction inserted into a table: the server's own count (count(*) when track_counts is off). */
export async function insertedRows(tx: postgres.TransactionSql, table: string): Promise<number> {
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

/** SQLSTATE classes of connection trouble, resources and operator intervention: never a reason to fall back. */
const FATAL_STATES = /^(08|53|57|58|XX)/;

/** The statement the lanes or the build ran and the target refused, as a reason to fall back; null for anything else. */
function buildFailure(error: unknown): BuildFailure | null {
  if (error instanceof BuildFailure) return error;
  if (!(error instanceof DumpError)) return null;
  const pgCode = (error.details as { pgCode?: unknown } | undefined)?.pgCode;
  if (error.code === 'DUMP_IMPORT_FAILED' && typeof pgCode === 'string' && !FATAL_STATES.test(pgCode)) return new BuildFailure(error.message);
  if (error.code === 'DUMP_VERIFY_FAILED' && (error.details as { differences?: unknown } | undefined)?.differences) return new BuildFailure(error.message);
  return null;
}

/** One parallel import: the lanes, the progress, and the final transaction. */
class Run {
  readonly meter: ProgressMeter;
  stats = new Map<string, TableStats>();
  readonly #inflight = new Map<string, { bytes: number; rows: number }>();
  readonly schemas: string[];
  #doneBytes = 0;
  #doneRows = 0;
  #builds = { done: 0, total: 0 };
  #statements = 0;
  /** lanes fingerprint the tables they load (ParallelSyncOptions.fingerprints, on a server that can) */
  fingerprinting = false;
  readonly fingerprints = new Map<string, TableFingerprint>();
  /** materialized views a lane refreshed ('schema.name' → the final transaction's REFRESH it spares) */
  readonly refreshedInLanes = new Map<string, string>();
  /** rows a lane counted in each table (or tree loaded through its root) the swap brings in, once it was loaded */
  readonly laneCounts = new Map<string, number>();

  constructor(
    readonly options: ParallelSyncOptions,
    readonly controller: AbortController,
    readonly model: SchemaModel,
    readonly plain: RenderedSchema,
    readonly sizes: Map<string, number>,
    readonly weights: Map<string, TableWeight>,
    readonly binary: boolean,
    readonly textTables: ReadonlySet<string>,
    /** what the source packs with, when tables go packed (ParallelSyncOptions.pack) */
    readonly packWith: SourcePacking | null,
    readonly suffix: string,
  ) {
    const bytesTotal = plain.dataTables.reduce((n, t) => n + (sizes.get(`${t.schema}.${t.name}`) ?? 0), 0);
    this.meter = new ProgressMeter(options.onProgress, { tablesTotal: plain.dataTables.length, bytesTotal });
    const split = options.platform ? splitForPlatform(model, options.platform) : null;
    this.built = split ? split.model : model;
    this.platformTables = split?.dataTables ?? [];
    this.schemas = schemasOfModel(this.built);
  }

  /** What the replace builds: the dump's model without the target platform's schemas. */
  readonly built: SchemaModel;
  /** The platform's tables whose rows are loaded data-only in the final transaction. */
  readonly platformTables: Table[];

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

  /** Forgets the lanes' copies: the one-transaction build loads every table again. */
  #restartProgress(reason: string): void {
    this.stats = new Map();
    this.#inflight.clear();
    this.#doneBytes = 0;
    this.#doneRows = 0;
    this.meter.update({ tablesDone: 0, rowsDone: 0, bytesDone: 0, table: null, message: `building in one transaction: ${reason}` }, true);
  }

  async importInto(coord: postgres.TransactionSql, snapshotId: string, onStages: (names: string[]) => void): Promise<{
    tables: TableStats[]; import: Omit<ImportResult, 'durationMs'>; fallback: string | null; verified: { tables: number; rows: number }; timings: ParallelSyncResult['timings']; late: string[];
  }> {
    const { options } = this;
    const started = performance.now();
    this.coordinator = coord;
    const tx = options.session.tx;
    // the main transaction waits idle while the lanes work
    await tx.unsafe(`SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '0', true), pg_catalog.set_config('statement_timeout', '0', true)`);
    const lanes = await this.#openTargetLanes();
    let plan: ShadowPlan | null = null;
    let fallback: string | null = null;
    try {
      throwIfAborted(this.signal);
      // roles are created in the main transaction, which the lanes cannot see before it commits
      this.createdRoles = options.createRoles ? await createMissingRoles(tx, this.model, { owners: options.owners, privileges: options.privileges }) : [];
      const planned = this.createdRoles.length > 0 ? { fallback: `roles created: ${this.createdRoles.join(', ')}` } : planShadow(this.built, {
        prefix: `${STAGE_SCHEMA_PREFIX}${this.suffix}`, owners: options.owners, privileges: options.privileges,
        excludeTableData: options.excludeTableData, sizes: this.sizes, weights: this.weights, binary: this.binary, textTables: this.textTables, packWith: this.packWith,
        deferForeignKeysTo: new Set(this.platformTables.map((t) => `${t.schema}.${t.name}`)),
        targetExtensions: await readTargetExtensions(tx, this.model.extensions.map((x) => x.name)),
      });
      if ('fallback' in planned) fallback = planned.fallback;
      else {
        plan = planned;
        onStages([...plan.shadows.values()]);
      }
      fallback = await this.#alongside(plan ? (signal) => this.#build(lanes, plan!, snapshotId, signal) : null) ?? fallback;
    } finally {
      await Promise.all(lanes.map((l) => l.end({ timeout: 1 })));
    }
    throwIfAborted(this.signal);
    const lanesDone = performance.now();
    const timings = () => ({ lanesMs: Math.round(lanesDone - started), finalMs: Math.round(performance.now() - lanesDone) });
    if (plan && fallback === null) {
      try {
        const swapped = await this.#swap(tx, plan);
        return { ...swapped, fallback: null, timings: timings(), late: plan.late };
      } catch (error) {
        const failure = buildFailure(error);
        if (!failure) throw error;
        fallback = failure.reason;
      }
    }
    this.#restartProgress(fallback ?? 'no parallel plan');
    options.logger?.warn({ reason: fallback ?? 'no parallel plan' }, 'parallel build not possible: building the replacement in the final transaction, over one connection');
    const built = await this.#inOneTransaction(tx, coord, plan);
    return { ...built, fallback, timings: timings(), late: [] };
  }

  /**
   * Runs the parallel build (when there is one) while the gate (the runner's backup) settles; the first real failure
   * stops the other side and is the one reported. A build failure the one-transaction import may not meet is returned
   * as the reason to fall back, once the gate has settled: nothing live is touched before it.
   */
  async #alongside(build: ((signal: AbortSignal) => Promise<void>) | null): Promise<string | null> {
    let first: { error: unknown; stopped: boolean } | null = null;
    const fail = (error: unknown) => {
      // a side stopped because the other failed reports a cancellation: the failure that stopped it wins
      const stopped = this.controller.signal.aborted && isAbortError(error instanceof GateFailure ? error.inner : error);
      if (!first || (first.stopped && !stopped)) first = { error, stopped };
      this.controller.abort();
    };
    let fallback: string | null = null;
    const alongside = this.options.gate ? this.options.gate.then(() => undefined, (error: unknown) => fail(new GateFailure(error))) : Promise.resolve();
    if (build) {
      await build(this.signal).catch((error: unknown) => {
        const failure = this.signal.aborted ? null : buildFailure(error);
        if (failure) fallback = failure.reason;
        else fail(error);
      });
    }
    await alongside;
    if (first) throw (first as { error: unknown }).error;
    return fallback;
  }

  async #openTargetLanes(): Promise<postgres.Sql[]> {
    const jobs = Math.max(1, Math.floor(this.options.jobs ?? 2));
    const mem = this.options.maintenanceWorkMem ?? '256MB';
    const open = poolOpener(this.options.target, this.options.openTarget);
    const lanes = Array.from({ length: jobs }, (_, i) => open(`mbsync sync lane ${i + 1}`));
    try {
      await Promise.all(lanes.map(async (dst) => {
        for (const s of RESTORE_SETTINGS) await dst.unsafe(s);
        // index builds sort in memory; foreign key checks hash the referenced keys instead of spilling batches.
        // A lane commits once per table and per index or key it builds (3,400 commits for 500 tables), all of them
        // into the staging schemas: none waits for its WAL flush. Nothing is lost by that: the result exists only once
        // the main transaction (its own session, the server's synchronous_commit) commits, and its flush, later in the
        // WAL, flushes every lane's commit before it.
        // The lanes are the parallelism: a statement of theirs gets no parallel workers. An index build's workers
        // each sort their share into temporary files that the lane then merges, and a count's workers pass their
        // rows through shared memory, on cores the other lanes are already using: on a 2-core target with costly
        // system calls a sync used 2.5–10 CPU-s more with them (docs/design.md, "The lanes are the parallelism")
        await dst.unsafe(`SELECT pg_catalog.set_config('maintenance_work_mem', ${quoteLiteral(mem)}, false), pg_catalog.set_config('work_mem', ${quoteLiteral(mem)}, false), `
          + `pg_catalog.set_config('synchronous_commit', 'off', false), `
          + `pg_catalog.set_config('max_parallel_maintenance_workers', '0', false), pg_catalog.set_config('max_parallel_workers_per_gather', '0', false)`);
      }));
    } catch (error) {
      await Promise.all(lanes.map((l) => l.end({ timeout: 1 })));
      throw error;
    }
    return lanes;
  }

  /** Types, functions, tables and views under the temporary names; the lanes' copies and builds; the rest of post-data. */
  async #build(targets: postgres.Sql[], plan: ShadowPlan, snapshotId: string, signal: AbortSignal): Promise<void> {
    this.meter.update({ message: 'creating the schema beside the live one' }, true);
    const first = targets[0]!;
    await this.#prepare(targets, plan, signal);
    const refreshes = await planLaneRefreshes(first, this.built, plan, { owners: this.options.owners });
    await this.#runLanes(targets, snapshotId, plan, refreshes);
    this.meter.update({ message: 'triggers, policies, privileges and sequences' }, true);
    // the platform's sequences are set in the final transaction, with its tables' rows
    const setvals = await readSequenceValues(this.coordinator!, this.plain.sequences.filter((s) => plan.shadows.has(s.schema)), (s) => plan.shadows.get(s) ?? s);
    await first.begin(async (ttx) => {
      for (const statement of [...plan.finishing, ...setvals]) await this.#runOn(ttx, statement.trimEnd(), signal);
    });
  }

  /**
   * Runs the staging schema's statements in order, committed before the lanes load. A long run of CREATE TABLEs that
   * need no other table (ShadowPlan.prepAlone) is shared out over the lanes, each in a transaction of its own: 500
   * tables cost the server ~1.2 ms each, which one session spends while the others wait. What comes before such a run
   * is committed first, what comes after once every lane has committed its part.
   */
  async #prepare(targets: postgres.Sql[], plan: ShadowPlan, signal: AbortSignal): Promise<void> {
    const segments: { statements: string[]; shared: boolean }[] = [];
    for (let i = 0; i < plan.prep.length;) {
      let end = i;
      while (end < plan.prep.length && plan.prepAlone[end]) end++;
      if (end - i >= SHARED_PREP_MIN && targets.length > 1) {
        segments.push({ statements: plan.prep.slice(i, end), shared: true });
        i = end;
        continue;
      }
      const last = segments.at(-1);
      const next = Math.max(end, i + 1);
      if (last && !last.shared) last.statements.push(...plan.prep.slice(i, next));
      else segments.push({ statements: plan.prep.slice(i, next), shared: false });
      i = next;
    }
    for (const segment of segments) {
      const sessions = segment.shared ? targets : [targets[0]!];
      // every session's transaction over (committed or rolled back) before a failure goes on
      const settled = await Promise.allSettled(sessions.map((session, k) => session.begin(async (ttx) => {
        for (let j = k; j < segment.statements.length; j += sessions.length) await this.#runOn(ttx, segment.statements[j]!, signal);
      })));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /** The coordinator's transaction (the snapshot), set while importInto runs. */
  coordinator: postgres.TransactionSql | null = null;
  /** Roles created in the target by this import (createRoles). */
  createdRoles: string[] = [];

  async #runOn(session: postgres.TransactionSql, statement: string, signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await session.unsafe(statement).simple().catch((error: unknown) => {
      throw laneError(error, statement.split('\n')[0]!.slice(0, 100), this.options.targetName);
    });
  }

  /** Opens the source side of every lane in the coordinator's snapshot, then runs every task over the lanes. */
  async #runLanes(targets: postgres.Sql[], snapshotId: string, plan: ShadowPlan, refreshes: LaneRefresh[]): Promise<void> {
    const open = poolOpener(this.options.source, this.options.openSource);
    const sources = targets.map((_, i) => open(`mbsync sync lane ${i + 1}`));
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
        await stx.unsafe(exportSessionSettingsSql());
        // a packed COPY's plan looks costly (a subquery per range): compiling it would cost the source a second or so
        if (this.packWith) await stx`SELECT pg_catalog.set_config('jit', 'off', true)`;
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
      this.#builds.total = plan.tables.reduce((n, t) => n + t.builds.length, 0) + plan.foreignKeys.length;
      await runLaneTasks(lanes, this.#tasks(plan, refreshes), () => this.controller.abort());
      throwIfAborted(this.signal);
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      release();
      await Promise.allSettled(holders);
      await Promise.all(sources.map((s) => s.end({ timeout: 1 })));
    }
  }

  #tasks(plan: ShadowPlan, refreshes: LaneRefresh[]): LaneTask<Lane>[] {
    const tasks: LaneTask<Lane>[] = [];
    const build = (b: BuildStep): LaneTask<Lane> => ({
      id: b.id, after: b.after, locks: b.tables.map((table) => ({ table, exclusive: b.exclusive })), cost: b.cost, run: (lane) => this.#buildOn(lane, b.sql, b.label),
    });
    for (const t of plan.tables) {
      // a copy through a partition root writes into the whole tree: it locks nothing the scheduler tracks
      tasks.push({ id: `copy:${t.key}`, after: [], locks: t.viaRoot ? [] : [{ table: t.key, exclusive: true }], cost: copyCost(t.weight), run: (lane) => this.#copy(lane, t) });
      tasks.push(...t.builds.map(build));
    }
    tasks.push(...plan.foreignKeys.map(build));
    // each table's rows counted once it is loaded (every copy into its tree, for a tree loaded through its root),
    // beside the builds: nothing after the copies changes rows, and the final transaction need not scan them. No
    // scheduler lock: a count's ACCESS SHARE conflicts with nothing a lane runs but the instant promotion of an index
    // to a key, which waits for it
    for (const [key, check] of rowChecks(plan)) {
      tasks.push({ id: `count:${key}`, after: check.copies, locks: [], cost: countCost(check.weight), run: (lane) => this.#countOn(lane, key, check.from) });
    }
    // once every table is loaded (a partitioned one's rows may be in any of its partitions), beside the builds
    const copies = plan.tables.map((t) => `copy:${t.key}`);
    for (const r of refreshes) {
      tasks.push({
        id: `refresh:${r.key}`, after: [...copies, ...r.after.map((m) => `refresh:${m}`)], locks: r.reads.map((table) => ({ table, exclusive: false })),
        cost: r.reads.reduce((n, k) => n + (this.sizes.get(k) ?? 0), 0) / 2, run: (lane) => this.#refreshOn(lane, r),
      });
    }
    return tasks;
  }

  async #copy(lane: Lane, t: ShadowTable): Promise<void> {
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
    const stats: TableStats = { schema: t.schema, name: t.name, rows: 0, bytes: 0, format: t.packed ? 'packed' : t.binary ? 'binary' : 'text' };
    await lane.dst.begin(async (ttx) => {
      for (const statement of t.create) await this.#runOn(ttx, statement.trimEnd(), this.signal);
      if (t.prepare) await ttx.unsafe(t.prepare);
      const onBytes = (bytes: number, rows: number) => this.#onBytes(t.key, bytes, rows);
      const copied = await (t.packed
        ? pipePackedCopy(lane.src, t.packed.copyOut, ttx, t.copyIn, { signal: this.signal, onBytes })
        : pipeCopy(lane.src, t.copyOut, ttx, t.copyIn, { signal: this.signal, countLines: !t.binary, onBytes })
      ).catch((error: unknown) => {
        throw laneError(error, `copying ${t.key}`, this.options.targetName);
      });
      // binary COPY has no lines to count: the source server's count of rows its scan returned
      if (t.binary) copied.rows = await scannedRows(lane.src, real);
      stats.rows = copied.rows;
      stats.bytes = copied.bytes;
      if (t.loadedInto) {
        const inserted = await insertedRows(ttx, t.loadedInto);
        if (inserted !== copied.rows) {
          throw new DumpError('DUMP_VERIFY_FAILED', `${t.key}: the source sent ${copied.rows} rows but "${this.options.targetName}" took ${inserted}; nothing was changed`);
        }
        // every row the table holds was written by this transaction (the table was created empty before the lanes, or
        // truncated here); were it not so, the fingerprint would not match and the next sync would use checksums
        if (this.fingerprinting) {
          const [ours] = await ttx.unsafe<{ h: string }[]>(`SELECT pg_catalog.hash_record_extended(ROW(pg_catalog.pg_current_xact_id()::pg_catalog.xid), 0)::text AS h`);
          this.fingerprints.set(t.key, { n: inserted, f: (BigInt(inserted) * BigInt(ours!.h)).toString() });
        }
      }
    });
    lane.current = null;
    this.#tableDone(t.key, stats);
  }

  /**
   * Refreshes a materialized view under its temporary name (planLaneRefreshes: its result cannot depend on where it
   * runs). Should the server refuse it, the final transaction refreshes it after the swap, as it does the others.
   */
  async #refreshOn(lane: Lane, r: LaneRefresh): Promise<void> {
    throwIfAborted(this.signal);
    this.meter.update({ message: `refreshing ${r.key} beside the live schema` }, true);
    const query = lane.dst.unsafe(r.sql);
    lane.current = query;
    try {
      await query;
      this.refreshedInLanes.set(r.key, r.replaces);
    } catch (error) {
      if (this.signal.aborted) throw error;
      const code = (error as { code?: string }).code;
      if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || FATAL_STATES.test(code)) throw laneError(error, r.sql, this.options.targetName);
      this.options.logger?.warn({ view: r.key, pgCode: code }, 'a lane could not refresh the materialized view: it is refreshed after the swap');
    } finally {
      lane.current = null;
    }
  }

  async #buildOn(lane: Lane, statement: string, label: string): Promise<void> {
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

  /** Counts the rows of a loaded table (or tree) on a lane, for #checkRows. */
  async #countOn(lane: Lane, key: string, from: string): Promise<void> {
    throwIfAborted(this.signal);
    const query = lane.dst.unsafe<{ n: string }[]>(`SELECT count(*)::text AS n FROM ${from}`);
    lane.current = query;
    const [row] = await query.catch((error: unknown) => {
      throw laneError(error, `counting the rows of ${key}`, this.options.targetName);
    });
    lane.current = null;
    this.laneCounts.set(key, Number(row!.n));
  }

  /**
   * Compares the rows of every table the swap brings in with what the source sent (a tree loaded through its root as
   * a whole), before the main transaction touches anything readers can see: as the lanes counted them once loaded
   * (nothing after the copies writes rows), or counted here, in the main transaction, where a lane did not.
   */
  async #checkRows(tx: postgres.TransactionSql, plan: ShadowPlan): Promise<{ tables: number; rows: number }> {
    const checks = [...rowChecks(plan)].map(([key, check]) => ({
      key, from: check.from, rows: check.parts.reduce((n, part) => n + (this.stats.get(part)?.rows ?? 0), 0), found: this.laneCounts.get(key),
    }));
    const uncounted = checks.filter((c) => c.found === undefined);
    for (let i = 0; i < uncounted.length; i += 200) {
      const batch = uncounted.slice(i, i + 200);
      const counted = await tx.unsafe<{ i: number; n: string }[]>(batch.map((c, j) => `SELECT ${j} AS i, count(*)::text AS n FROM ${c.from}`).join(' UNION ALL '));
      for (const row of counted) batch[row.i]!.found = Number(row.n);
    }
    const wrong: string[] = [];
    let total = 0;
    for (const c of checks) {
      total += c.found!;
      if (c.found !== c.rows) wrong.push(`${c.key}: the source has ${c.rows}, found ${c.found}`);
    }
    if (wrong.length > 0) {
      throw new DumpError('DUMP_VERIFY_FAILED', `row counts in "${this.options.targetName}" differ from the source, nothing was committed: ${wrong.slice(0, 5).join('; ')}`, { details: { mismatches: wrong } });
    }
    return { tables: this.plain.dataTables.length - plan.late.length, rows: total };
  }

  /**
   * The final transaction of a parallel build: rows checked, the live schemas renamed away and the new ones into
   * their names, the extensions the target keeps moved along, the old schemas dropped, their dependents recreated,
   * materialized views refreshed on the new data, the catalog checked against the dump's model. All in a savepoint:
   * a catalog that does not match rolls it back and the caller builds in one transaction instead.
   */
  async #swap(tx: postgres.TransactionSql, plan: ShadowPlan): Promise<{ tables: TableStats[]; import: Omit<ImportResult, 'durationMs'>; verified: { tables: number; rows: number } }> {
    const { options } = this;
    this.meter.update({ message: 'checking the rows', table: null }, true);
    const verified = await this.#checkRows(tx, plan);
    this.meter.update({ message: 'swapping the schemas' }, true);
    let dependents!: ReplaceReport;
    await tx.savepoint(async (sp) => {
      for (const s of RESTORE_SETTINGS) await sp.unsafe(s);
      const replacing = await planReplace(sp, this.schemas, this.#replaceOptions(), {
        inside: [...plan.shadows.values()], keepExtensions: plan.relocate.map((r) => r.extension),
      });
      const live = await sp.unsafe<{ name: string }[]>(`SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY 1`, [this.schemas]);
      const old = live.map((s, i) => ({ live: s.name, old: `mbsync_old_${this.suffix}_${i + 1}` }));
      for (const o of old) await this.#runOn(sp, `ALTER SCHEMA ${quoteIdent(o.live)} RENAME TO ${quoteIdent(o.old)}`, this.signal);
      for (const [real, shadow] of plan.shadows) await this.#runOn(sp, `ALTER SCHEMA ${quoteIdent(shadow)} RENAME TO ${quoteIdent(real)}`, this.signal);
      for (const r of plan.relocate) await this.#runOn(sp, `ALTER EXTENSION ${quoteIdent(r.extension)} SET SCHEMA ${quoteIdent(r.schema)}`, this.signal);
      for (const o of old) await this.#runOn(sp, `DROP SCHEMA ${quoteIdent(o.old)} CASCADE`, this.signal);
      // large objects belong to no schema: written here, so that nobody sees them before the COMMIT
      if (includesLargeObjects(options)) {
        this.meter.update({ message: 'large objects' }, true);
        await copyLargeObjects(this.coordinator!, (statement) => this.#runOn(sp, statement, this.signal), { owners: options.owners, privileges: options.privileges, signal: this.signal });
      }
      const late = await this.#loadLate(sp, plan);
      const platform = await this.#loadPlatform(sp);
      for (const statement of plan.deferred) await this.#runOn(sp, statement, this.signal);
      const refreshed = new Set(this.refreshedInLanes.values());
      for (const statement of plan.refresh.filter((s) => !refreshed.has(s))) await this.#runOn(sp, statement, this.signal);
      for (const statement of this.plain.databaseWide) await this.#runOn(sp, statement, this.signal);
      await late?.finish();
      await platform?.finish();
      dependents = await completeReplace(sp, replacing);
      this.meter.update({ message: 'checking the catalog' }, true);
      await verifySchemaModel(sp, this.built, this.schemas, options.targetName, { owners: options.owners, privileges: options.privileges });
    });
    const tables = this.plain.dataTables.map((t) => this.stats.get(`${t.schema}.${t.name}`)!);
    this.meter.update({ message: 'committing', bytesDone: this.meter.state.bytesTotal, tablesDone: tables.length }, true);
    // the late tables' rows were checked as they loaded (copyInto)
    const lateRows = plan.late.reduce((n, key) => n + (this.stats.get(key)?.rows ?? 0), 0);
    return {
      tables, verified: { tables: verified.tables + plan.late.length, rows: verified.rows + lateRows },
      import: this.#result(tables, plan.prep.length + plan.tables.reduce((n, t) => n + t.create.length, 0) + plan.finishing.length, dependents),
    };
  }

  #replaceOptions() {
    return { owners: this.options.owners, privileges: this.options.privileges, acceptDependentLoss: this.options.acceptDependentLoss === true, model: this.built };
  }

  /**
   * The tables whose reg* columns must be loaded once the new schemas have their names (ShadowPlan.late): built empty
   * beside the others, now truncated with their triggers off and the keys on them dropped, loaded from the snapshot;
   * `finish` puts triggers and keys back. (The keys into them were deferred: they are added after the rows.)
   */
  async #loadLate(tx: postgres.TransactionSql, plan: ShadowPlan): Promise<DataOnlyPlan | null> {
    if (plan.late.length === 0) return null;
    this.meter.update({ message: `loading ${plan.late.join(', ')} (values that name objects) after the swap` }, true);
    const late = new Set(plan.late);
    const tables = this.plain.dataTables.filter((d) => late.has(`${d.schema}.${d.name}`));
    const data = await createDataOnlyPlan(tx, tables);
    await data.prepare();
    for (const t of tables) await this.#copyInto(tx, t);
    return data;
  }

  /**
   * The platform's data tables (a local Supabase stack's auth and storage): truncated with their triggers off and the
   * keys touching them dropped, reloaded from the snapshot, their sequences set; `finish` puts triggers and keys back.
   */
  async #loadPlatform(tx: postgres.TransactionSql): Promise<DataOnlyPlan | null> {
    if (this.platformTables.length === 0) return null;
    this.meter.update({ message: "loading the platform's tables" }, true);
    const plan = await createDataOnlyPlan(tx, this.platformTables);
    await plan.prepare();
    for (const t of this.plain.dataTables.filter((d) => d.platform)) await this.#copyInto(tx, t);
    const loaded = new Set(this.platformTables.map((t) => t.schema));
    for (const s of await readSequenceValues(this.coordinator!, this.plain.sequences.filter((q) => loaded.has(q.schema)))) await this.#runOn(tx, s.trimEnd(), this.signal);
    return plan;
  }

  /** Copies one table from the coordinator's snapshot in the main transaction (FREEZE: created or truncated by it). */
  async #copyInto(tx: postgres.TransactionSql, t: RenderedSchema['dataTables'][number]): Promise<void> {
    const key = `${t.schema}.${t.name}`;
    const name = qualify(t.schema, t.name);
    const list = t.columns.length ? ` (${t.columns.map(quoteIdent).join(', ')})` : '';
    this.meter.update({ table: key }, true);
    const copied = await pipeCopy(this.coordinator!, `COPY ${name}${list} TO STDOUT`, tx, `COPY ${name}${list} FROM STDIN WITH (FREEZE)`, {
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

  #result(tables: TableStats[], statements: number, dependents: ReplaceReport): Omit<ImportResult, 'durationMs'> {
    return {
      mode: 'replace', statements: statements + this.#statements, tables: tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows })),
      rows: tables.reduce((n, t) => n + t.rows, 0), bytesRead: tables.reduce((n, t) => n + t.bytes, 0), dependents,
      ...(this.createdRoles.length > 0 ? { createdRoles: this.createdRoles } : {}),
    };
  }

  /**
   * The whole replace in the main transaction over one connection, as `--jobs 1` does it: what the parallel build
   * left is dropped, the replaced schemas are dropped and built again, every table is copied from the coordinator's
   * snapshot, then the dependents, the materialized views and the checks.
   */
  async #inOneTransaction(tx: postgres.TransactionSql, coord: postgres.TransactionSql, plan: ShadowPlan | null): Promise<{ tables: TableStats[]; import: Omit<ImportResult, 'durationMs'>; verified: { tables: number; rows: number } }> {
    this.meter.update({ message: 'replacing the schemas', table: null }, true);
    const run = async (statement: string) => {
      await this.#runOn(tx, statement, this.signal);
      this.#statements++;
    };
    for (const s of RESTORE_SETTINGS) await run(s);
    await tx.unsafe(`SELECT pg_catalog.set_config('maintenance_work_mem', ${quoteLiteral(this.options.maintenanceWorkMem ?? '256MB')}, true)`);
    for (const name of plan?.shadows.values() ?? []) await run(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    const replacing = await planReplace(tx, this.schemas, this.#replaceOptions());
    await dropReplacedSchemas(tx, replacing);
    for (const s of this.plain.preData) await run(s);
    let platform: DataOnlyPlan | null = null;
    if (this.platformTables.length > 0) {
      platform = await createDataOnlyPlan(tx, this.platformTables);
      await platform.prepare();
    }
    for (const t of this.plain.dataTables) await this.#copyInto(tx, t);
    if (includesLargeObjects(this.options)) {
      this.meter.update({ message: 'large objects', table: null }, true);
      await copyLargeObjects(coord, run, { owners: this.options.owners, privileges: this.options.privileges, signal: this.signal });
    }
    for (const s of await readSequenceValues(coord, this.plain.sequences)) await run(s.trimEnd());
    this.meter.update({ message: 'indexes, keys and triggers' }, true);
    for (const s of this.plain.postData) await run(s);
    for (const s of this.plain.refreshMaterializedViews) await run(s);
    for (const s of this.plain.databaseWide) await run(s);
    await platform?.finish();
    const dependents = await completeReplace(tx, replacing);
    await verifySchemaModel(tx, this.built, this.schemas, this.options.targetName, { owners: this.options.owners, privileges: this.options.privileges });
    const tables = this.plain.dataTables.map((t) => this.stats.get(`${t.schema}.${t.name}`)!);
    this.meter.update({ message: 'committing', bytesDone: this.meter.state.bytesTotal, tablesDone: tables.length }, true);
    const rows = tables.reduce((n, t) => n + t.rows, 0);
    return { tables, verified: { tables: tables.length, rows }, import: this.#result(tables, 0, dependents) };
  }
}

/**
 * What the row check counts: per table the swap brings in, what to count (`ONLY` the table; a tree loaded through its
 * root as a whole), the copies it waits for, the copied tables whose rows it sums, and what they weigh (task-costs.ts).
 */
function rowChecks(plan: ShadowPlan): Map<string, { from: string; copies: string[]; parts: string[]; weight: TableWeight }> {
  const checks = new Map<string, { from: string; copies: string[]; parts: string[]; weight: TableWeight }>();
  for (const t of plan.tables) {
    const key = t.viaRoot ?? t.key;
    const [schema, ...rest] = key.split('.');
    const check = checks.get(key) ?? { from: t.viaRoot ? qualify(plan.shadows.get(schema!)!, rest.join('.')) : `ONLY ${qualify(plan.shadows.get(t.schema)!, t.name)}`, copies: [], parts: [], weight: { bytes: 0, heapBytes: 0, rows: 0 } };
    check.copies.push(`copy:${t.key}`);
    check.parts.push(t.key);
    check.weight = { bytes: check.weight.bytes + t.weight.bytes, heapBytes: check.weight.heapBytes + t.weight.heapBytes, rows: check.weight.rows + t.weight.rows };
    checks.set(key, check);
  }
  return checks;
}

/** An error that names what was being done and the server's message. */
function laneError(error: unknown, what: string, target: string): DumpError {
  if (error instanceof DumpError && error.code !== 'DUMP_QUERY_FAILED') return error;
  const described = describePgError(error, 'target', target);
  if (described.code !== 'DUMP_QUERY_FAILED') return described;
  const e = error as { message?: string; code?: string };
  return new DumpError('DUMP_IMPORT_FAILED', `${what}: ${e.message ?? String(error)}; the target was left unchanged`, { cause: error, details: { statement: what, pgCode: e.code } });
}
