import type { JobOutputs, JobProgressUpdate, JobType, WorkerMetricsKeys } from '@mbsync/jobs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a job attempt ended, as the `outcome` label says it. */
export type JobOutcomeLabel =
  | 'completed'
  | 'failed'
  | 'cancelled'
  /** a transient failure: BullMQ retries it while attempts remain */
  | 'retry'
  /** the target was busy: delayed without using an attempt */
  | 'delayed'
  /** the worker shut down: put back in the queue */
  | 'requeued';

/** What the processor tells the metrics about one attempt. */
export interface JobRecorder {
  progress(update: Pick<JobProgressUpdate, 'phase' | 'table' | 'rowsDone'>): void;
  finished(outcome: JobOutcomeLabel, output?: JobOutputs[JobType]): void;
}

/** Job durations from a second to a few hours. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

/** Bytes and rows a finished job moved, per phase, read from its output. */
function movedBy(output: JobOutputs[JobType]): { phase: string; bytes: number; rows: number }[] {
  switch (output.type) {
    case 'export':
      return [{ phase: 'export', bytes: output.fileBytes, rows: output.rows }];
    case 'sync':
      return [
        { phase: 'export', bytes: output.export.dataBytes, rows: output.export.rows },
        { phase: 'import', bytes: output.import.bytesRead, rows: output.import.rows },
      ];
    case 'import':
    case 'restore':
      return [{ phase: 'import', bytes: output.import.bytesRead, rows: output.import.rows }];
    case 'backup':
      return [{ phase: 'backup', bytes: output.fileBytes, rows: output.rows }];
    default:
      return [];
  }
}

/**
 * The metrics of one worker process, in its own prom-client registry with a `worker` label on every series
 * (so workers stay apart when the api sums their snapshots). Process metrics are prefixed `mbsync_worker_`.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #runs: Counter<'type' | 'outcome'>;
  readonly #duration: Histogram<'type' | 'outcome'>;
  readonly #bytes: Counter<'type' | 'phase'>;
  readonly #rows: Counter<'type' | 'phase'>;
  readonly #documents: Counter<'collection'>;
  readonly #running: Gauge<'type'>;

  constructor(workerName: string, concurrency: number) {
    this.registry.setDefaultLabels({ worker: workerName });
    const registers = [this.registry];
    this.#runs = new Counter({ name: 'mbsync_job_attempts_total', help: 'Job attempts that ended, by job type and outcome', labelNames: ['type', 'outcome'], registers });
    this.#duration = new Histogram({ name: 'mbsync_job_duration_seconds', help: 'Duration of job attempts, by job type and outcome', labelNames: ['type', 'outcome'], buckets: DURATION_BUCKETS, registers });
    this.#bytes = new Counter({ name: 'mbsync_job_bytes_total', help: 'Bytes moved by completed jobs: export = dump bytes, import = dump bytes read, backup = backup file bytes', labelNames: ['type', 'phase'], registers });
    this.#rows = new Counter({ name: 'mbsync_job_rows_total', help: 'Rows moved by completed jobs, by job type and phase', labelNames: ['type', 'phase'], registers });
    this.#documents = new Counter({ name: 'mbsync_typesense_documents_total', help: 'Documents sent to Typesense by reindexes, by collection', labelNames: ['collection'], registers });
    this.#running = new Gauge({ name: 'mbsync_worker_jobs_running', help: 'Jobs this worker is running now, by type', labelNames: ['type'], registers });
    new Gauge({ name: 'mbsync_worker_concurrency', help: 'Jobs this worker runs at once at most (WORKER_CONCURRENCY)', registers }).set(concurrency);
    collectDefaultMetrics({ register: this.registry, prefix: 'mbsync_worker_' });
  }

  /** Starts recording one attempt of a job. */
  jobStarted(type: string): JobRecorder {
    const started = process.hrtime.bigint();
    const documents = new Map<string, number>();
    this.#running.inc({ type });
    let done = false;
    return {
      progress: (update) => {
        // reindex progress: `table` is the collection, `rowsDone` its documents so far
        if (update.phase === 'reindex' && update.table) documents.set(update.table, Math.max(documents.get(update.table) ?? 0, update.rowsDone));
      },
      finished: (outcome, output) => {
        if (done) return;
        done = true;
        this.#running.dec({ type });
        this.#runs.inc({ type, outcome });
        this.#duration.observe({ type, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
        for (const [collection, n] of documents) if (n > 0) this.#documents.inc({ collection }, n);
        if (outcome !== 'completed' || !output) return;
        for (const m of movedBy(output)) {
          this.#bytes.inc({ type, phase: m.phase }, m.bytes);
          this.#rows.inc({ type, phase: m.phase }, m.rows);
        }
      },
    };
  }
}

/** How long the last push at shutdown may take. */
const STOP_TIMEOUT_MS = 2_000;

export interface MetricsPublisher {
  /** publishes soon (coalesced): after a job ended */
  nudge(): void;
  /** publishes once more and stops */
  stop(): Promise<void>;
}

/**
 * Pushes the worker's snapshot into Redis every `intervalMs` (and soon after each job), under a key that
 * expires after three intervals, so the api's /metrics serves every live worker on every machine.
 */
export function publishWorkerMetrics(metrics: WorkerMetrics, redis: Redis, keys: WorkerMetricsKeys, workerName: string, intervalMs: number, log: Logger): MetricsPublisher {
  const ttlMs = Math.max(3 * intervalMs, 5_000);
  let busy: Promise<void> | null = null;
  let lastFailure = 0;
  const push = (): Promise<void> => {
    busy ??= (async () => {
      try {
        const snapshot = JSON.stringify(await metrics.registry.getMetricsAsJSON());
        const now = Date.now();
        await redis.multi().set(keys.snapshot(workerName), snapshot, 'PX', ttlMs).zadd(keys.index, now, workerName).zremrangebyscore(keys.index, 0, now - ttlMs).exec();
      } catch (error) {
        // Redis away: the next push retries; one line a minute at most
        if (Date.now() - lastFailure > 60_000) log.warn({ err: { message: (error as Error).message } }, 'could not publish worker metrics');
        lastFailure = Date.now();
      } finally {
        busy = null;
      }
    })();
    return busy;
  };
  const timer = setInterval(() => void push(), intervalMs);
  timer.unref();
  let soon: NodeJS.Timeout | null = null;
  void push();
  return {
    nudge() {
      soon ??= setTimeout(() => {
        soon = null;
        void push();
      }, 200);
      soon.unref();
    },
    async stop() {
      clearInterval(timer);
      if (soon) clearTimeout(soon);
      // bounded: with Redis away a command waits for the reconnect, and shutdown must not
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([(async () => {
        await busy;
        await push();
      })(), new Promise((resolve) => (timeout = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
      clearTimeout(timeout);
    },
  };
}
