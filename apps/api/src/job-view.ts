import { type CancelledJob, JobProgressSchema, type JobProgressUpdate, type JobRecord, type JobStatus, jobStatus, listCancelledJobs, loadCancelledJob, parseFailedReason, readJobRecords, redactSecrets } from '@mbsync/jobs';
import type { Job, JobType as BullJobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Value } from 'typebox/value';
import type { ApiJobState, JobListQuery, JobView } from './schemas/jobs.js';

/** BullMQ + catalogue status → what the api shows; null for a job that is being removed (`unknown`). */
export function toApiState(status: JobStatus): ApiJobState | null {
  switch (status) {
    case 'prioritized':
    case 'waiting-children':
    case 'waiting':
      return 'waiting';
    case 'unknown':
      return null;
    default:
      return status;
  }
}

/** The progress object if the worker stored a valid one (BullMQ's default progress is 0). */
export function readProgress(value: unknown): JobProgressUpdate | null {
  return Value.Check(JobProgressSchema, value) ? (value as JobProgressUpdate) : null;
}

/**
 * Overall percent across phases: a job's `progress.percent` is per phase, so phase i of n at p % is
 * (i + p/100) / n. Completed is 100; rounded to one decimal.
 */
export function overallPercent(state: ApiJobState, progress: JobProgressUpdate | null): number {
  if (state === 'completed') return 100;
  if (!progress) return 0;
  const n = Math.max(progress.phases.length, 1);
  const index = Math.max(progress.phases.indexOf(progress.phase), 0);
  return Math.min(100, Math.round(((index + progress.percent / 100) / n) * 1000) / 10);
}

/** Rank of a progress report within a job, to drop reports older than one already sent (attempt, phase, percent). */
export function progressRank(progress: JobProgressUpdate): [number, number, number] {
  return [progress.attempt, progress.phases.indexOf(progress.phase), progress.percent];
}

/** True when `a` is older than `b` (strictly behind it). */
export function isBehind(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! < b[i]!;
  return false;
}

const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

/** The code and message of a failed or cancelled job (the worker writes `CODE: message`). */
export function jobError(failedReason: string | undefined | null): { code: string; message: string } {
  const { code, message } = parseFailedReason(failedReason);
  return { code, message: redactSecrets(message) };
}

/** Where the api reads jobs: the queue, and its Redis for the jobs' records and the jobs cancelled before they started. */
export interface JobStore {
  queue: Queue;
  redis: Redis;
}

/**
 * The ids the api hands out are BullMQ's own, whole numbers. Anything else cannot name a job, and must not reach
 * Redis as one: `events`, `meta`, `metrics:workers`… are BullMQ's own keys under the same prefix.
 */
export function isJobId(id: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(id);
}

/** What a job's record adds to its view: whether its write reached the target, and its links. */
function recordFields(record: JobRecord): Pick<JobView, 'targetWritten' | 'committedAt' | 'backupId' | 'related'> {
  return {
    targetWritten: record.targetWritten === true,
    committedAt: record.committedAt ?? null,
    backupId: record.backupId ?? null,
    related: { retryOf: record.retryOf ?? null, retriedBy: record.retriedBy ?? null, reindexJobId: record.reindexJobId ?? null, reindexFor: record.reindexFor ?? null },
  };
}

/** One job as the api shows it, given its BullMQ state (from getState or from the set it was listed in) and its record. */
export function viewJob(job: Job, bullState: string, record: JobRecord = {}): JobView | null {
  const state = toApiState(jobStatus(bullState, job.failedReason));
  if (!state || !job.id) return null;
  const progress = readProgress(job.progress);
  const view: JobView = {
    id: job.id,
    type: job.name,
    state,
    percent: overallPercent(state, progress),
    progress,
    payload: (job.data ?? {}) as Record<string, unknown>,
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    ...recordFields(record),
  };
  if (state === 'completed' && job.returnvalue !== null && typeof job.returnvalue === 'object') view.result = job.returnvalue as Record<string, unknown>;
  if ((state === 'failed' || state === 'cancelled') && job.failedReason) view.error = jobError(job.failedReason);
  // waiting for its next attempt (a retry's backoff): why the last one failed
  if ((state === 'delayed' || state === 'waiting' || state === 'active') && job.attemptsMade > 0 && job.failedReason) view.lastError = jobError(job.failedReason);
  return view;
}

/** A job cancelled before it started, from the history the api keeps of them. */
export function viewCancelledJob(job: CancelledJob): JobView {
  return {
    id: job.id,
    type: job.type,
    state: 'cancelled',
    percent: 0,
    progress: null,
    payload: job.payload,
    attempts: job.attemptsMade,
    maxAttempts: job.maxAttempts,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: null,
    finishedAt: new Date(job.cancelledAt).toISOString(),
    error: { code: 'CANCELLED', message: redactSecrets(`cancelled before it started (${job.reason})`) },
    ...(job.lastFailedReason ? { lastError: jobError(job.lastFailedReason) } : {}),
    ...recordFields(job.record),
  };
}

/** A job by id with its current state (a job cancelled before it started included); null when there is no such job. */
export async function loadJobView(store: JobStore, id: string): Promise<JobView | null> {
  if (!isJobId(id)) return null;
  const job = await store.queue.getJob(id);
  if (!job) {
    const cancelled = await loadCancelledJob(store.redis, store.queue, id);
    return cancelled ? viewCancelledJob(cancelled) : null;
  }
  const state = await job.getState();
  // read the job again: the hash read first may predate the state (a finished job's result, a delayed one's error)
  const fresh = state === 'waiting' || state === 'prioritized' ? job : ((await store.queue.getJob(id)) ?? job);
  const records = await readJobRecords(store.redis, store.queue, [id]);
  return viewJob(fresh, state, records.get(id));
}

/** Which BullMQ sets hold the jobs of an api state. */
const SETS: Record<ApiJobState, BullJobType[]> = {
  waiting: ['waiting', 'prioritized', 'waiting-children'],
  delayed: ['delayed'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['failed'],
};
const ALL_SETS: BullJobType[] = ['active', 'waiting', 'prioritized', 'waiting-children', 'delayed', 'completed', 'failed'];

/** Listing scans at most this many of the newest jobs per BullMQ set (history is bounded by the workers anyway). */
export const LIST_SCAN_LIMIT = 2_000;

/** Jobs filtered by state and type, newest first, paginated; jobs cancelled before they started are listed as cancelled. */
export async function listJobViews(store: JobStore, query: JobListQuery): Promise<{ jobs: JobView[]; total: number }> {
  const sets = query.state ? SETS[query.state] : ALL_SETS;
  const found = await Promise.all(
    sets.map(async (set) => (await store.queue.getJobs([set], 0, LIST_SCAN_LIMIT - 1, false)).map((job) => viewJob(job, set))),
  );
  const cancelled = !query.state || query.state === 'cancelled' ? (await listCancelledJobs(store.redis, store.queue, LIST_SCAN_LIMIT)).map(viewCancelledJob) : [];
  const seen = new Set<string>();
  const views = [...found.flat(), ...cancelled]
    .filter((v): v is JobView => v !== null && !seen.has(v.id) && (seen.add(v.id), true))
    .filter((v) => (!query.state || v.state === query.state) && (!query.type || v.type === query.type))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id, undefined, { numeric: true }));
  const page = views.slice(query.offset, query.offset + query.limit);
  // the records of the page's jobs, in one round trip (a cancelled job's came with it)
  const cancelledIds = new Set(cancelled.map((v) => v.id));
  const records = await readJobRecords(store.redis, store.queue, page.filter((v) => !cancelledIds.has(v.id)).map((v) => v.id));
  return { jobs: page.map((v) => (records.has(v.id) ? { ...v, ...recordFields(records.get(v.id)!) } : v)), total: views.length };
}
