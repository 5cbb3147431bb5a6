import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import {
  describePgError,
  importDump,
  openDumpStream,
  readPlatformTarget,
  schemasOfModel,
  splitForPlatform,
  syncParallel,
  timestampedFileName,
  verifyRowCounts,
  writeDump,
  type BackupInfo,
  type DumpSelection,
  type DumpStats,
  type ImportMode,
  type ImportResult,
  type PlatformTarget,
  type RowCountCheck,
} from '@mbsync/dump';
import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { assertWritableTarget, type CommitInfo, type CoreConfig, type Environment, JobsError, parseDatabaseHosts, type Phase, phaseEvent, type PhaseProgressCallback, phaseReporter } from '@mbsync/jobs';
import { openDatabase, type DatabaseScope } from '../database.js';
import { ensureTargetDatabase } from '../target-database.js';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { takeBackup } from './backup.js';
import { checkTargetSchema, type SchemaCheckOptions } from './validate.js';
import { assertMayCreateRoles, roleChecks } from './roles.js';
import { runExport } from './export.js';
import { runImport } from './import.js';
import { commitSummary, reindexAfterCommit, reindexSpecs, type CommitCallback, type ReindexOutcome } from './post-commit.js';
import { assertSpecsFitDump } from './search-check.js';

export interface SyncJobInput extends DumpSelection {
  source: Environment;
  target: Environment;
  mode?: ImportMode;
  confirm?: string;
  noBackup?: boolean;
  /** write the dump to DUMP_DIRECTORY (kept) instead of streaming source to target */
  keepDump?: boolean;
  /**
   * connections per side for a streaming replace (default: config.syncJobs). Above 1, tables are loaded in
   * parallel into staging schemas of the target and moved in by one short final transaction; 1 keeps the
   * whole import in one transaction.
   */
  jobs?: number;
  /** skip the last phase, the reindex of the target's Typesense (run when the target has one configured) */
  skipReindex?: boolean;
  config: CoreConfig;
  /** accept a replace that drops tables or columns holding rows */
  acceptDataLoss?: boolean;
  /** create the roles the copy needs that the target lacks (NOLOGIN, no password, no membership); never on protected targets */
  createRoles?: boolean;
  onReport?: SchemaCheckOptions['onReport'];
  /** called once the import committed, before verify and reindex (see CommitInfo) */
  onCommitted?: CommitCallback;
  signal?: AbortSignal;
  /** the stall watchdog's scope (WatchedRun.scope): the runner's connections are opened in it */
  scope?: DatabaseScope | undefined;
  onProgress?: PhaseProgressCallback;
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
  const copied = await (input.keepDump ? syncThroughFile(input, phases, specs) : parallel ? syncInParallel(input, phases, jobs, specs) : syncStreaming(input, phases, specs));
  const createdDatabase = target.created ? target.database : null;
  if (!reindexing) return { ...copied, reindex: null, createdDatabase };
  // last phase: the target's search index from the data just committed
  const reindex = await reindexAfterCommit({ target: input.target, config: input.config, phases, signal: input.signal, scope: input.scope, onProgress: input.onProgress });
  return { ...copied, reindex, createdDatabase };
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

/** Runs `then` with a short-lived connection to the target. */
async function withTarget<T>(input: SyncJobInput, then: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = openDatabase(input.target, { applicationName: 'mbsync sync', scope: input.scope });
  try {
    return await then(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
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

type CopyResult = Omit<SyncJobResult, 'reindex' | 'createdDatabase'>;
/** The specs whose tables the dump must have (the target has Typesense), or null. */
type Specs = readonly CollectionSpec[] | null;

/**
 * Replace mode over `jobs` connections per side (see syncParallel): validate and lock in the target's main
 * transaction, back the target up while the lanes load staging schemas, then one short final transaction.
 */
async function syncInParallel(input: SyncJobInput, phases: Phase[], jobs: number, specs: Specs): Promise<CopyResult> {
  const report = phaseReporter(input.onProgress, phases);
  const started = Date.now();
  const sourceSql = openDatabase(input.source, { applicationName: 'mbsync sync export', scope: input.scope });
  const targetSql = openDatabase(input.target, { applicationName: 'mbsync sync import', scope: input.scope });
  const backupSql = input.noBackup ? null : openDatabase(input.target, { applicationName: 'mbsync backup', scope: input.scope });
  let model: SchemaModel | null = null;
  let schemas: string[] = [];
  let backup: BackupInfo | null = null;
  // the lanes' progress is the job's once the backup (which runs alongside them) is done
  let importing = false;
  const importProgress = report('import');
  const startImport = () => {
    importing = true;
    input.onProgress?.(phaseEvent('import', phases, `loading into ${input.target.name} over ${jobs} connections`));
  };
  input.onProgress?.(phaseEvent('export', phases, `reading the schema of ${input.source.name}`));
  try {
    const platform = await detectPlatform(targetSql, input.target);
    const result = await syncParallel({
      ...(platform ? { platform } : {}),
      schemas: input.schemas,
      excludeSchemas: input.excludeSchemas,
      excludeTables: input.excludeTables,
      excludeTableData: input.excludeTableData,
      owners: input.owners,
      privileges: input.privileges,
      largeObjects: input.largeObjects,
      source: sourceSql,
      target: targetSql,
      sourceName: input.source.name,
      targetName: input.target.name,
      jobs,
      lockWaitMs: input.config.targetLockWaitMs,
      acceptDependentLoss: input.acceptDataLoss ?? false,
      createRoles: input.createRoles ?? false,
      signal: input.signal,
      onSchema: (schema) => {
        model = schema;
        schemas = replacedSchemas(schema, platform);
        input.onProgress?.(phaseEvent('validate', phases, 'checking the target'));
      },
      beforeWrite: async (tx) => {
        await checkTargetSchema(tx, model!, { mode: 'replace', acceptDataLoss: input.acceptDataLoss ?? false, onReport: input.onReport, roles: roleChecks(input), platform });
        if (specs) await assertSpecsFitDump(specs, model!, schemas, input.target.name);
        if (!backupSql) startImport();
      },
      alongside: backupSql ? async (signal) => {
        backup = await takeBackup({ sql: backupSql, target: input.target, schemas, platform, config: input.config, signal, onProgress: report('backup') });
        startImport();
      } : undefined,
      onProgress: (p) => importing && importProgress?.(p),
    });
    const rows = result.tables.reduce((n, t) => n + t.rows, 0);
    const dataBytes = result.tables.reduce((n, t) => n + t.bytes, 0);
    const exported = { tables: result.tables.length, rows, dataBytes, durationMs: Date.now() - started };
    await committed(input, backup, result.import, exported);
    // rows and catalog were checked in the final transaction, before COMMIT
    input.onProgress?.(phaseEvent('verify', phases, 'rows and catalog checked before COMMIT'));
    const verify: RowCountCheck = result.verified;
    return { export: exported, import: result.import, backup, verify, dumpFile: null };
  } finally {
    await Promise.all([sourceSql.end({ timeout: 1 }), targetSql.end({ timeout: 1 }), backupSql?.end({ timeout: 1 })]);
  }
}

async function syncThroughFile(input: SyncJobInput, phases: Phase[], specs: Specs): Promise<CopyResult> {
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

async function syncStreaming(input: SyncJobInput, phases: Phase[], specs: Specs): Promise<CopyResult> {
  const report = phaseReporter(input.onProgress, phases);
  const started = Date.now();
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  input.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const sourceSql = openDatabase(input.source, { applicationName: 'mbsync sync export', scope: input.scope });
  const targetSql = openDatabase(input.target, { applicationName: 'mbsync sync import', scope: input.scope });
  const backupSql = input.noBackup ? null : openDatabase(input.target, { applicationName: 'mbsync backup', scope: input.scope });
  const pipe = new PassThrough({ highWaterMark: 4 << 20 });
  // the importer reads its errors through iteration; a failure before it starts must not go unhandled
  pipe.on('error', () => {});
  let schemaReady!: (model: SchemaModel) => void;
  let schemaFailed!: (error: unknown) => void;
  const schemaPromise = new Promise<SchemaModel>((resolve, reject) => {
    schemaReady = resolve;
    schemaFailed = reject;
  });
  let importing = false;
  let schemaSeen = false;
  let exportedTables: DumpStats['tables'] | null = null;
  let exportMs = 0;
  // While the import has not started, the export's progress is the sync's; after that it is the import's.
  const exportProgress = report('export');
  const importProgress = report('import');
  input.onProgress?.(phaseEvent('export', phases, `reading the schema of ${input.source.name}`));
  let platform: PlatformTarget | null;
  try {
    platform = input.mode === 'data-only' ? null : await detectPlatform(targetSql, input.target);
  } catch (error) {
    await Promise.all([sourceSql.end({ timeout: 1 }), targetSql.end({ timeout: 1 }), backupSql?.end({ timeout: 1 })]);
    throw error;
  }
  const exporting: Promise<DumpStats> = writeDump(sourceSql, pipe, {
    ...input,
    ...(platform ? { platform } : {}),
    sourceName: input.source.name,
    signal: controller.signal,
    onSchema: (model) => {
      schemaSeen = true;
      schemaReady(model);
    },
    // Phases stay in order: export (reading the source) → validate → backup → import. Once the schema is
    // read, the importer reports: the two run in lockstep through the pipe.
    onProgress: (p) => (schemaSeen ? undefined : exportProgress)?.(p),
  }).then(
    (stats) => {
      exportMs = Date.now() - started;
      exportedTables = stats.tables;
      pipe.end();
      return stats;
    },
    (error: unknown) => {
      schemaFailed(error);
      pipe.destroy(error as Error);
      throw error;
    },
  );
  exporting.catch(() => {});
  const stopExport = (error: unknown) => {
    controller.abort();
    if (!pipe.destroyed) pipe.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  let backup: BackupInfo | null = null;
  try {
    const schema = await schemaPromise;
    const schemas = replacedSchemas(schema, platform);
    // the tables whose rows the export streams (as the exporter renders them): a data-only import reloads these
    const noData = new Set(input.excludeTableData ?? []);
    const dataTables = schema.tables.filter((t) => t.kind === 'table' && !noData.has(`${t.schema}.${t.name}`)).map((t) => ({ schema: t.schema, name: t.name }));
    input.onProgress?.(phaseEvent('validate', phases, 'checking the target'));
    const imported = importDump({
      sql: targetSql,
      targetName: input.target.name,
      source: openDumpStream(pipe, { label: `stream from ${input.source.name}` }),
      mode: input.mode,
      schemas,
      model: schema,
      ...(platform ? { platform } : {}),
      carries: { owners: input.owners === true, privileges: input.privileges === true },
      acceptDependentLoss: input.acceptDataLoss ?? false,
      createRoles: input.createRoles ?? false,
      lockWaitMs: input.config.targetLockWaitMs,
      signal: controller.signal,
      onProgress: (p) => importing && importProgress?.(p),
      tablesTotal: dataTables.length,
      dataTables,
      // the export has written its trailer by the time the importer asks, so its counts are final
      expectedTables: () => exportedTables,
      beforeWrite: async (tx) => {
        await checkTargetSchema(tx, schema, { mode: input.mode ?? 'replace', acceptDataLoss: input.acceptDataLoss ?? false, onReport: input.onReport, roles: roleChecks(input), platform });
        if (specs) await assertSpecsFitDump(specs, schema, schemas, input.target.name);
        if (backupSql) backup = await takeBackup({ sql: backupSql, target: input.target, schemas, platform, config: input.config, signal: controller.signal, onProgress: report('backup') });
        importing = true;
        input.onProgress?.(phaseEvent('import', phases, `loading into ${input.target.name}`));
      },
    });
    // whichever side fails first stops the other: an import that fails before (or while) reading the stream also
    // destroys the pipe, or the export would wait forever for a full pipe to drain
    imported.catch((error: unknown) => stopExport(error));
    const [stats, result] = await Promise.all([exporting, imported]);
    const exported = { tables: stats.tables.length, rows: stats.rows, dataBytes: stats.dataBytes, durationMs: exportMs };
    await committed(input, backup, result, exported);
    input.onProgress?.(phaseEvent('verify', phases, 'counting rows'));
    const verify = await verifyRowCounts(targetSql, stats.tables, input.target.name);
    return { export: exported, import: result, backup, verify, dumpFile: null };
  } catch (error) {
    stopExport(error);
    await exporting.catch(() => {});
    throw error;
  } finally {
    input.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.all([sourceSql.end({ timeout: 1 }), targetSql.end({ timeout: 1 }), backupSql?.end({ timeout: 1 })]);
  }
}
