import { runCatalogueJob, type JobOutputs, type JobType } from '@mbsync/jobs';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { watchCancelKey } from '../cancellation.js';
import type { WorkerConfig } from '../config.js';
import { settleFailure } from '../job-errors.js';
import { ProgressPublisher } from '../progress-publisher.js';

export type CatalogueJob = Job<unknown, JobOutputs[JobType], string>;

export interface ProcessorDeps {
  config: Pick<WorkerConfig, 'core' | 'environments' | 'cancelPollMs' | 'progressIntervalMs' | 'targetBusyDelayMs' | 'workerName'>;
  /** a normal connection for the cancel key */
  redis: Redis;
  /** names the queue's keys (the Worker) */
  queue: { toKey(type: string): string };
  logger: Logger;
}

/**
 * The one processor for every job type: validates the payload and runs the catalogue's adapter with a signal
 * that fires on cancel (pub/sub via Worker#cancelJob, or the polled cancel key) and on shutdown; maps the
 * outcome with settleFailure. Declared with three parameters: BullMQ only passes a signal to such processors.
 */
export function createJobProcessor(deps: ProcessorDeps) {
  return async (job: CatalogueJob, token: string | undefined, signal: AbortSignal | undefined): Promise<JobOutputs[JobType]> => {
    const attempt = job.attemptsMade + 1;
    const jobId = job.id ?? '';
    const log = deps.logger.child({ jobId, queue: job.queueName, type: job.name, attempt });
    // BullMQ's signal is a polyfill; the runners get a native one
    const controller = new AbortController();
    const abort = (reason: unknown) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const onBullAbort = () => abort(signal?.reason);
    if (signal?.aborted) onBullAbort();
    else signal?.addEventListener('abort', onBullAbort, { once: true });
    const cancelWatch = watchCancelKey(deps.redis, deps.queue, jobId, deps.config.cancelPollMs, abort);
    const progress = new ProgressPublisher(job, attempt, deps.config.progressIntervalMs, log);
    const startedAt = new Date().toISOString();
    log.info('job started');
    try {
      await cancelWatch.check();
      if (controller.signal.aborted) throw new Error('cancelled before start');
      const outcome = await runCatalogueJob(job.name, job.data, {
        environments: deps.config.environments,
        config: deps.config.core,
        signal: controller.signal,
        onProgress: (p) => progress.push(p),
      });
      await progress.flush();
      cancelWatch.stop();
      await cancelWatch.clear();
      const finishedAt = new Date().toISOString();
      log.info({ durationMs: Date.parse(finishedAt) - Date.parse(startedAt) }, 'job completed');
      return { ...outcome, attempt, startedAt, finishedAt, worker: deps.config.workerName } as JobOutputs[JobType];
    } catch (error) {
      cancelWatch.stop();
      await progress.flush();
      const settled = await settleFailure(error, {
        job,
        token,
        abortReason: controller.signal.aborted ? controller.signal.reason : undefined,
        targetBusyDelayMs: deps.config.targetBusyDelayMs,
        log,
      });
      if (settled.name === 'UnrecoverableError') await cancelWatch.clear();
      throw settled;
    } finally {
      cancelWatch.stop();
      signal?.removeEventListener('abort', onBullAbort);
    }
  };
}
