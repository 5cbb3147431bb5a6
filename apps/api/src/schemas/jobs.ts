import { JOB_TYPES, JobOutputSchemas, JobProgressSchema, type JobType } from '@mbsync/jobs';
import { Type, type Static } from 'typebox';

/** The states the api shows (BullMQ's, with prioritized/waiting-children folded into waiting, plus cancelled). */
export const API_JOB_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'] as const;
export type ApiJobState = (typeof API_JOB_STATES)[number];

export const JobState = Type.Union(
  [Type.Literal('waiting'), Type.Literal('delayed'), Type.Literal('active'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')],
  { description: 'waiting | delayed | active | completed | failed | cancelled' },
);
export const JobTypeName = Type.Union(
  [Type.Literal('export'), Type.Literal('import'), Type.Literal('sync'), Type.Literal('backup'), Type.Literal('restore'), Type.Literal('reindex')],
  { description: JOB_TYPES.join(' | ') },
);
// JobTypeName must list the catalogue's types: this fails to compile when they drift apart
const _sameTypes: [JobType] extends [Static<typeof JobTypeName>] ? ([Static<typeof JobTypeName>] extends [JobType] ? true : never) : never = true;
void _sameTypes;

export const JobId = Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', minLength: 1, maxLength: 200, description: 'job id' });

/** What a job's result may be: one of the catalogue's outputs; an unforeseen shape still passes through. */
const JobResult = Type.Unsafe<Record<string, unknown>>(
  Type.Union([...Object.values(JobOutputSchemas), Type.Object({}, { additionalProperties: true })], { description: 'the job output (job.returnvalue)' }),
);

const JobErrorInfo = Type.Object({
  code: Type.String({ description: 'e.g. CANCELLED, JOBS_PROTECTED_TARGET, DUMP_CONNECTION_FAILED' }),
  message: Type.String(),
});

/** The jobs a job is linked to. */
const RelatedJobs = Type.Object(
  {
    retryOf: Type.Union([JobId, Type.Null()], { description: 'this job re-runs that failed or cancelled one (POST /api/jobs/{id}/retry)' }),
    retriedBy: Type.Union([JobId, Type.Null()], { description: 'the job that re-ran this one' }),
    reindexJobId: Type.Union([JobId, Type.Null()], { description: "the reindex job queued after this write's own reindex failed" }),
    reindexFor: Type.Union([JobId, Type.Null()], { description: 'this reindex job follows up that write' }),
  },
  { description: 'links between jobs' },
);

/** One job as the api shows it (GET /api/jobs/:id, list items, WebSocket snapshots). */
export const JobView = Type.Object(
  {
    id: JobId,
    type: Type.String({ description: JOB_TYPES.join(' | ') }),
    state: JobState,
    percent: Type.Number({ minimum: 0, maximum: 100, description: 'overall percent across every phase (100 once completed)' }),
    progress: Type.Union([JobProgressSchema, Type.Null()], { description: 'the latest progress the worker reported, null before the first' }),
    payload: Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true, description: 'the job data: environment names and options, never URLs' })),
    attempts: Type.Integer({ minimum: 0, description: 'attempts made so far' }),
    maxAttempts: Type.Integer({ minimum: 1 }),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    result: Type.Optional(JobResult),
    error: Type.Optional(JobErrorInfo),
    lastError: Type.Optional(Type.Object(JobErrorInfo.properties, { description: 'a job waiting for its next attempt (delayed): why the last one failed' })),
    targetWritten: Type.Boolean({
      description: "the job's import committed: the target holds its data whatever the job's end (sync, import, restore); from then on a cancel answers 409",
    }),
    committedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    backupId: Type.Union([Type.String(), Type.Null()], { description: 'the backup taken before the import that committed (restore it with POST /api/backups/{id}/restore)' }),
    related: RelatedJobs,
  },
  { $id: 'JobView' },
);
export type JobView = Static<typeof JobView>;

/** 202 answer of every route that starts a job. */
export const JobAccepted = Type.Object({
  id: JobId,
  type: JobTypeName,
  state: JobState,
  createdAt: Type.String({ format: 'date-time' }),
  links: Type.Object({ self: Type.String(), cancel: Type.String(), ws: Type.String({ description: 'WebSocket: send {"type":"subscribe","jobId":id}' }) }),
});

export const JobParams = Type.Object({ id: JobId });

export const JobListQuery = Type.Object(
  {
    state: Type.Optional(JobState),
    type: Type.Optional(JobTypeName),
    offset: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
export type JobListQuery = Static<typeof JobListQuery>;

export const JobList = Type.Object({
  jobs: Type.Array(Type.Ref('JobView#')),
  total: Type.Integer({ description: 'jobs matching the filter (of the newest the server scans)' }),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

export const CancelResult = Type.Object({
  id: JobId,
  outcome: Type.Union([Type.Literal('removed'), Type.Literal('cancelling')], {
    description: 'removed: it was waiting; it will not run and stays in the history as cancelled. cancelling: it is running and its worker was told to stop',
  }),
  state: JobState,
});

/** 202 answer of POST /api/jobs/{id}/retry: the new job, linked to the old one. */
export const RetryAccepted = Type.Object({
  ...JobAccepted.properties,
  retryOf: Type.String({ description: 'the failed or cancelled job this one re-runs, with the same payload' }),
});

