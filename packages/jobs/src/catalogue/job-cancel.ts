import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Anything that names a queue's keys the way BullMQ does (a Queue, a Worker, a QueueEvents). */
export interface QueueKeys {
  toKey(type: string): string;
}

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
  /** the job was waiting or delayed and has been removed from the queue */
  | 'removed'
  /** the job is running: its worker has been told and ends it as failed with code CANCELLED */
  | 'cancelling'
  /** no such job */
  | 'not-found'
  /** the job had already completed or failed; nothing changed */
  | 'finished';

export interface CancelTarget {
  queue: Pick<Queue, 'getJob' | 'toKey'>;
  /** a normal (non-subscriber) connection to the queue's Redis */
  redis: Pick<Redis, 'set' | 'publish' | 'del'>;
}

/**
 * Cancels a job from any process. A waiting or delayed job is removed. Otherwise a cancel key is stored (read by
 * the worker when it starts or polls the job, so a request is not lost while no worker listens) and the request
 * is published so the worker running the job aborts it at once. The key is written before the job is removed:
 * if the job becomes active in between, removal fails and the worker still sees the key.
 */
export async function requestCancel(target: CancelTarget, jobId: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
  const job = await target.queue.getJob(jobId);
  if (!job) return 'not-found';
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') return 'finished';
  if (state === 'unknown') return 'not-found';
  const key = cancelKey(target.queue, jobId);
  await target.redis.set(key, reason, 'EX', CANCEL_KEY_TTL_SECONDS);
  if (state !== 'active') {
    try {
      await job.remove();
      await target.redis.del(key);
      return 'removed';
    } catch {
      // it became active (locked) meanwhile: fall through to the running-job path
    }
  }
  const message: CancelMessage = { jobId, reason };
  await target.redis.publish(cancelChannel(target.queue), JSON.stringify(message));
  return 'cancelling';
}
