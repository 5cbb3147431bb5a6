import { Type, type Static } from 'typebox';
import type { JobProgress } from '../progress.js';

const PhaseSchema = Type.Union([Type.Literal('export'), Type.Literal('validate'), Type.Literal('backup'), Type.Literal('import'), Type.Literal('verify'), Type.Literal('reindex')]);

/**
 * What `job.progress` holds: JobProgress plus the attempt that reported it (job.attemptsMade + 1), so a
 * listener can drop updates of an earlier attempt that arrive late.
 */
export const JobProgressSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  phase: PhaseSchema,
  phases: Type.Array(PhaseSchema),
  table: Type.Union([Type.String(), Type.Null()]),
  tablesDone: Type.Integer({ minimum: 0 }),
  tablesTotal: Type.Integer({ minimum: 0 }),
  rowsDone: Type.Integer({ minimum: 0 }),
  bytesDone: Type.Number({ minimum: 0 }),
  bytesTotal: Type.Number({ minimum: 0 }),
  percent: Type.Number({ minimum: 0, maximum: 100 }),
  etaSeconds: Type.Union([Type.Number(), Type.Null()]),
  bytesPerSecond: Type.Number({ minimum: 0 }),
  message: Type.Optional(Type.String()),
});

export type JobProgressUpdate = Static<typeof JobProgressSchema>;

// JobProgressUpdate must stay JobProgress + attempt: this line fails to compile when they drift apart.
export type ProgressSchemaMatches = [JobProgress & { attempt: number }] extends [JobProgressUpdate] ? true : never;
const _check: ProgressSchemaMatches = true;
void _check;
