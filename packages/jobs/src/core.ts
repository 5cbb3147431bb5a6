// The light entry point (`@mbsync/jobs/core`): environments, config, guard and runners, without the queue
// catalogue (TypeBox, BullMQ types). The CLI uses it so that starting it stays fast.
export { JobsError } from './errors.js';
export type { JobsErrorCode } from './errors.js';
export { DEFAULT_TYPESENSE_RETRY_SECONDS, loadCoreConfig, readStallTimeoutMs } from './config.js';
export { loadSearchSpecs, readSearchSpecs } from './search-specs.js';
export type { SpecsFileReader } from './search-specs.js';
export { ensureTargetDatabase } from './target-database.js';
export type { TargetDatabase } from './target-database.js';
export type { CoreConfig } from './config.js';
export {
  DEFAULT_PROTECTED_PATTERNS,
  PROTECTED_NAMES,
  databaseUrlProblem,
  describeEnvironment,
  describeUrlSafely,
  environmentProblems,
  getEnvironment,
  isDatabaseUrl,
  isProtectedName,
  loadEnvironments,
  normalizeEnvironmentName,
  parseProtectedPatterns,
} from './environments.js';
export type { Environment, Environments } from './environments.js';
export { assertWritableTarget } from './destination-guard.js';
export type { GuardOptions } from './destination-guard.js';
export { parseDatabaseHosts } from './hosts.js';
export type { ParsedHost } from './hosts.js';
export { openDatabase } from './database.js';
export { resolveConnectionSettings, transactionPoolerMessage } from './connection-settings.js';
export type { ConnectionSettings, SslMode, TransactionPoolerReason } from './connection-settings.js';
export { DUMP_SIZE_FACTOR, assertDiskSpace, diskSpace, estimateDumpSize } from './disk-space.js';
export type { DiskSpace, DumpSizeEstimate } from './disk-space.js';
export { pruneDumps } from './dump-retention.js';
export type { DumpRetention } from './dump-retention.js';
export type { DatabaseScope, OpenDatabaseOptions } from './database.js';
export { DEFAULT_STALL_TIMEOUT_SECONDS, watchForStalls } from './watchdog.js';
export type { StallWatchOptions, WatchedRun } from './watchdog.js';
export { phaseEvent, phaseReporter } from './progress.js';
export type { JobProgress, Phase, PhaseProgressCallback } from './progress.js';
export { runExport } from './runners/export.js';
export type { ExportJobInput } from './runners/export.js';
export { runImport } from './runners/import.js';
export type { ImportJobInput, ImportJobResult } from './runners/import.js';
export { takeBackup } from './runners/backup.js';
export type { TakeBackupInput } from './runners/backup.js';
export { runSync } from './runners/sync.js';
export { checkTargetSchema } from './runners/validate.js';
export type { SchemaCheckOptions } from './runners/validate.js';
export type { SyncJobInput, SyncJobResult } from './runners/sync.js';
export { runReindex } from './runners/reindex.js';
export { reindexAfterCommit } from './runners/post-commit.js';
export type { CommitCallback, CommitInfo, ReindexAfterCommitInput, ReindexOutcome } from './runners/post-commit.js';
export type { ReindexJobInput } from './runners/reindex.js';
