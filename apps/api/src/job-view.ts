import { JobProgressSchema, jobStatus, parseFailedReason, redactSecrets, type JobProgressUpdate, type JobStatus } from '@mbsync/jobs';
import type { Job, JobType as BullJobType, Queue } from 'bullmq';
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

/** One job as the api shows it, given its BullMQ state (from getState or from the set it was listed in). */
export function viewJob(job: Job, bullState: string): JobView | null {
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
  };
  if (state === 'completed' && job.returnvalue !== null && typeof job.returnvalue === 'object') view.result = job.returnvalue as Record<string, unknown>;
  if ((state === 'failed' || state === 'cancelled') && job.failedReason) view.error = jobError(job.failedReason);
  return view;
}

/** A job by id with its current state; null when there is no such job. */
export async function loadJobView(queue: Queue, id: string): Promise<JobView | null> {
  const job = await queue.getJob(id);
  if (!job) return null;
  const state = await job.getState();
  // read the job again if it moved on meanwhile: the hash read first may predate the state change
  const fresh = state === 'completed' || state === 'failed' ? ((await queue.getJob(id)) ?? job) : job;
  return viewJob(fresh, state);
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

/** Jobs filtered by state and type, newest first, paginated. */
export async function listJobViews(queue: Queue, query: JobListQuery): Promise<{ jobs: JobView[]; total: number }> {
  const sets = query.state ? SETS[query.state] : ALL_SETS;
  const found = await Promise.all(
    sets.map(async (set) => (await queue.getJobs([set], 0, LIST_SCAN_LIMIT - 1, false)).map((job) => viewJob(job, set))),
  );
  const seen = new Set<string>();
  const views = found
    .flat()
    .filter((v): v is JobView => v !== null && !seen.has(v.id) && (seen.add(v.id), true))
    .filter((v) => (!query.state || v.state === query.state) && (!query.type || v.type === query.type))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id, undefined, { numeric: true }));
  return { jobs: views.slice(query.offset, query.offset + query.limit), total: views.length };
}
