import {
  DumpError,
  describePgError,
  dumpReadError,
  importDump,
  withTargetSession,
  manifestPath,
  openDumpFile,
  readDumpEvents,
  readManifest,
  readPlatformTarget,
  scanDumpSchemas,
  schemasOfModel,
  splitForPlatform,
  verifyRowCounts,
  type BackupInfo,
  type ImportMode,
  type ImportResult,
  type RowCountCheck,
} from '@mbsync/dump';
import type postgres from 'postgres';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { assertWritableTarget, type CoreConfig, type Environment, JobsError, type Phase, phaseEvent, type PhaseProgressCallback, phaseReporter } from '@mbsync/jobs';
import { openDatabase, type DatabaseScope } from '../database.js';
import { ensureTargetDatabase } from '../target-database.js';
import { takeBackup } from './backup.js';
import { commitSummary, reindexAfterCommit, reindexSpecs, type CommitCallback, type JobLogger, type ReindexOutcome } from './post-commit.js';
import { assertSpecsFitDump } from './search-check.js';
import { checkTargetSchema, type SchemaCheckOptions } from './validate.js';
import { assertMayCreateRoles, roleChecks } from './roles.js';

export interface ImportJobInput {
  target: Environment;
  /** the job's logger: the reindex after the commit logs through it */
  logger?: JobLogger | undefined;
  file: string;
  mode?: ImportMode;
  /** the target's name typed again, for protected and remote targets */
  confirm?: string;
  /** skip the backup (explicit `--no-backup`) */
  noBackup?: boolean;
  /** schemas to replace; default: those of the dump (for restores: those the backup recorded) */
  schemas?: string[];
  config: CoreConfig;
  /** accept a replace that drops tables or columns holding rows */
  acceptDataLoss?: boolean;
  /** create the roles the dump names that the target lacks (NOLOGIN); never on protected targets */
  createRoles?: boolean;
  /** receives the schema report */
  onReport?: SchemaCheckOptions['onReport'];
  /** skip the last phase, the reindex of the target's Typesense (run when the target has one configured) */
  skipReindex?: boolean;
  /** called once the import committed, before verify and reindex (see CommitInfo) */
  onCommitted?: CommitCallback;
  /** specs to check against the dump's schema before writing when someone else reindexes afterwards (a sync) */
  checkSpecs?: readonly CollectionSpec[];
  signal?: AbortSignal;
  /** the stall watchdog's scope (WatchedRun.scope): the runner's connections are opened in it */
  scope?: DatabaseScope | undefined;
  onProgress?: PhaseProgressCallback;
}

export interface ImportJobResult {
  import: ImportResult;
  backup: BackupInfo | null;
  verify: RowCountCheck | null;
  /** the target's Typesense rebuilt after the commit; null when it has none (or skipReindex) */
  reindex: ReindexOutcome | null;
  /** the loopback target's database did not exist and was created (its name), else null */
  createdDatabase: string | null;
}

/**
 * guard → check the file → (lock, validate, backup) → import in one transaction → verify row counts → reindex.
 * The guard runs before any connection; the backup is taken while the target lock is held. A missing loopback
 * target database is created first. Once the import committed, `onCommitted` is told, and the reindex (when the
 * target has Typesense) can no longer fail the job: its outcome is in the result.
 */
export async function runImport(input: ImportJobInput): Promise<ImportJobResult> {
  assertWritableTarget(input.target, { allowProtected: input.config.allowProtectedTargets, confirm: input.confirm });
  assertMayCreateRoles(input.target, input.createRoles);
  const reindexing = !input.skipReindex && input.target.typesense !== undefined;
  const phases: Phase[] = [...(input.noBackup ? ['validate', 'import', 'verify'] : ['validate', 'backup', 'import', 'verify']) as Phase[], ...(reindexing ? (['reindex'] as Phase[]) : [])];
  const report = phaseReporter(input.onProgress, phases);
  input.onProgress?.(phaseEvent('validate', phases, `checking ${input.file}`));
  // A file without a manifest (pg_dump's, or ours with the manifest lost) is read through once before any
  // connection: its schemas, and whether it is readable and complete, are known before the backup and the import.
  const hasManifest = (await readManifest(input.file)) !== null;
  if (input.mode === 'data-only' && !hasManifest) {
    throw new DumpError('DUMP_MANIFEST_INVALID', `data-only import needs the dump's manifest (${manifestPath(input.file)}): without it the tables to reload are unknown`);
  }
  const scanned = hasManifest ? null : await scanDumpFile(input.file);
  const source = await openDumpFile(input.file);
  // a dump written for a platform target (a local Supabase stack) leaves the platform's schemas alone
  const platform = source.manifest?.platform ?? null;
  const schemas = input.schemas ?? (source.manifest ? schemasOfModel(platform ? splitForPlatform(source.manifest.schema, platform).model : source.manifest.schema) : scanned!);
  const specs = source.manifest ? (input.checkSpecs ?? (reindexing ? await reindexSpecs(input.config) : null)) : null;
  const target = await ensureTargetDatabase(input.target, input.scope);
  if (target.created) input.onProgress?.(phaseEvent('validate', phases, `created the database ${target.database} on ${input.target.name}`));
  const sql = openDatabase(input.target, { role: 'target', applicationName: 'mbsync import', scope: input.scope });
  const backupSql = input.noBackup ? null : openDatabase(input.target, { role: 'target', applicationName: 'mbsync backup', scope: input.scope });
  let backup: BackupInfo | null = null;
  try {
    if (!platform && input.mode !== 'data-only') await refuseForPlatform(sql, input.target.name, schemas);
    // the runner owns the job: the locked target session, the check and the backup in it, then the import through it
    const result = await withTargetSession(sql, { targetName: input.target.name, lockWaitMs: input.config.targetLockWaitMs, signal: input.signal }, async (session) => {
      const { tx } = session;
      // pg_dump files carry no schema model: only our dumps are validated
      if (source.manifest) {
        const carries = source.manifest.carries ?? { owners: false, privileges: false };
        await checkTargetSchema(tx, source.manifest.schema, {
          mode: input.mode ?? 'replace', acceptDataLoss: input.acceptDataLoss ?? false, onReport: input.onReport,
          roles: roleChecks({ ...carries, createRoles: input.createRoles }), platform,
        });
      }
      if (specs && source.manifest) await assertSpecsFitDump(specs, source.manifest.schema, schemas, input.target.name);
      if (backupSql) backup = await takeBackup({ sql: backupSql, target: input.target, schemas, platform, config: input.config, signal: input.signal, onProgress: report('backup') });
      return await importDump({
        sql,
        session,
        targetName: input.target.name,
        source,
        mode: input.mode,
        schemas,
        acceptDependentLoss: input.acceptDataLoss ?? false,
        createRoles: input.createRoles ?? false,
        signal: input.signal,
        onProgress: report('import'),
      });
    });
    // assigned inside the session's callback, which TypeScript cannot see
    const committed = backup as BackupInfo | null;
    await input.onCommitted?.({ target: input.target.name, committedAt: new Date().toISOString(), backupId: committed?.id ?? null, import: commitSummary(result) });
    input.onProgress?.(phaseEvent('verify', phases, 'counting rows'));
    const verify = source.manifest ? await verifyRowCounts(sql, source.manifest.tables, input.target.name) : null;
    const reindex = reindexing ? await reindexAfterCommit({ target: input.target, config: input.config, phases, signal: input.signal, scope: input.scope, onProgress: input.onProgress, logger: input.logger }) : null;
    return { import: result, backup, verify, reindex, createdDatabase: target.created ? target.database : null };
  } finally {
    await sql.end({ timeout: 1 });
    await backupSql?.end({ timeout: 1 });
  }
}

/** The schemas a manifest-less dump creates; refuses (DumpError naming file and line) one that is unreadable or cut short. */
async function scanDumpFile(file: string): Promise<string[]> {
  const scan = await openDumpFile(file);
  let schemas: string[];
  try {
    schemas = await scanDumpSchemas(readDumpEvents(scan));
  } catch (error) {
    throw dumpReadError(error, scan.label);
  }
  scan.assertComplete();
  return schemas;
}

/**
 * A dump that replaces a platform's schemas (auth, storage, …) is refused for a target whose platform owns them (a
 * local Supabase stack): its structure is the platform's. A sync writes the dump for the target instead.
 */
async function refuseForPlatform(sql: postgres.Sql, targetName: string, schemas: string[]): Promise<void> {
  const platform = await readPlatformTarget(sql).catch((error: unknown) => {
    throw describePgError(error, 'target', targetName);
  });
  const owned = platform ? schemas.filter((s) => platform.schemas.includes(s)) : [];
  if (owned.length > 0) {
    throw new JobsError('JOBS_SCHEMA_INCOMPATIBLE', `"${targetName}" is a Supabase-shaped database whose platform owns ${owned.join(', ')}; this dump would replace them. `
      + `Sync straight into it (mbsync sync), which loads the platform's tables' rows only, or export with --exclude-schema ${owned.join(' --exclude-schema ')}`);
  }
}
