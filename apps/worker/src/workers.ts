import { enqueueJob, JOB_QUEUE, workerMetricsKeys } from '@mbsync/jobs';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { SHUTDOWN_REASON, listenForCancels } from './cancellation.js';
import type { WorkerConfig } from './config.js';
import { createJobProcessor, type CatalogueJob } from './processors/job-processor.js';
import { WorkerMetrics, publishWorkerMetrics } from './worker-metrics.js';

export interface JobWorker {
  worker: Worker;
  metrics: WorkerMetrics;
  /**
   * Stops taking jobs, lets running jobs finish for `shutdownGraceMs`, then aborts them so they go back to the
   * queue, and closes every connection. Resolves when done; never rejects.
   */
  shutdown(): Promise<void>;
}

/** How long to wait for aborted jobs to roll back before closing anyway (they are then picked up as stalled). */
const ABORT_WAIT_MS = 15_000;

/** Starts a BullMQ worker on the job queue with its cancel listener. Connections: one normal, one subscriber. */
export async function startJobWorker(config: Readonly<WorkerConfig>, logger: Logger): Promise<JobWorker> {
  // maxRetriesPerRequest null: commands wait for a reconnect instead of failing (BullMQ requires it for workers)
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, connectionName: `mbsync-worker:${config.workerName}` });
  const subscriber = redis.duplicate();
  const onRedisError = (which: string) => (error: Error) => logger.warn({ connection: which, err: { message: error.message, code: (error as { code?: string }).code } }, 'redis connection error');
  redis.on('error', onRedisError('main'));
  subscriber.on('error', onRedisError('subscriber'));

  // the processor names keys through the worker, which exists before any job runs
  const keys = { toKey: (type: string) => worker.toKey(type) };
  const metrics = new WorkerMetrics(config.workerName, config.concurrency);
  let metricsPublisher: ReturnType<typeof publishWorkerMetrics> | null = null;
  // follow-up jobs (a reindex after a write whose own reindex failed) go on the same queue
  const producer = new Queue(JOB_QUEUE, { connection: redis, prefix: config.queuePrefix });
  producer.on('error', (error) => logger.warn({ err: { message: error.message } }, 'queue error'));
  const enqueue = (type: 'reindex', payload: { environment: string }) => enqueueJob(producer, type, payload);
  const processor = createJobProcessor({ config, redis, queue: keys, logger, metrics, enqueue, onJobEnded: () => metricsPublisher?.nudge() });
  const worker: Worker = new Worker(JOB_QUEUE, (job: CatalogueJob, token, signal) => processor(job, token, signal), {
    connection: redis,
    prefix: config.queuePrefix,
    name: config.workerName,
    concurrency: config.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
    removeOnComplete: { age: config.history.age, count: config.history.count },
    removeOnFail: { age: config.history.age, count: config.history.count },
    autorun: false,
  });
  worker.on('error', (error) => logger.warn({ err: { message: error.message } }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId, queue: JOB_QUEUE }, 'job stalled (its worker vanished); moved back to the queue'));
  worker.on('lockRenewalFailed', (jobIds) => logger.warn({ jobIds }, 'job lock renewal failed'));

  const stopListening = await listenForCancels(subscriber, keys, (jobId, reason) => {
    if (worker.cancelJob(jobId, reason)) logger.info({ jobId, queue: JOB_QUEUE }, 'cancel requested');
  }, logger);
  void worker.run().catch((error: unknown) => logger.error({ err: error }, 'worker stopped'));
  await worker.waitUntilReady();
  metricsPublisher = publishWorkerMetrics(metrics, redis, workerMetricsKeys(keys), config.workerName, config.metricsIntervalMs, logger);
  logger.info({ queue: JOB_QUEUE, prefix: config.queuePrefix, concurrency: config.concurrency }, 'worker ready');

  let closing: Promise<void> | null = null;
  return {
    worker,
    metrics,
    shutdown() {
      closing ??= (async () => {
        logger.info({ graceMs: config.shutdownGraceMs }, 'shutting down: no new jobs');
        const closed = worker.close();
        const grace = setTimeout(() => {
          logger.info('grace period over: stopping running jobs, they go back to the queue');
          worker.cancelAllJobs(SHUTDOWN_REASON);
        }, config.shutdownGraceMs);
        let hardStop: NodeJS.Timeout | undefined;
        await Promise.race([
          closed.catch((error: unknown) => logger.warn({ err: error }, 'worker close failed')),
          new Promise<void>((resolve) => {
            hardStop = setTimeout(() => {
              logger.warn('running jobs did not stop in time; leaving them to the stalled-job check');
              resolve();
            }, config.shutdownGraceMs + ABORT_WAIT_MS);
          }),
        ]);
        clearTimeout(grace);
        clearTimeout(hardStop);
        await stopListening();
        // the last snapshot holds the jobs that just ended; it expires like any other
        await metricsPublisher?.stop();
        await producer.close().catch(() => {});
        await Promise.allSettled([subscriber.quit(), redis.quit()]);
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}
