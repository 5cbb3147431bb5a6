import type { Redis } from 'ioredis';
import type { ImportMode } from '@mbsync/dump';
import type { QueueKeys } from './queue-keys.js';

/**
 * What a job's history says besides BullMQ's own fields: whether its write reached the target, and the jobs it is
 * linked to. Kept as one JSON field of the job's own hash (BullMQ ignores fields it does not know and deletes the
 * hash with the job), so it lives and goes with the job and never mixes with the payload.
 */
export interface JobRecord {
  /** the import committed: the target holds the new data, whatever the job's end (sync, import, restore) */
  targetWritten?: boolean;
  committedAt?: string;
  /** the backup taken before that import (null with noBackup) */
  backupId?: string | null;
  /** what the job knew at its commit: an attempt that starts after it (a retry, a job taken over) ends from it */
  committed?: CommitInfo;
  /** the environment whose Typesense is rebuilt after the commit; cleared once the reindex ran (or was queued) */
  reindexPending?: string | null;
  /** this job re-runs that one (POST /api/jobs/:id/retry) */
  retryOf?: string;
  /** the job that re-ran this one */
  retriedBy?: string;
  /** the `reindex` job queued after this write's own reindex failed */
  reindexJobId?: string;
  /** this `reindex` job follows up that write */
  reindexFor?: string;
}

/** The field of the job's hash holding the record. */
export const JOB_RECORD_FIELD = 'mbsyncRecord';

// Merges a JSON patch into the field, atomically, and only while the job exists (a removed job stays removed).
const MERGE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
local record = {}
if current then record = cjson.decode(current) end
for k, v in pairs(cjson.decode(ARGV[2])) do record[k] = v end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1`;

/** The Redis key of a job's hash, as BullMQ names it. */
export function jobKey(queue: QueueKeys, jobId: string): string {
  return queue.toKey(jobId);
}

/** Merges `patch` into the job's record; false when the job no longer exists. */
export async function updateJobRecord(redis: Pick<Redis, 'eval'>, queue: QueueKeys, jobId: string, patch: JobRecord): Promise<boolean> {
  return (await redis.eval(MERGE_SCRIPT, 1, jobKey(queue, jobId), JOB_RECORD_FIELD, JSON.stringify(patch))) === 1;
}

/** A job's record ({} when it has none, or the job is gone). */
export async function readJobRecord(redis: Pick<Redis, 'hget'>, queue: QueueKeys, jobId: string): Promise<JobRecord> {
  return parseJobRecord(await redis.hget(jobKey(queue, jobId), JOB_RECORD_FIELD));
}

/** The records of several jobs in one round trip, by id. */
export async function readJobRecords(redis: Pick<Redis, 'pipeline'>, queue: QueueKeys, jobIds: readonly string[]): Promise<Map<string, JobRecord>> {
  if (jobIds.length === 0) return new Map();
  const pipeline = redis.pipeline();
  for (const id of jobIds) pipeline.hget(jobKey(queue, id), JOB_RECORD_FIELD);
  const answers = (await pipeline.exec()) ?? [];
  return new Map(jobIds.map((id, i) => [id, parseJobRecord(answers[i]?.[0] ? null : (answers[i]?.[1] as string | null))]));
}

/** A stored record; anything unreadable counts as none. */
export function parseJobRecord(text: string | null | undefined): JobRecord {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JobRecord) : {};
  } catch {
    return {};
  }
}

/** What a runner knows at the moment its import committed (the job's record keeps it). */
export interface CommitInfo {
  /** the target environment's name */
  target: string;
  committedAt: string;
  /** the backup taken before the import (null with noBackup) */
  backupId: string | null;
  import: { mode: ImportMode; tables: number; rows: number; bytesRead: number; durationMs: number };
  /** a sync's export figures */
  export?: { tables: number; rows: number; dataBytes: number; durationMs: number };
  /** a sync's kept dump (keepDump) */
  dumpFile?: string | null;
}

