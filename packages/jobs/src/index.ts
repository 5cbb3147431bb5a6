export { JobsError } from './errors.js';
export type { JobsErrorCode } from './errors.js';
export { loadCoreConfig } from './config.js';
export type { CoreConfig } from './config.js';
export {
  PROTECTED_NAMES,
  describeEnvironment,
  describeUrlSafely,
  getEnvironment,
  isDatabaseUrl,
  loadEnvironments,
  normalizeEnvironmentName,
} from './environments.js';
export type { Environment, Environments } from './environments.js';
export { assertWritableTarget } from './destination-guard.js';
export type { GuardOptions } from './destination-guard.js';
export { parseDatabaseHosts } from './hosts.js';
export type { ParsedHost } from './hosts.js';
export { openDatabase } from './database.js';
export type { OpenDatabaseOptions } from './database.js';
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
export { JOB_QUEUE, JOB_TYPES, isJobType } from './catalogue/job-types.js';
export type { JobType } from './catalogue/job-types.js';
export {
  BackupPayload,
  ExportPayload,
  ImportPayload,
  JobPayloadSchemas,
  ReindexPayload,
  RestorePayload,
  SyncPayload,
  parsePayload,
} from './catalogue/job-payloads.js';
export type { JobPayloads } from './catalogue/job-payloads.js';
export { JobProgressSchema } from './catalogue/job-progress.js';
export type { JobProgressUpdate } from './catalogue/job-progress.js';
export {
  BackupJobOutputSchema,
  ExportJobOutputSchema,
  ImportJobOutputSchema,
  JobOutputSchemas,
  ReindexJobOutputSchema,
  RestoreJobOutputSchema,
  SyncJobOutputSchema,
} from './catalogue/job-outputs.js';
export type {
  BackupJobOutput,
  ExportJobOutput,
  ImportJobOutput,
  ImportJobSummary,
  JobOutputs,
  JobRunInfo,
  ReindexJobOutput,
  RestoreJobOutput,
  SyncJobOutput,
} from './catalogue/job-outputs.js';
export { CANCELLED_CODE, JobCatalogueError, classifyError, formatFailedReason, jobStatus, parseFailedReason, redactSecrets } from './catalogue/job-failure.js';
export type { ClassifiedError, FailureAction, JobFailureCode, JobStatus } from './catalogue/job-failure.js';
export { CANCEL_KEY_TTL_SECONDS, cancelChannel, cancelKey, requestCancel } from './catalogue/job-cancel.js';
export type { CancelMessage, CancelOutcome, CancelTarget, QueueKeys } from './catalogue/job-cancel.js';
export { DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_BACKOFF_MS, enqueueJob, jobOptions } from './catalogue/job-options.js';
export type { EnqueueOptions } from './catalogue/job-options.js';
export { jobCatalogue, runCatalogueJob } from './catalogue/job-catalogue.js';
export type { JobAdapter, JobOutcome, JobRunContext } from './catalogue/job-catalogue.js';
export { runReindex } from './runners/reindex.js';
export type { ReindexJobInput } from './runners/reindex.js';
