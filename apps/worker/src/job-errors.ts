import { classifyError } from '@mbsync/execution';
import { CANCELLED_CODE, type ClassifiedError, formatFailedReason } from '@mbsync/jobs';
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { CANCEL_REASON_PREFIX, isShutdownReason } from './cancellation.js';

/** A transient failure: BullMQ retries it with backoff while attempts remain. Message: `CODE: message`. */
export class TransientJobError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(formatFailedReason(code, message));
    this.name = 'TransientJobError';
    this.code = code;
  }
}

export interface FailureContext {
  job: Pick<Job, 'moveToDelayed' | 'moveToWait' | 'attemptsMade' | 'opts'>;
  token: string | undefined;
  /** the abort reason when the job's signal fired (cancel or shutdown), else undefined */
  abortReason: unknown;
  targetBusyDelayMs: number;
  /** the attempt's import already committed: the target is written, so the job is never retried or called cancelled */
  committed?: boolean;
  log: Logger;
}

/**
 * Turns a failed attempt into what BullMQ should do with the job, and does the moving itself where BullMQ
 * needs it (the DelayedError/WaitingError pattern):
 * - shutdown abort → back to wait, no attempt used (WaitingError)
 * - cancel abort → failed now with CANCELLED (UnrecoverableError)
 * - DUMP_TARGET_BUSY → delayed by targetBusyDelayMs (±20 %), no attempt used (DelayedError)
 * - transient → TransientJobError (retried with backoff); permanent → UnrecoverableError `CODE: message`.
 * - after the commit (verify failed, the connection dropped…) → UnrecoverableError: a retry would copy again,
 *   and the job's record already says the target was written.
 */
export async function settleFailure(error: unknown, context: FailureContext): Promise<Error> {
  const { job, token, log, abortReason } = context;
  if (abortReason !== undefined && isShutdownReason(abortReason)) {
    try {
      await job.moveToWait(token);
      log.info('shutting down: job stopped and put back in the queue');
      return new WaitingError();
    } catch (moveError) {
      log.warn({ err: moveError }, 'could not put the job back; it will be picked up as stalled');
      return new TransientJobError('JOBS_WORKER_SHUTDOWN', 'the worker shut down while running the job');
    }
  }
  if (context.committed) {
    const classified = classifyError(error);
    log.error({ code: classified.code }, `job failed after its import committed (the target is written; not retried): ${classified.message}`);
    return new UnrecoverableError(formatFailedReason(classified.code, `${classified.message} (after the import committed: the target was written)`));
  }
  if (abortReason !== undefined) {
    const reason = String(abortReason).replace(CANCEL_REASON_PREFIX, '');
    log.info({ code: CANCELLED_CODE }, `job cancelled (${reason})`);
    return new UnrecoverableError(formatFailedReason(CANCELLED_CODE, reason));
  }
  const classified: ClassifiedError = classifyError(error);
  if (classified.action === 'wait') {
    const jitter = 0.8 + Math.random() * 0.4;
    const delay = Math.round(context.targetBusyDelayMs * jitter);
    try {
      await job.moveToDelayed(Date.now() + delay, token);
      log.info({ code: classified.code, delayMs: delay }, 'target busy with another import: job waits its turn');
      return new DelayedError();
    } catch (moveError) {
      log.warn({ err: moveError }, 'could not delay the job; retrying it instead');
      return new TransientJobError(classified.code, classified.message);
    }
  }
  if (classified.action === 'retry') {
    const left = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
    log.warn({ code: classified.code, attemptsLeft: Math.max(0, left) }, `attempt failed: ${classified.message}`);
    return new TransientJobError(classified.code, classified.message);
  }
  log.error({ code: classified.code }, `job failed: ${classified.message}`);
  return new UnrecoverableError(formatFailedReason(classified.code, classified.message));
}
