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
    description: 'removed: it was waiting and is gone (state cancelled); cancelling: it is running and its worker was told to stop',
  }),
  state: JobState,
});
