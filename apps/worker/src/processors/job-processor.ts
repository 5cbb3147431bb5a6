import { runCatalogueJob, watchForStalls } from '@mbsync/execution';
import type { JobOutputs, JobType, ReindexJobSummary } from '@mbsync/jobs';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isShutdownReason, watchCancelKey } from '../cancellation.js';
import type { WorkerConfig } from '../config.js';
import { settleFailure } from '../job-errors.js';
import { CommitRecorder, type FollowUpEnqueuer } from './commit-recorder.js';
import { jobLogTarget, runWithJobLogState, type JobLogState } from '../job-log-context.js';
import { ProgressPublisher } from '../progress-publisher.js';
import type { JobOutcomeLabel, WorkerMetrics } from '../worker-metrics.js';

export type CatalogueJob = Job<unknown, JobOutputs[JobType], string>;

export interface ProcessorDeps {
  config: Pick<WorkerConfig, 'core' | 'environments' | 'cancelPollMs' | 'progressIntervalMs' | 'targetBusyDelayMs' | 'workerName'>;
  /** a normal connection for the cancel key */
  redis: Redis;
  /** names the queue's keys (the Worker) */
  queue: { toKey(type: string): string };
  logger: Logger;
  /** records attempts, durations and moved bytes (absent in tests that do not look) */
  metrics?: Pick<WorkerMetrics, 'jobStarted'>;
  /** called when an attempt ended, whatever the outcome (the metrics publisher pushes soon after) */
  onJobEnded?: () => void;
  /** queues the follow-up reindex of a write whose own reindex did not finish */
  enqueue: FollowUpEnqueuer;
}

/** A write's output (sync, import, restore): the commit and the reindex after it. */
function isWriteOutcome(outcome: object): outcome is { reindex: ReindexJobSummary; warnings: string[]; target: string; targetWritten: boolean } {
  return 'targetWritten' in outcome && 'reindex' in outcome && 'warnings' in outcome && 'target' in outcome;
}

/** The outcome label of an attempt that threw, from what settleFailure made of it. */
function outcomeOf(settled: Error): JobOutcomeLabel {
  if (settled.name === 'WaitingError') return 'requeued';
  if (settled.name === 'DelayedError') return 'delayed';
  if (settled.name === 'UnrecoverableError') return /^CANCELLED: /.test(settled.message) ? 'cancelled' : 'failed';
  return 'retry';
}

/**
 * The one processor for every job type: validates the payload and runs the catalogue's adapter with a signal
 * that fires on cancel (pub/sub via Worker#cancelJob, or the polled cancel key) and on shutdown; maps the
 * outcome with settleFailure. Declared with three parameters: BullMQ only passes a signal to such processors.
 */
export function createJobProcessor(deps: ProcessorDeps) {
  // every line of a job carries jobId, target and (through the mixin of job-log-context) its current phase
  return (job: CatalogueJob, token: string | undefined, signal: AbortSignal | undefined): Promise<JobOutputs[JobType]> => {
    const logState: JobLogState = { phase: 'start' };
    return runWithJobLogState(logState, () => processJob(deps, logState, job, token, signal));
  };
}

async function processJob(deps: ProcessorDeps, logState: JobLogState, job: CatalogueJob, token: string | undefined, signal: AbortSignal | undefined): Promise<JobOutputs[JobType]> {
  const attempt = job.attemptsMade + 1;
  const jobId = job.id ?? '';
  const source = (job.data as { source?: unknown } | null)?.source;
  const log = deps.logger.child({ jobId, queue: job.queueName, type: job.name, attempt, target: jobLogTarget(job.name, job.data), ...(typeof source === 'string' ? { source } : {}) });
  const recorder = deps.metrics?.jobStarted(job.name);
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
  const commits = new CommitRecorder({ redis: deps.redis, queue: deps.queue, environments: deps.config.environments, enqueue: deps.enqueue, log }, { id: jobId, type: job.name, payload: job.data });
  log.info('job started');
  try {
    // an earlier attempt committed (its worker died after the commit): the target is written, never copy again
    const earlier = await commits.earlier();
    let outcome: Awaited<ReturnType<typeof runCatalogueJob>>;
    if (earlier.committed) {
      outcome = await commits.resume(earlier);
    } else {
      await cancelWatch.check();
      if (controller.signal.aborted) throw new Error('cancelled before start');
      // STALL_TIMEOUT_SECONDS: a dead network fails the attempt with JOBS_STALLED (retried) instead of hanging it
      outcome = await watchForStalls({ timeoutMs: deps.config.core.stallTimeoutMs, signal: controller.signal, label: `job ${jobId}` }, (watch) => runCatalogueJob(job.name, job.data, {
        environments: deps.config.environments,
        config: deps.config.core,
        signal: watch.signal,
        scope: watch.scope,
        onProgress: (p) => {
          watch.progress(p.phase);
          // phases only move forward (see ProgressPublisher.push)
          if (p.phases.indexOf(p.phase) >= p.phases.indexOf(logState.phase as (typeof p.phases)[number])) logState.phase = p.phase;
          recorder?.progress(p);
          progress.push(p);
        },
        onCommitted: (commit) => commits.onCommitted(commit),
        // the job's own child logger: what dump and search-index log carries the job id
        logger: log,
      }));
      // a write whose reindex failed (or was stopped by a shutdown) completes; the reindex is queued on its own
      if (isWriteOutcome(outcome)) {
        const shutdown = controller.signal.aborted && isShutdownReason(controller.signal.reason);
        outcome = await commits.followUp(outcome, shutdown);
      }
    }
    await progress.flush();
    cancelWatch.stop();
    await cancelWatch.clear();
    const finishedAt = new Date().toISOString();
    log.info({ durationMs: Date.parse(finishedAt) - Date.parse(startedAt) }, 'job completed');
    const output = { ...outcome, attempt, startedAt, finishedAt, worker: deps.config.workerName } as JobOutputs[JobType];
    recorder?.finished('completed', output);
    return output;
  } catch (error) {
    cancelWatch.stop();
    await progress.flush();
    const settled = await settleFailure(error, {
      job,
      token,
      abortReason: controller.signal.aborted ? controller.signal.reason : undefined,
      targetBusyDelayMs: deps.config.targetBusyDelayMs,
      committed: commits.committed,
      log,
    });
    if (settled.name === 'UnrecoverableError') await cancelWatch.clear();
    recorder?.finished(outcomeOf(settled));
    throw settled;
  } finally {
    cancelWatch.stop();
    signal?.removeEventListener('abort', onBullAbort);
    deps.onJobEnded?.();
  }
}
