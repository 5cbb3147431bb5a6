import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import {
  DumpError,
  IncrementalNotPossible,
  describePgError,
  includesLargeObjects,
  readCopyRecord,
  readSourceActivity,
  readSourceIdentity,
  schemaModelHash,
  sourceAddress,
  syncIncremental,
  targetModelDiffers,
  writeCopyRecord,
  type SourceHorizon,
  type SourceSnapshot,
  type CopyRecord,
  type IncrementalSyncResult,
  type SourceIdentity,
  importDump,
  openDumpStream,
  FAR_ROUND_TRIP_MS,
  readPlatformTarget,
  readSourceSnapshot,
  roundTripMs,
  schemasOfModel,
  splitForPlatform,
  settledBegin,
  syncParallel,
  withTargetSession,
  timestampedFileName,
  verifyRowCounts,
  writeDumpFrom,
  type BackupInfo,
  type DumpSelection,
  type DumpStats,
  type ImportResult,
  type PlatformTarget,
  type RowCountCheck,
  type TargetSession,
} from '@mbsync/dump';
import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { assertWritableTarget, type CommitInfo, type CoreConfig, type Environment, type IncrementalSyncSummary, JobsError, type SyncOptions, type SyncCopyFormat, parseDatabaseHosts, type Phase, phaseEvent, type PhaseProgressCallback, phaseReporter } from '@mbsync/jobs';
import { openDatabase, poolsLike, type DatabaseScope } from '../database.js';
import { ensureTargetDatabase } from '../target-database.js';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { JobStop } from './job-stop.js';
import { takeBackup } from './backup.js';
import { checkTargetSchema, type SchemaCheckOptions } from './validate.js';
import { assertMayCreateRoles, roleChecks } from './roles.js';
import { runExport } from './export.js';
import { runImport } from './import.js';
import type { DocumentChangeLimits, DocumentChanges } from '@mbsync/search-index';
import { commitSummary, reindexAfterCommit, reindexSpecs, updateSearchAfterCommit, type CommitCallback, type JobLogger, type ReindexOutcome } from './post-commit.js';
import { assertSpecsFitDump } from './search-check.js';

/**
 * A sync as a runner takes it: the options of the contract's SyncRequest (what to copy, how to write; see
 * SyncOptionFields in @mbsync/jobs for each one's meaning) with the two environments resolved, the settings and the
 * hooks of whoever runs it (the worker's catalogue, the CLI).
 */
export interface SyncJobInput extends SyncOptions {
  source: Environment;
  target: Environment;
  config: CoreConfig;
  /** the job's logger: the parallel build (its fallback, its cleanup) and the reindex log through it */
  logger?: JobLogger | undefined;
  onReport?: SchemaCheckOptions['onReport'];
  /** called once the import committed, before verify and reindex (see CommitInfo) */
  onCommitted?: CommitCallback;
  signal?: AbortSignal;
  /** the stall watchdog's scope (WatchedRun.scope): the runner's connections are opened in it */
  scope?: DatabaseScope | undefined;
  onProgress?: PhaseProgressCallback;
  /** when an incremental sync's search collections are rebuilt rather than updated by id (tests lower them) */
  documentLimits?: Partial<DocumentChangeLimits> | undefined;
}

export interface SyncJobResult {
  export: { tables: number; rows: number; dataBytes: number; durationMs: number };
  import: ImportResult;
  backup: BackupInfo | null;
  verify: RowCountCheck | null;
  dumpFile: string | null;
  /** the target's Typesense rebuilt after the commit (it never fails the sync), null when it has none (or skipReindex) */
  reindex: ReindexOutcome | null;
  /** the loopback target's database did not exist and was created (its name), else null */
  createdDatabase: string | null;
  /** a parallel sync: the lanes' time (copies, builds, the backup beside them) and the final transaction's, in ms */
  timings?: { lanesMs: number; finalMs: number };
  /**
   * a parallel sync: the COPY format the tables were asked in (SYNC_COPY_FORMAT, or what `auto` chose by the source's
   * round trip, then measured in ms; null when the setting named it) and how many tables went packed
   */
  copyFormat?: { chosen: Exclude<SyncCopyFormat, 'auto'>; roundTripMs: number | null; packedTables: number };
  /** whether only what differed was copied (an earlier copy from this source in the target), and what moved */
  incremental: IncrementalSyncSummary;
}

/**
 * export → validate → backup → import → verify → reindex. By default the dump streams from source to target
 * through memory (no disk needed); with keepDump it goes through a file in the dump directory. A missing loopback
 * target database is created first. When the target has Typesense, its collection specs are checked against the
 * dump's schema with the target, before anything is written; after the commit (`onCommitted`), the reindex can
 * no longer fail the sync: its outcome is in the result.
 */
export async function runSync(given: SyncJobInput): Promise<SyncJobResult> {
  // like pg_dump, a copy carries owners and privileges unless told not to (--no-owner, --no-privileges)
  const input: SyncJobInput = { ...given, owners: given.owners ?? true, privileges: given.privileges ?? true };
  assertWritableTarget(input.target, { allowProtected: input.config.allowProtectedTargets, confirm: input.confirm });
  assertMayCreateRoles(input.target, input.createRoles);
  assertDistinct(input.source, input.target);
  const reindexing = !input.skipReindex && input.target.typesense !== undefined;
  const phases: Phase[] = ['export', 'validate', ...(input.noBackup ? [] : (['backup'] as Phase[])), 'import', 'verify', ...(reindexing ? (['reindex'] as Phase[]) : [])];
  const jobs = input.jobs ?? input.config.syncJobs;
  const parallel = !input.keepDump && (input.mode ?? 'replace') === 'replace' && jobs > 1;
  const specs = reindexing ? await reindexSpecs(input.config) : null;
  const target = await ensureTargetDatabase(input.target, input.scope);
  if (target.created) input.onProgress?.(phaseEvent('export', phases, `created the database ${target.database} on ${input.target.name}`));
  const { documentChanges, ...copied } = await copyOf(input, phases, jobs, parallel, specs);
  const createdDatabase = target.created ? target.database : null;
  if (!reindexing) return { ...copied, reindex: null, createdDatabase };
  // last phase: the target's search index from the data just committed, by id where the incremental copy could tell
  // which documents changed, else rebuilt; either way recorded in the target for the next sync
  const after = { target: input.target, config: input.config, phases, signal: input.signal, scope: input.scope, onProgress: input.onProgress, logger: input.logger };
  const reindex = documentChanges ? await updateSearchAfterCommit({ ...after, changes: documentChanges }) : await reindexAfterCommit({ ...after, record: true });
  return { ...copied, reindex, createdDatabase };
}

/**
 * Incremental when the target holds a record of an earlier copy from this source (replace mode, streamed, not
 * `full`) and the schemas still match; else (or when the incremental copy cannot be made or verified: it rolls back
 * first) the full copy, which writes the record for the next sync.
 */
async function copyOf(input: SyncJobInput, phases: Phase[], jobs: number, parallel: boolean, specs: Specs): Promise<CopyResult> {
  const full = async (reason: string): Promise<CopyResult> => {
    const copied = await (input.keepDump ? syncThroughFile(input, phases, specs) : parallel ? syncInParallel(input, phases, jobs, specs) : syncStreaming(input, phases, specs));
    const tables = copied.import.tables.map((t) => `${t.schema}.${t.name}`);
    return { ...copied, incremental: { mode: 'full', reason, tables: { compared: [], skipped: [], patched: [], copied: tables }, bytesFromSource: copied.export.dataBytes } };
  };
  const refusal = (input.mode ?? 'replace') !== 'replace' ? 'data-only mode' : input.keepDump ? 'the dump is kept (keepDump)' : input.full ? 'a full copy was asked for' : null;
  if (refusal) return full(refusal);
  const record = await withTarget(input, (sql) => readCopyRecord(sql)).catch(() => null);
  if (!record) return full('the target holds no record of an earlier copy');
  try {
    return await syncIncrementally(input, phases, specs, record);
  } catch (error) {
    if (!(error instanceof IncrementalNotPossible)) throw error;
    input.logger?.warn({ reason: error.reason }, 'incremental sync not possible: copying everything');
    input.onProgress?.(phaseEvent('export', phases, `copying everything: ${error.reason}`));
    return full(error.reason);
  }
}

/** Reads the source's identity and write counters for the copy record; it is written in the target's transaction before COMMIT. */
async function recordOf(tx: postgres.TransactionSql, input: SyncJobInput, snapshot: SourceSnapshot): Promise<SourceIdentity & { activity: Record<string, string>; horizon: SourceHorizon | null }> {
  const [identity, activity] = await Promise.all([readSourceIdentity(tx, sourceAddress(input.source.databaseUrl)), readSourceActivity(tx)]);
  // read with the snapshot, in its first statement (see horizonQuery)
  return { ...identity, activity, horizon: snapshot.horizon };
}

async function hasLargeObjects(tx: postgres.TransactionSql): Promise<boolean> {
  const [row] = await tx<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata) AS any`;
  return row!.any;
}

/**
 * The incremental copy: the source's snapshot and the target's locked session as the full copy has them, the
 * target validated, its catalog compared with the source's model, then syncIncremental compares, backs up (before
 * the first write), patches and verifies; the record is written in the same transaction.
 */
async function syncIncrementally(input: SyncJobInput, phases: Phase[], specs: Specs, record: CopyRecord): Promise<CopyResult> {
  const report = phaseReporter(input.onProgress, phases);
  const started = Date.now();
  const stop = new JobStop(input.signal);
  const { sourceSql, targetSql, backupSql, endPools } = openSyncPools(input);
  let backup: BackupInfo | null = null;
  // which search documents the patch changes, found in the target's transaction (specs: the target has Typesense)
  const documents = specs
    ? (await import('@mbsync/search-index')).trackDocumentChanges({
      specs, limits: input.documentLimits, onStep: (message) => input.onProgress?.(phaseEvent('import', phases, message)),
    })
    : null;
  input.onProgress?.(phaseEvent('export', phases, `reading the schema of ${input.source.name}`));
  try {
    // a platform (Supabase-shaped) target too, when its catalog, the platform's schemas included, equals the source's
    // model (checked below): its rows are compared and patched like any other's, with triggers off as replica
    const platform = await detectPlatform(targetSql, input.target);
    const result = await inSource(sourceSql, input, stop, async (coord) => {
      const snapshot = await readSourceSnapshot(coord, sourceSql, { ...selectionOf(input), sourceName: input.source.name, signal: stop.signal });
      const identity = await recordOf(coord, input, snapshot);
      if (identity.key !== record.sourceIdentity) throw new IncrementalNotPossible(`the target's copy came from another source (${record.sourceName})`);
      const modelHash = schemaModelHash(snapshot.model);
      if (modelHash !== record.modelHash) throw new IncrementalNotPossible(`the schema of ${input.source.name} changed since the last copy`);
      const largeObjects = includesLargeObjects(input) && (await hasLargeObjects(coord));
      if (largeObjects) throw new IncrementalNotPossible('the source has large objects');
      const model = snapshot.model;
      const schemas = replacedSchemas(model, null);
      input.onProgress?.(phaseEvent('validate', phases, 'checking the target'));
      return await inTarget(targetSql, input, stop.signal, async (session) => {
        await validateTarget(session.tx, model, schemas, input, specs, null);
        const differs = await targetModelDiffers(session.tx, model, input.target.name, { owners: input.owners, privileges: input.privileges });
        if (differs) throw new IncrementalNotPossible(differs);
        if (includesLargeObjects(input) && (await hasLargeObjects(session.tx))) throw new IncrementalNotPossible('the target has large objects');
        let patched: IncrementalSyncResult;
        try {
          patched = await syncIncremental({
            coordinator: coord, snapshot, session, sourceName: input.source.name, targetName: input.target.name, replicaOnly: platform !== null,
            // tables whose write counters on the source have not moved since the record: compared whole first
            quiet: new Set(Object.keys(identity.activity).filter((t) => record.activity[t] !== undefined && record.activity[t] === identity.activity[t])),
            // tables the target holds as the last copy left them: only the source's rows written since are read
            horizon: { previous: record.horizon, source: identity.horizon },
            excludeTableData: input.excludeTableData, owners: input.owners, privileges: input.privileges, lockTimeoutMs: input.lockTimeoutMs,
            signal: stop.signal,
            documents: documents ?? undefined,
            beforeWrite: async () => {
              if (backupSql) backup = await takeBackup({ sql: backupSql, target: input.target, schemas, platform: null, config: input.config, signal: stop.signal, onProgress: report('backup') });
            },
            // phases stay in order: the comparison checks the target (validate → backup → import); the checks before
            // COMMIT are the import's, as the parallel copy's are, and verify is reported once committed
            onStep: (phase, message) => input.onProgress?.(phaseEvent(phase === 'export' ? 'validate' : 'import', phases, message)),
          });
        } catch (error) {
          // a copy that does not verify is rolled back; the full copy (verified its own way) makes it instead
          if (error instanceof DumpError && error.code === 'DUMP_VERIFY_FAILED' && !stop.signal.aborted) throw new IncrementalNotPossible(`the incremental copy did not verify (${error.message})`);
          throw error;
        }
        const rows: Record<string, number> = Object.fromEntries(patched.rows.map((t) => [`${t.schema}.${t.name}`, t.rows]));
        await writeCopyRecord(session.tx, { sourceIdentity: identity.key, sourceName: input.source.name, modelHash, mode: 'incremental', tables: rows, activity: identity.activity, horizon: patched.horizon });
        return patched;
      });
    });
    const rows = result.rows.reduce((n, t) => n + t.rows, 0);
    const durationMs = Date.now() - started;
    const exported = { tables: result.rows.length, rows, dataBytes: result.bytesFromSource, durationMs };
    const imported: ImportResult = { mode: 'replace', statements: result.statements, tables: result.rows, rows, bytesRead: result.bytesFromSource, durationMs };
    await committed(input, backup, imported, exported);
    input.onProgress?.(phaseEvent('verify', phases, 'rows and checksums of every table, and the catalog, checked before COMMIT'));
    const { compared, skipped, patched, copied, tracked } = result.tables;
    return {
      export: exported, import: imported, backup, verify: { tables: result.rows.length, rows }, dumpFile: null,
      incremental: { mode: 'incremental', tables: { compared, skipped, patched, copied, tracked }, bytesFromSource: result.bytesFromSource },
      ...(documents ? { documentChanges: documents.changes() } : {}),
    };
  } catch (error) {
    throw stop.explain(error);
  } finally {
    stop.dispose();
    await endPools();
  }
}

/** Tells `onCommitted` that the import into the target committed, with what the sync knows at that moment. */
async function committed(input: SyncJobInput, backup: BackupInfo | null, result: ImportResult, exported: CommitInfo['export']): Promise<void> {
  await input.onCommitted?.({ target: input.target.name, committedAt: new Date().toISOString(), backupId: backup?.id ?? null, import: commitSummary(result), export: exported, dumpFile: null });
}

/**
 * The target's platform (a local Supabase stack), read before the export starts: the dump is then written for it
 * (the platform's schemas' structure left out, its data tables loaded data-only).
 */
async function detectPlatform(sql: postgres.Sql, target: Environment): Promise<PlatformTarget | null> {
  return readPlatformTarget(sql).catch((error: unknown) => {
    throw describePgError(error, 'target', target.name);
  });
}

/** What the runner copies, as the dump package's selection. */
function selectionOf(input: SyncJobInput): DumpSelection & { lockTimeoutMs?: number | undefined } {
  return {
    schemas: input.schemas, excludeSchemas: input.excludeSchemas, excludeTables: input.excludeTables, excludeTableData: input.excludeTableData,
    owners: input.owners, privileges: input.privileges, eventTriggers: input.eventTriggers, largeObjects: input.largeObjects,
    lockTimeoutMs: input.lockTimeoutMs,
  };
}

/** The schema check of a sync, in the locked target session before any write (and the search specs against the dump). */
async function validateTarget(tx: postgres.TransactionSql, model: SchemaModel, schemas: string[], input: SyncJobInput, specs: Specs, platform: PlatformTarget | null): Promise<void> {
  await checkTargetSchema(tx, model, { mode: input.mode ?? 'replace', acceptDataLoss: input.acceptDataLoss ?? false, onReport: input.onReport, roles: roleChecks(input), platform });
  if (specs) await assertSpecsFitDump(specs, model, schemas, input.target.name);
}

/**
 * The source's snapshot transaction; a failure to open it is named for the source. Should the source's connection
 * close under it, the rest of the job is stopped (with that as the cause) and waited for before the failure is
 * reported.
 */
async function inSource<T>(sql: postgres.Sql, input: SyncJobInput, stop: JobStop, run: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  const named = (error: unknown) => (error instanceof DumpError || error instanceof JobsError || error instanceof IncrementalNotPossible ? error : describePgError(error, 'source', input.source.name));
  return settledBegin(sql, 'isolation level repeatable read read only', run, (error) => stop.stop(named(error))).catch((error: unknown) => {
    // what the work inside named stays named (an import's refusal stops the export: the refusal is the news)
    if (error instanceof DumpError || error instanceof JobsError || error instanceof IncrementalNotPossible) throw error;
    if (stop.signal.aborted) throw new DumpError('DUMP_CANCELLED', `sync from "${input.source.name}" cancelled; nothing was changed`, { cause: error });
    throw named(error);
  });
}

/** The target's locked session (the import lock held); a failure is named for the target. */
async function inTarget<T>(sql: postgres.Sql, input: SyncJobInput, signal: AbortSignal, run: (session: TargetSession) => Promise<T>): Promise<T> {
  return withTargetSession(sql, { targetName: input.target.name, lockWaitMs: input.config.targetLockWaitMs, signal }, run);
}

/** A sync's pools: the source's (the export), the target's (the import) and, unless noBackup, the backup's. */
function openSyncPools(input: SyncJobInput): { sourceSql: postgres.Sql; targetSql: postgres.Sql; backupSql: postgres.Sql | null; endPools(): Promise<void> } {
  const sourceSql = openDatabase(input.source, { role: 'source', applicationName: 'mbsync sync export', scope: input.scope });
  const targetSql = openDatabase(input.target, { role: 'target', applicationName: 'mbsync sync import', scope: input.scope });
  const backupSql = input.noBackup ? null : openDatabase(input.target, { role: 'target', applicationName: 'mbsync backup', scope: input.scope });
  return {
    sourceSql, targetSql, backupSql,
    endPools: async () => {
      await Promise.all([sourceSql.end({ timeout: 1 }), targetSql.end({ timeout: 1 }), backupSql?.end({ timeout: 1 })]);
    },
  };
}

/** Runs `then` with a short-lived connection to the target. */
async function withTarget<T>(input: SyncJobInput, then: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = openDatabase(input.target, { role: 'target', applicationName: 'mbsync sync', scope: input.scope });
  try {
    return await then(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * How the tables cross (SYNC_COPY_FORMAT). By default (`auto`) by how far the source is, measured: a source across a
 * wide-area link (a round trip of FAR_ROUND_TRIP_MS or more) sends its text tables packed, deflated on the source where
 * it has pgcrypto (a third of the bytes for twice the source's CPU: enum-wide 1 GB through 10 ms / 200 Mbit/s, 0.58x
 * pg_dump | psql packed against 0.79x in the smaller format, docs/benchmarks.md); a source on this machine sends
 * binary throughout, where fewer bytes cost nothing and text's formatting and parsing cost CPU (enum-wide 1 GB: 1.9
 * CPU-seconds more for its 140 MB less); any other (a LAN, the same data centre) the smaller format on the wire, per
 * table. The setting, when not `auto`, is taken as it is.
 */
async function copyFormatFor(input: SyncJobInput, coord: postgres.TransactionSql): Promise<{ chosen: Exclude<SyncCopyFormat, 'auto'>; roundTripMs: number | null }> {
  const setting = input.config.syncCopyFormat ?? 'auto';
  if (setting !== 'auto') return { chosen: setting, roundTripMs: null };
  const measured = await roundTripMs(coord);
  const chosen = measured >= FAR_ROUND_TRIP_MS ? 'packed' : input.source.loopback ? 'binary' : 'smaller';
  const roundTrip = Math.round(measured * 10) / 10;
  input.logger?.info({ roundTripMs: roundTrip, copyFormat: chosen }, `the source answers in ${roundTrip} ms: tables go ${chosen}`);
  return { chosen, roundTripMs: roundTrip };
}

/** syncParallel's options for a format: packed is `smaller` with the text tables packed. */
function copyOptions(chosen: Exclude<SyncCopyFormat, 'auto'>): { copyFormat: 'smaller' | 'binary'; pack: boolean } {
  return chosen === 'packed' ? { copyFormat: 'smaller', pack: true } : { copyFormat: chosen, pack: false };
}

/** The schemas a replace of `model` drops and rebuilds: all of them, but a platform's. */
function replacedSchemas(model: SchemaModel, platform: PlatformTarget | null): string[] {
  return schemasOfModel(platform ? splitForPlatform(model, platform).model : model);
}

function assertDistinct(source: Environment, target: Environment): void {
  const key = (env: Environment) => {
    const hosts = parseDatabaseHosts(env.databaseUrl).map((h) => (h.loopback ? 'loopback' : h.host));
    const path = env.databaseUrl.replace(/^[^/]*\/\/[^/?]*/, '').split('?')[0] ?? '';
    const port = /:(\d+)(?:[/?]|$)/.exec(env.databaseUrl.replace(/^[^@]*@/, ''))?.[1] ?? '5432';
    return `${hosts.join(',')}:${port}${decodeURIComponent(path)}`;
  };
  if (source.name === target.name || key(source) === key(target)) {
    throw new JobsError('JOBS_INVALID_INPUT', `source "${source.name}" and target "${target.name}" are the same database`);
  }
}

type CopyResult = Omit<SyncJobResult, 'reindex' | 'createdDatabase'> & {
  /** an incremental copy's changes to the search documents, per spec (see trackDocumentChanges) */
  documentChanges?: DocumentChanges[];
};
/** What a full copy returns: its summary is added by copyOf. */
type FullCopyResult = Omit<CopyResult, 'incremental'>;
/** The specs whose tables the dump must have (the target has Typesense), or null. */
type Specs = readonly CollectionSpec[] | null;

/**
 * Replace mode over `jobs` connections per side (see syncParallel): validate and lock in the target's main
 * transaction, back the target up while the lanes load staging schemas, then one short final transaction.
 */
async function syncInParallel(input: SyncJobInput, phases: Phase[], jobs: number, specs: Specs): Promise<FullCopyResult> {
  const report = phaseReporter(input.onProgress, phases);
  const started = Date.now();
  const { sourceSql, targetSql, backupSql, endPools } = openSyncPools(input);
  let model: SchemaModel | null = null;
  let schemas: string[] = [];
  let backup: BackupInfo | null = null;
  // what the copy format was chosen as, once the source was asked (set in the source's callback)
  const format: { chosen?: Awaited<ReturnType<typeof copyFormatFor>> } = {};
  // the lanes' progress is the job's once the backup (which runs alongside them) is done
  let importing = false;
  const importProgress = report('import');
  const startImport = () => {
    importing = true;
    input.onProgress?.(phaseEvent('import', phases, `loading into ${input.target.name} over ${jobs} connections`));
  };
  input.onProgress?.(phaseEvent('export', phases, `reading the schema of ${input.source.name}`));
  const stop = new JobStop(input.signal);
  try {
    const platform = await detectPlatform(targetSql, input.target);
    // the runner owns the job: the source's snapshot, the target's locked session, the check, the backup beside the
    // lanes; the dump package builds and swaps through them and calls nothing back
    const result = await inSource(sourceSql, input, stop, async (coord) => {
      const snapshot = await readSourceSnapshot(coord, sourceSql, { ...selectionOf(input), sourceName: input.source.name, signal: stop.signal });
      model = snapshot.model;
      schemas = replacedSchemas(model, platform);
      const identity = await recordOf(coord, input, snapshot);
      const chosen = await copyFormatFor(input, coord);
      format.chosen = chosen;
      input.onProgress?.(phaseEvent('validate', phases, 'checking the target'));
      return await inTarget(targetSql, input, stop.signal, async (session) => {
        await validateTarget(session.tx, model!, schemas, input, specs, platform);
        // the backup runs beside the lanes; the swap waits for it (the gate); either failing stops the other
        const gate = backupSql
          ? takeBackup({ sql: backupSql, target: input.target, schemas, platform, config: input.config, signal: stop.signal, onProgress: report('backup') })
            .then((taken) => { backup = taken; startImport(); })
          : undefined;
        if (!gate) startImport();
        gate?.catch((error: unknown) => stop.stop(error));
        try {
          const built = await syncParallel({
            ...(platform ? { platform } : {}),
            fingerprints: identity.horizon !== null,
            ...selectionOf(input),
            source: sourceSql,
            target: targetSql,
            coordinator: coord,
            snapshot,
            session,
            ...(gate ? { gate } : {}),
            sourceName: input.source.name,
            targetName: input.target.name,
            jobs,
            ...copyOptions(chosen.chosen),
            acceptDependentLoss: input.acceptDataLoss ?? false,
            createRoles: input.createRoles ?? false,
            signal: stop.signal,
            openSource: poolsLike(input.source, 'source', input.scope),
            openTarget: poolsLike(input.target, 'target', input.scope),
            ...(input.logger ? { logger: input.logger } : {}),
            onProgress: (p) => importing && importProgress?.(p),
          });
          // what the target now holds, for the next sync to compare with (in the final transaction)
          await writeCopyRecord(session.tx, {
            sourceIdentity: identity.key, sourceName: input.source.name, modelHash: schemaModelHash(snapshot.model), mode: 'full',
            tables: Object.fromEntries(built.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])), activity: identity.activity,
            horizon: identity.horizon ? { source: identity.horizon, target: built.fingerprints } : null,
          });
          return built;
        } catch (error) {
          // the backup's own failure is the one to report: the sync only stopped because of it
          stop.stop(error);
          const backupError = gate ? await gate.then(() => null, (e: unknown) => e) : null;
          throw backupError ?? error;
        }
      });
    });
    const rows = result.tables.reduce((n, t) => n + t.rows, 0);
    const dataBytes = result.tables.reduce((n, t) => n + t.bytes, 0);
    const exported = { tables: result.tables.length, rows, dataBytes, durationMs: Date.now() - started };
    await committed(input, backup, result.import, exported);
    // rows and catalog were checked in the final transaction, before COMMIT
    input.onProgress?.(phaseEvent('verify', phases, 'rows and catalog checked before COMMIT'));
    const verify: RowCountCheck = result.verified;
    input.logger?.info({ timings: result.timings, staged: result.staged.length, fallback: result.fallback, refreshedInLanes: result.refreshedInLanes, packed: result.tables.filter((t) => t.format === 'packed').map((t) => `${t.schema}.${t.name}`) }, 'parallel sync committed');
    const packedTables = result.tables.filter((t) => t.format === 'packed').length;
    return { export: exported, import: result.import, backup, verify, dumpFile: null, timings: result.timings, ...(format.chosen ? { copyFormat: { ...format.chosen, packedTables } } : {}) };
  } catch (error) {
    throw stop.explain(error);
  } finally {
    stop.dispose();
    await endPools();
  }
}

async function syncThroughFile(input: SyncJobInput, phases: Phase[], specs: Specs): Promise<FullCopyResult> {
  const started = Date.now();
  const out = join(input.config.dumpDirectory, timestampedFileName(input.source.name, '.sql'));
  // the dump is written for the target: a platform's schemas left out, its data tables loaded data-only
  const platform = input.mode === 'data-only' ? null : await withTarget(input, (sql) => detectPlatform(sql, input.target));
  const exported = await runExport({ ...input, ...(platform ? { platform } : {}), out, signal: input.signal, onProgress: phaseReporter(input.onProgress, phases)('export') });
  const exportMs = Date.now() - started;
  const imported = await runImport({
    target: input.target,
    file: exported.file,
    mode: input.mode,
    confirm: input.confirm,
    noBackup: input.noBackup,
    config: input.config,
    acceptDataLoss: input.acceptDataLoss,
    createRoles: input.createRoles,
    onReport: input.onReport,
    // the sync reindexes itself, last; the import checks the specs against the dump's schema before writing
    skipReindex: true,
    ...(specs ? { checkSpecs: specs } : {}),
    onCommitted: input.onCommitted
      ? (commit) => input.onCommitted!({ ...commit, export: { tables: exported.manifest.tables.length, rows: exported.manifest.rows, dataBytes: exported.manifest.dataBytes, durationMs: exportMs }, dumpFile: exported.file })
      : undefined,
    signal: input.signal,
    scope: input.scope,
    onProgress: input.onProgress ? (p) => input.onProgress!({ ...p, phases }) : undefined,
  });
  const m = exported.manifest;
  const { reindex: _reindex, createdDatabase: _created, ...copied } = imported;
  return { export: { tables: m.tables.length, rows: m.rows, dataBytes: m.dataBytes, durationMs: exportMs }, ...copied, dumpFile: exported.file };
}

async function syncStreaming(input: SyncJobInput, phases: Phase[], specs: Specs): Promise<FullCopyResult> {
  const report = phaseReporter(input.onProgress, phases);
  const started = Date.now();
  const stop = new JobStop(input.signal);
  const { sourceSql, targetSql, backupSql, endPools } = openSyncPools(input);
  const pipe = new PassThrough({ highWaterMark: 4 << 20 });
  // the importer reads its errors through iteration; a failure before it starts must not go unhandled
  pipe.on('error', () => {});
  // whichever side fails first stops the other: an import that fails before (or while) reading the stream also
  // destroys the pipe, or the export would wait forever for a full pipe to drain
  const stopExport = (error: unknown) => {
    stop.stop(error);
    if (!pipe.destroyed) pipe.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  let importing = false;
  let exportedTables: DumpStats['tables'] | null = null;
  let exportMs = 0;
  // While the import has not started, the export's progress is the sync's; after that it is the import's.
  const exportProgress = report('export');
  const importProgress = report('import');
  input.onProgress?.(phaseEvent('export', phases, `reading the schema of ${input.source.name}`));
  let backup: BackupInfo | null = null;
  try {
    const platform = input.mode === 'data-only' ? null : await detectPlatform(targetSql, input.target);
    const options = { ...input, ...(platform ? { platform } : {}), sourceName: input.source.name, signal: stop.signal, openSource: poolsLike(input.source, 'source', input.scope) };
    return await inSource(sourceSql, input, stop, async (stx) => {
      const snapshot = await readSourceSnapshot(stx, sourceSql, options);
      const identity = await recordOf(stx, input, snapshot);
      const schema = snapshot.model;
      const schemas = replacedSchemas(schema, platform);
      // Phases stay in order: export (reading the source) → validate → backup → import; from here the importer
      // reports: the two run in lockstep through the pipe.
      input.onProgress?.(phaseEvent('validate', phases, 'checking the target'));
      const exporting = writeDumpFrom(sourceSql, stx, snapshot, pipe, { ...options, onProgress: (p) => (importing ? undefined : exportProgress)?.(p) }).then(
        (stats) => {
          exportMs = Date.now() - started;
          exportedTables = stats.tables;
          pipe.end();
          return stats;
        },
        (error: unknown) => {
          stop.stop(error);
          pipe.destroy(error as Error);
          throw error;
        },
      );
      exporting.catch(() => {});
      // the tables whose rows the export streams (as the exporter renders them): a data-only import reloads these
      const noData = new Set(input.excludeTableData ?? []);
      const dataTables = schema.tables.filter((t) => t.kind === 'table' && !noData.has(`${t.schema}.${t.name}`)).map((t) => ({ schema: t.schema, name: t.name }));
      const imported = inTarget(targetSql, input, stop.signal, async (session) => {
        await validateTarget(session.tx, schema, schemas, input, specs, platform);
        if (backupSql) backup = await takeBackup({ sql: backupSql, target: input.target, schemas, platform, config: input.config, signal: stop.signal, onProgress: report('backup') });
        importing = true;
        input.onProgress?.(phaseEvent('import', phases, `loading into ${input.target.name}`));
        const loaded = await importDump({
          sql: targetSql,
          session,
          targetName: input.target.name,
          source: openDumpStream(pipe, { label: `stream from ${input.source.name}` }),
          mode: input.mode,
          schemas,
          model: schema,
          ...(platform ? { platform } : {}),
          carries: { owners: input.owners === true, privileges: input.privileges === true },
          acceptDependentLoss: input.acceptDataLoss ?? false,
          createRoles: input.createRoles ?? false,
          signal: stop.signal,
          onProgress: (p) => importing && importProgress?.(p),
          tablesTotal: dataTables.length,
          dataTables,
          // the export has written its trailer by the time the importer asks, so its counts are final
          expectedTables: () => exportedTables,
        });
        // what the target now holds, for the next sync to compare with (in the importing transaction)
        await writeCopyRecord(session.tx, {
          sourceIdentity: identity.key, sourceName: input.source.name, modelHash: schemaModelHash(schema), mode: 'full',
          tables: Object.fromEntries(loaded.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])), activity: identity.activity, horizon: null,
        });
        return loaded;
      });
      imported.catch((error: unknown) => stopExport(error));
      // the import's error is the one that matters: an export stopped by it only reports the stop
      const [exportedResult, importedResult] = await Promise.allSettled([exporting, imported]);
      if (importedResult.status === 'rejected') throw importedResult.reason;
      if (exportedResult.status === 'rejected') throw exportedResult.reason;
      const stats = exportedResult.value;
      const result = importedResult.value;
      const exported = { tables: stats.tables.length, rows: stats.rows, dataBytes: stats.dataBytes, durationMs: exportMs };
      await committed(input, backup, result, exported);
      input.onProgress?.(phaseEvent('verify', phases, 'counting rows'));
      const verify = await verifyRowCounts(targetSql, stats.tables, input.target.name);
      return { export: exported, import: result, backup, verify, dumpFile: null };
    });
  } catch (error) {
    stopExport(error);
    throw stop.explain(error);
  } finally {
    stop.dispose();
    await endPools();
  }
}
