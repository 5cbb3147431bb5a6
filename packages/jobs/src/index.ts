// Everything of the light entry point (named there), plus the queue catalogue below.
export * from './core.js';
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
  ReindexJobSummary,
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
export { CANCELLED_CODE, JobCatalogueError, classifyError, formatFailedReason, jobStatus, parseFailedReason, redactSecrets, requestWording } from './catalogue/job-failure.js';
export type { ClassifiedError, FailureAction, JobFailureCode, JobStatus } from './catalogue/job-failure.js';
export { CANCEL_KEY_TTL_SECONDS, cancelChannel, cancelKey, requestCancel } from './catalogue/job-cancel.js';
export type { CancelMessage, CancelOutcome, CancelTarget, QueueKeys } from './catalogue/job-cancel.js';
export { JOB_RECORD_FIELD, jobKey, parseJobRecord, readJobRecord, readJobRecords, updateJobRecord } from './catalogue/job-record.js';
export type { JobRecord } from './catalogue/job-record.js';
export { forgetCancelledJob, listCancelledJobs, loadCancelledJob, saveCancelledJob, updateCancelledJobRecord } from './catalogue/cancelled-jobs.js';
export type { CancelledJob, CancelledJobRetention } from './catalogue/cancelled-jobs.js';
export { configuredCollectionNames, readConfiguredSpecs } from './configured-specs.js';
export { WORKER_METRICS_CONTENT_LIMIT_BYTES, parseWorkerMetrics, workerMetricsKeys } from './catalogue/worker-metrics.js';
export type { WorkerMetric, WorkerMetricsKeys } from './catalogue/worker-metrics.js';
export { DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_BACKOFF_MS, enqueueJob, jobOptions } from './catalogue/job-options.js';
export type { EnqueueOptions } from './catalogue/job-options.js';
export { jobCatalogue, runCatalogueJob } from './catalogue/job-catalogue.js';
export type { JobAdapter, JobOutcome, JobRunContext } from './catalogue/job-catalogue.js';
