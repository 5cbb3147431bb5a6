// @mbsync/jobs: the contract shared by the api, the worker and the CLI — job types, payload, progress and output
// schemas, failures, cancellation and records in Redis, environments, the destination guard, settings. What runs
// a job lives in @mbsync/execution.
export { JobsError } from './errors.js';
export type { JobsErrorCode } from './errors.js';
export {
  CoreSettings,
  DEFAULT_STALL_TIMEOUT_SECONDS,
  DEFAULT_TYPESENSE_RETRY_SECONDS,
  LOG_LEVELS,
  SERVICE_SECRETS,
  ServiceSettings,
  configInvalid,
  coreConfigFrom,
  loadCoreConfig,
} from './config.js';
export type { CoreConfig, SyncCopyFormat } from './config.js';
export { loadSearchSpecs, readSearchSpecs } from './search-specs.js';
export type { SpecsFileReader } from './search-specs.js';
export { configuredCollectionNames, readConfiguredSpecs } from './configured-specs.js';
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
export { phaseEvent, phaseReporter } from './progress.js';
export type { JobProgress, Phase, PhaseProgressCallback } from './progress.js';
export { JOB_QUEUE, JOB_TYPES, isJobType } from './catalogue/job-types.js';
export type { JobType } from './catalogue/job-types.js';
export {
  BackupPayload,
  Confirm,
  definedFields,
  DumpFileName,
  ExportOptionFields,
  ExportPayload,
  ImportMode,
  ImportOptionFields,
  ImportPayload,
  JobPayloadSchemas,
  ReindexPayload,
  RestorePayload,
  SelectionFields,
  SyncOptionFields,
  SyncPayload,
  syncRequest,
  WriteFields,
  parsePayload,
} from './catalogue/job-payloads.js';
export type { JobPayloads, SyncOptions, SyncRequest } from './catalogue/job-payloads.js';
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
  IncrementalSyncSummary,
  JobOutputs,
  JobRunInfo,
  ReindexJobOutput,
  ReindexJobSummary,
  RestoreJobOutput,
  SyncJobOutput,
} from './catalogue/job-outputs.js';
export { CANCELLED_CODE, JobCatalogueError, formatFailedReason, jobStatus, parseFailedReason, redactSecrets, requestWording } from './catalogue/job-failure.js';
export type { ClassifiedError, FailureAction, JobFailureCode, JobStatus, KnownErrorCode } from './catalogue/job-failure.js';
export { CANCEL_KEY_TTL_SECONDS, cancelChannel, cancelKey, requestCancel } from './catalogue/job-cancel.js';
export type { CancelMessage, CancelOutcome, CancelTarget, QueueKeys } from './catalogue/job-cancel.js';
export { JOB_RECORD_FIELD, jobKey, parseJobRecord, readJobRecord, readJobRecords, updateJobRecord } from './catalogue/job-record.js';
export type { CommitInfo, JobRecord } from './catalogue/job-record.js';
export { forgetCancelledJob, listCancelledJobs, loadCancelledJob, saveCancelledJob, updateCancelledJobRecord } from './catalogue/cancelled-jobs.js';
export type { CancelledJob, CancelledJobRetention } from './catalogue/cancelled-jobs.js';
export { WORKER_METRICS_CONTENT_LIMIT_BYTES, parseWorkerMetrics, workerMetricsKeys } from './catalogue/worker-metrics.js';
export type { WorkerMetric, WorkerMetricsKeys } from './catalogue/worker-metrics.js';
export { DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_BACKOFF_MS, enqueueJob, jobOptions } from './catalogue/job-options.js';
export type { EnqueueOptions } from './catalogue/job-options.js';
export { readServiceParts } from './service-parts.js';
