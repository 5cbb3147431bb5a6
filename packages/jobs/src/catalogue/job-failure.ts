import { codedError } from '@mbsync/errors';
import type { DumpErrorCode } from '@mbsync/dump';
import type { SchemaDiffErrorCode } from '@mbsync/schema-diff';
import type { SearchIndexErrorCode } from '@mbsync/search-index';
import type { JobsErrorCode } from '../errors.js';

/** Codes the catalogue adds to those of the packages (DUMP_*, JOBS_* of JobsError). */
export type JobFailureCode =
  /** the job was cancelled by request (requestCancel); never retried */
  | 'CANCELLED'
  /** the payload does not match the job type's schema */
  | 'JOBS_PAYLOAD_INVALID'
  /** job.name is not a job type */
  | 'JOBS_UNKNOWN_JOB_TYPE'
  /** a network error outside the packages' own classification */
  | 'JOBS_CONNECTION_FAILED'
  /** anything unexpected (a bug): not retried */
  | 'JOBS_INTERNAL';

/**
 * Every code a job or a request can fail with: the packages' own and the catalogue's. The api's error table is
 * typed by it, so a code added to a package without an HTTP status fails to compile.
 */
export type KnownErrorCode = JobFailureCode | JobsErrorCode | DumpErrorCode | SchemaDiffErrorCode | SearchIndexErrorCode;

/** Code of a cancelled job (in its failedReason). */
export const CANCELLED_CODE = 'CANCELLED' satisfies JobFailureCode;

/** Errors the catalogue raises itself. */
export class JobCatalogueError extends codedError<JobFailureCode>('JobCatalogueError') {}

/** What to do with a failed attempt. */
export type FailureAction =
  /** transient: retry with backoff while attempts remain */
  | 'retry'
  /** the target is busy with another import: wait (delayed) and try again, without using an attempt */
  | 'wait'
  /** permanent: fail now (UnrecoverableError) */
  | 'fail';

export interface ClassifiedError {
  code: JobFailureCode | DumpErrorCode | JobsErrorCode | string;
  /** one line, secrets redacted */
  message: string;
  retryable: boolean;
  action: FailureAction;
}

/** Removes `scheme://user:password@` and `password=…` from a message, in case a driver quoted a URL. */
export function redactSecrets(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@').replace(/(password\s*=\s*)\S+/gi, '$1***');
}

/** The request field of each CLI option a message may name (jobs are started over HTTP with these names). */
const REQUEST_FIELDS: Readonly<Record<string, string>> = {
  '--yes': '"acceptDataLoss": true',
  '--no-backup': '"noBackup": true',
  '--no-reindex': '"skipReindex": true',
  '--skip-reindex': '"skipReindex": true',
  '--keep-dump': '"keepDump": true',
  '--mode': '"mode"',
  '--jobs': '"jobs"',
  '--schema': '"schemas"',
  '--create-roles': '"createRoles": true',
  '--no-owner': '"owners": false',
  '--no-privileges': '"privileges": false',
  '--no-event-triggers': '"eventTriggers": false',
};

/**
 * A runner's message as an HTTP client should read it: the CLI options it names become the request fields a job
 * is started with (`confirm with --yes` → `set "acceptDataLoss": true`, `pass --confirm staging` → `set "confirm":
 * "staging"`). The packages word their errors for the command line, where most of them are met first.
 */
export function requestWording(message: string): string {
  return message
    .replace(/\(confirm with --yes\)/g, '(set "acceptDataLoss": true in the request to accept it)')
    .replace(/pass --confirm ([A-Za-z0-9_-]+)/g, 'set "confirm": "$1" in the request')
    .replace(/--[a-z][a-z-]*/g, (option) => REQUEST_FIELDS[option] ?? `"${option.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())}"`);
}

/**
 * BullMQ keeps only a message for a failed job, so the worker writes `CODE: message` into it. Returns the
 * code and message back; a reason written by BullMQ itself (e.g. a job that stalled too often) has code
 * `JOBS_INTERNAL`.
 */
export function parseFailedReason(failedReason: string | undefined | null): { code: string; message: string } {
  const m = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(failedReason ?? '');
  if (m) return { code: m[1]!, message: m[2]! };
  return { code: 'JOBS_INTERNAL', message: failedReason ?? '' };
}

/** The inverse of parseFailedReason. */
export function formatFailedReason(code: string, message: string): string {
  return `${code}: ${message}`;
}

/** BullMQ job states plus `cancelled`, the way the api should show a job. */
export type JobStatus = 'waiting' | 'delayed' | 'prioritized' | 'waiting-children' | 'active' | 'completed' | 'failed' | 'cancelled' | 'unknown';

/**
 * Maps a job's BullMQ state and failedReason to what the api shows: a failed job whose code is CANCELLED is
 * `cancelled`. (A waiting or delayed job that was cancelled is removed, so the api answers 404 for it.)
 */
export function jobStatus(state: string, failedReason?: string | null): JobStatus {
  if (state === 'failed' && parseFailedReason(failedReason).code === CANCELLED_CODE) return 'cancelled';
  const known: readonly string[] = ['waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed'];
  return known.includes(state) ? (state as JobStatus) : 'unknown';
}
