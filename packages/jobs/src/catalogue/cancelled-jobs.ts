import type { Redis } from 'ioredis';
import type { QueueKeys } from './queue-keys.js';
import { parseJobRecord, type JobRecord } from './job-record.js';

/**
 * A job cancelled before it started. BullMQ can only remove a job that is not running (it has no way to fail it
 * from outside a worker), so its history entry is kept here: the api lists it and shows it as `cancelled`, and it
 * can be retried like a failed job. Stored in two keys of the queue: a hash id → JSON and a sorted set by time,
 * pruned like the workers prune their history (JOB_HISTORY_MAX_AGE_SECONDS / JOB_HISTORY_MAX_COUNT).
 */
export interface CancelledJob {
  id: string;
  /** the job type (its BullMQ name) */
  type: string;
  payload: Record<string, unknown>;
  /** ms since the epoch */
  createdAt: number;
  cancelledAt: number;
  attemptsMade: number;
  maxAttempts: number;
  /** `CODE: message` of the attempt that failed before it was cancelled while waiting for the next one */
  lastFailedReason: string | null;
  reason: string;
  record: JobRecord;
}

/** How long cancelled jobs stay listed: the same limits as the workers' history. */
export interface CancelledJobRetention {
  maxAgeSeconds: number;
  maxCount: number;
}

const hashKey = (queue: QueueKeys) => queue.toKey('mbsync:cancelled');
const orderKey = (queue: QueueKeys) => queue.toKey('mbsync:cancelled-order');

/** Records a cancelled job and prunes the oldest beyond the retention. */
export async function saveCancelledJob(redis: Pick<Redis, 'multi' | 'zrangebyscore' | 'zrevrange'>, queue: QueueKeys, job: CancelledJob, retention: CancelledJobRetention): Promise<void> {
  await redis.multi().hset(hashKey(queue), job.id, JSON.stringify(job)).zadd(orderKey(queue), job.cancelledAt, job.id).exec();
  const old = await redis.zrangebyscore(orderKey(queue), '-inf', job.cancelledAt - retention.maxAgeSeconds * 1000);
  const beyond = await redis.zrevrange(orderKey(queue), retention.maxCount, -1);
  const drop = [...new Set([...old, ...beyond])].filter((id) => id !== job.id);
  if (drop.length > 0) await redis.multi().hdel(hashKey(queue), ...drop).zrem(orderKey(queue), ...drop).exec();
}

/** Takes a record back (the job started after all). */
export async function forgetCancelledJob(redis: Pick<Redis, 'multi'>, queue: QueueKeys, jobId: string): Promise<void> {
  await redis.multi().hdel(hashKey(queue), jobId).zrem(orderKey(queue), jobId).exec();
}

/** A cancelled-before-start job by id, or null. */
export async function loadCancelledJob(redis: Pick<Redis, 'hget'>, queue: QueueKeys, jobId: string): Promise<CancelledJob | null> {
  return parseCancelledJob(await redis.hget(hashKey(queue), jobId));
}

/** The newest `limit` cancelled-before-start jobs, newest first. */
export async function listCancelledJobs(redis: Pick<Redis, 'zrevrange' | 'hmget'>, queue: QueueKeys, limit: number): Promise<CancelledJob[]> {
  const ids = await redis.zrevrange(orderKey(queue), 0, Math.max(0, limit - 1));
  if (ids.length === 0) return [];
  const texts = await redis.hmget(hashKey(queue), ...ids);
  return texts.map(parseCancelledJob).filter((j): j is CancelledJob => j !== null);
}

/** Merges `patch` into a cancelled job's record (a retry links back to it); false when it is not there. */
export async function updateCancelledJobRecord(redis: Pick<Redis, 'hget' | 'hset'>, queue: QueueKeys, jobId: string, patch: JobRecord): Promise<boolean> {
  const job = await loadCancelledJob(redis, queue, jobId);
  if (!job) return false;
  await redis.hset(hashKey(queue), jobId, JSON.stringify({ ...job, record: { ...job.record, ...patch } }));
  return true;
}

function parseCancelledJob(text: string | null | undefined): CancelledJob | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<CancelledJob>;
    if (typeof value.id !== 'string' || typeof value.type !== 'string') return null;
    return {
      id: value.id,
      type: value.type,
      payload: typeof value.payload === 'object' && value.payload !== null ? value.payload : {},
      createdAt: Number(value.createdAt) || 0,
      cancelledAt: Number(value.cancelledAt) || 0,
      attemptsMade: Number(value.attemptsMade) || 0,
      maxAttempts: Number(value.maxAttempts) || 1,
      lastFailedReason: typeof value.lastFailedReason === 'string' ? value.lastFailedReason : null,
      reason: typeof value.reason === 'string' ? value.reason : 'cancelled',
      record: parseJobRecord(JSON.stringify(value.record ?? {})),
    };
  } catch {
    return null;
  }
}
