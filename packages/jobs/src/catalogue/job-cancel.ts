import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { forgetCancelledJob, loadCancelledJob, saveCancelledJob, type CancelledJob, type CancelledJobRetention } from './cancelled-jobs.js';
import { readJobRecord } from './job-record.js';
import type { QueueKeys } from './queue-keys.js';

export type { QueueKeys } from './queue-keys.js';

/** How long a cancel request stays readable for a worker that picks the job up late (e.g. after a stall). */
export const CANCEL_KEY_TTL_SECONDS = 86_400;

/** Redis key a cancel request for `jobId` is stored under; the worker polls it at safe points. */
export function cancelKey(queue: QueueKeys, jobId: string): string {
  return queue.toKey(`cancel:${jobId}`);
}

/** Pub/sub channel on which cancel requests are announced to every worker of the queue. */
export function cancelChannel(queue: QueueKeys): string {
  return queue.toKey('cancel-requests');
}

/** The message published on cancelChannel. */
export interface CancelMessage {
  jobId: string;
  reason: string;
}

export type CancelOutcome =
  /** the job was waiting or delayed: it is removed from the queue and kept in the history as cancelled */
  | 'removed'
  /** the job is running: its worker has been told and ends it as failed with code CANCELLED */
  | 'cancelling'
  /** the job's import already committed: the target is written, a cancel would undo nothing (nothing changed) */
  | 'committed'
  /** no such job */
  | 'not-found'
  /** the job had already completed or failed (or was cancelled); nothing changed */
  | 'finished';

export interface CancelTarget {
  queue: Pick<Queue, 'getJob' | 'toKey'>;
  /** a normal (non-subscriber) connection to the queue's Redis */
  redis: Redis;
  /** how long cancelled-before-start jobs stay in the history */
  retention: CancelledJobRetention;
}

/**
 * Cancels a job from any process. A waiting or delayed job is removed and kept in the history as cancelled
 * (saveCancelledJob). A running job whose import already committed is left alone ('committed'). Otherwise a
 * cancel key is stored (read by the worker when it starts or polls the job, so a request is not lost while no
 * worker listens) and the request is published so the worker running the job aborts it at once. The key and the
 * history entry are written before the job is removed: if the job becomes active in between, removal fails,
 * the entry is taken back and the worker still sees the key.
 */
export async function requestCancel(target: CancelTarget, jobId: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
  const job = await target.queue.getJob(jobId);
  if (!job) return (await loadCancelledJob(target.redis, target.queue, jobId)) ? 'finished' : 'not-found';
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') return 'finished';
  if (state === 'unknown') return 'not-found';
  const record = await readJobRecord(target.redis, target.queue, jobId);
  if (record.targetWritten) return 'committed';
  const key = cancelKey(target.queue, jobId);
  await target.redis.set(key, reason, 'EX', CANCEL_KEY_TTL_SECONDS);
  if (state !== 'active') {
    const entry: CancelledJob = {
      id: jobId,
      type: job.name,
      payload: (job.data ?? {}) as Record<string, unknown>,
      createdAt: job.timestamp,
      cancelledAt: Date.now(),
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      lastFailedReason: job.failedReason ? job.failedReason : null,
      reason,
      record,
    };
    await saveCancelledJob(target.redis, target.queue, entry, target.retention);
    try {
      await job.remove();
      await target.redis.del(key);
      return 'removed';
    } catch {
      // it became active (locked) meanwhile: fall through to the running-job path
      await forgetCancelledJob(target.redis, target.queue, jobId);
    }
  }
  const message: CancelMessage = { jobId, reason };
  await target.redis.publish(cancelChannel(target.queue), JSON.stringify(message));
  return 'cancelling';
}
