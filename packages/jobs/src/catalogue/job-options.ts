import type { JobsOptions, Queue } from 'bullmq';
import { parsePayload, type JobPayloads } from './job-payloads.js';
import type { JobType } from './job-types.js';

/** Attempts of a job when the producer does not say (transient errors are retried, the rest fail at once). */
export const DEFAULT_JOB_ATTEMPTS = 3;
/** First retry delay; doubles with every attempt (exponential backoff). */
export const DEFAULT_JOB_BACKOFF_MS = 5_000;

export interface EnqueueOptions {
  /** total attempts including the first (default 3) */
  attempts?: number;
  /** first backoff delay in ms (default 5000) */
  backoffMs?: number;
  /** a job id chosen by the caller (deduplicates submissions) */
  jobId?: string;
}

/**
 * BullMQ options for a job. History (removeOnComplete/removeOnFail) is deliberately not set here: the
 * workers apply JOB_HISTORY_MAX_AGE_SECONDS / JOB_HISTORY_MAX_COUNT, and job-level settings would override them.
 */
export function jobOptions(options: EnqueueOptions = {}): JobsOptions {
  return {
    attempts: options.attempts ?? DEFAULT_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: options.backoffMs ?? DEFAULT_JOB_BACKOFF_MS },
    ...(options.jobId ? { jobId: options.jobId } : {}),
  };
}

/** Validates a payload (JOBS_PAYLOAD_INVALID) and adds the job to the queue under its type's name. */
export async function enqueueJob<T extends JobType>(queue: Pick<Queue, 'add'>, type: T, payload: JobPayloads[T], options: EnqueueOptions = {}): Promise<string> {
  const data = parsePayload(type, payload);
  const job = await queue.add(type, data, jobOptions(options));
  return job.id ?? '';
}
