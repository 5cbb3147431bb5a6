import { basename, join } from 'node:path';
import { findBackup, timestampedFileName } from '@mbsync/dump';
import { type CoreConfig, type Environment, type Environments, getEnvironment, type ImportJobSummary, JobCatalogueError, type JobOutputs, type JobPayloads, type JobRunInfo, type JobType, parsePayload, type PhaseProgressCallback, phaseReporter, type ReindexJobSummary, requestWording } from '@mbsync/jobs';
import { openDatabase, type DatabaseScope } from './database.js';
import { takeBackup } from './runners/backup.js';
import { runExport } from './runners/export.js';
import { runImport, type ImportJobInput, type ImportJobResult } from './runners/import.js';

type ImportOptions = Omit<ImportJobInput, 'target' | 'file' | 'config' | 'signal' | 'scope' | 'onProgress' | 'onCommitted' | 'logger'>;
import type { CommitCallback, JobLogger, ReindexOutcome } from './runners/post-commit.js';
import { runReindex } from './runners/reindex.js';
import { runSync } from './runners/sync.js';

/** Everything a job needs besides its payload; the worker (or a test) provides it. */
export interface JobRunContext {
  environments: Environments;
  config: CoreConfig;
  /** aborted on cancel or shutdown: the runners stop, roll back and remove partial files */
  signal: AbortSignal;
  /** the stall watchdog's scope: the job's connections are opened in it */
  scope?: DatabaseScope | undefined;
  onProgress: PhaseProgressCallback;
  /** told when a write's import committed (sync, import, restore): the worker records it in the job */
  onCommitted?: CommitCallback;
  /** the job's logger (the worker's pino child with the job id): the runners, dump and search-index log through it */
  logger?: JobLogger | undefined;
}

/** What an adapter returns: the job's output without the run info the worker adds. */
export type JobOutcome<T extends JobType> = Omit<JobOutputs[T], keyof JobRunInfo>;

/** Runs one job type: payload names → resolved environments → runner → JSON output. */
export type JobAdapter<T extends JobType> = (payload: JobPayloads[T], context: JobRunContext) => Promise<JobOutcome<T>>;

function summarizeImport(result: ImportJobResult): ImportJobSummary {
  const r = result.import;
  return { mode: r.mode, tables: r.tables.length, rows: r.rows, bytesRead: r.bytesRead, durationMs: r.durationMs, backupId: result.backup?.id ?? null, verified: result.verify !== null };
}

/** What a write reports besides its figures: the commit, the reindex after it, the warnings an operator needs. */
function writeOutcome(result: Pick<ImportJobResult, 'reindex' | 'createdDatabase'>, target: string) {
  const warnings: string[] = [];
  if (result.createdDatabase) warnings.push(`the database ${result.createdDatabase} of "${target}" did not exist and was created`);
  const reindex = reindexSummary(result.reindex);
  if (reindex && reindex.status !== 'completed') {
    const why = reindex.error ? `${reindex.error.code}: ${requestWording(reindex.error.message)}` : reindex.status;
    warnings.push(`the data of "${target}" was written, but its search index was not rebuilt (${why}); searches still see the previous collections`);
  }
  return { targetWritten: true, reindex, createdDatabase: result.createdDatabase, warnings };
}

function reindexSummary(outcome: ReindexOutcome | null): ReindexJobSummary {
  if (!outcome) return null;
  return {
    status: outcome.status, collections: outcome.collections, documents: outcome.documents, ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.byCollection ? { byCollection: outcome.byCollection } : {}), followUpJobId: null,
  };
}

/** An import or a restore: the payload's options with the job's context (settings, signal, hooks, logger). */
function importJob(target: Environment, file: string, options: ImportOptions, context: JobRunContext): Promise<ImportJobResult> {
  const { config, signal, scope, onProgress, onCommitted, logger } = context;
  return runImport({ ...options, target, file, config, signal, scope, onProgress, onCommitted, logger });
}

/** Schemas of a target that a backup without a schema list covers: every non-system schema. */
async function userSchemas(sql: ReturnType<typeof openDatabase>): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT nspname AS name FROM pg_catalog.pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'
      AND nspname NOT LIKE 'mbsync\_stage\_%' AND nspname <> 'mbsync_meta'
    ORDER BY 1`;
  return rows.map((r) => r.name);
}

/** The adapter of every job type. */
export const jobCatalogue: { readonly [T in JobType]: JobAdapter<T> } = {
  async export(payload, { environments, config, signal, scope, onProgress }) {
    const source = getEnvironment(environments, payload.source);
    const { source: _name, file, ...selection } = payload;
    const out = join(config.dumpDirectory, file ?? timestampedFileName(source.name, '.sql'));
    const result = await runExport({ ...selection, source, out, config, signal, scope, onProgress: phaseReporter(onProgress, ['export'])('export') });
    const m = result.manifest;
    return { type: 'export', file: basename(result.file), tables: m.tables.length, rows: m.rows, fileBytes: m.fileBytes, sha256: m.sha256 };
  },

  async import(payload, context) {
    const target = getEnvironment(context.environments, payload.target);
    const { target: _target, file, ...options } = payload;
    const result = await importJob(target, join(context.config.dumpDirectory, file), options, context);
    return { type: 'import', target: target.name, file, import: summarizeImport(result), ...writeOutcome(result, target.name) };
  },

  async sync(payload, { environments, config, signal, scope, onProgress, onCommitted, logger }) {
    const source = getEnvironment(environments, payload.source);
    const target = getEnvironment(environments, payload.target);
    const { source: _s, target: _t, ...options } = payload;
    const result = await runSync({ ...options, source, target, config, signal, scope, onProgress, onCommitted, logger });
    return {
      type: 'sync',
      source: source.name,
      target: target.name,
      export: result.export,
      import: summarizeImport(result),
      dumpFile: result.dumpFile === null ? null : basename(result.dumpFile),
      incremental: result.incremental,
      ...(result.copyFormat ? { copyFormat: result.copyFormat } : {}),
      ...writeOutcome(result, target.name),
    };
  },

  async backup(payload, { environments, config, signal, scope, onProgress }) {
    const target = getEnvironment(environments, payload.target);
    const sql = openDatabase(target, { role: 'target', applicationName: 'mbsync backup', scope });
    try {
      const schemas = payload.schemas ?? (await userSchemas(sql));
      const info = await takeBackup({ sql, target, schemas, config, signal, onProgress: phaseReporter(onProgress, ['backup'])('backup') });
      return { type: 'backup', target: target.name, backupId: info.id, schemas: info.schemas, tables: info.tables, rows: info.rows, fileBytes: info.fileBytes };
    } finally {
      await sql.end({ timeout: 1 });
    }
  },

  async restore(payload, context) {
    const backup = await findBackup(context.config.backupDirectory, payload.backupId);
    const target = getEnvironment(context.environments, payload.target ?? backup.target);
    const { backupId: _id, target: _target, ...write } = payload;
    const result = await importJob(target, backup.file, { ...write, mode: 'replace', schemas: backup.schemas }, context);
    return { type: 'restore', target: target.name, restoredBackupId: backup.id, import: summarizeImport(result), ...writeOutcome(result, target.name) };
  },

  async reindex(payload, { environments, config, signal, scope, onProgress, logger }) {
    const environment = getEnvironment(environments, payload.environment);
    const result = await runReindex({
      environment,
      collections: payload.collections,
      ...(config.searchSpecs ? { specs: config.searchSpecs } : {}),
      retry: { maxElapsedMs: config.typesenseRetryMs },
      signal,
      scope,
      ...(logger ? { logger } : {}),
      onProgress: phaseReporter(onProgress, ['reindex'])('reindex'),
    });
    return { type: 'reindex', environment: environment.name, collections: result.collections.map((c) => c.name), documents: result.collections.reduce((n, c) => n + c.documents, 0) };
  },
};

/**
 * Validates `data` against the job type's payload schema (JOBS_PAYLOAD_INVALID) and runs the type's adapter.
 * An unknown type fails with JOBS_UNKNOWN_JOB_TYPE.
 */
export async function runCatalogueJob(type: string, data: unknown, context: JobRunContext): Promise<JobOutcome<JobType>> {
  if (!Object.hasOwn(jobCatalogue, type)) throw new JobCatalogueError('JOBS_UNKNOWN_JOB_TYPE', `unknown job type "${type}"`);
  const t = type as JobType;
  const adapter = jobCatalogue[t] as JobAdapter<JobType>;
  return adapter(parsePayload(t, data), context);
}
