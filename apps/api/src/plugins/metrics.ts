import { JOB_TYPES, parseWorkerMetrics, type WorkerMetric, workerMetricsKeys } from '@mbsync/jobs';
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

export interface ApiMetrics {
  /** the api's own registry (HTTP, queue, process) */
  registry: Registry;
  /** content type of the text `render` returns (Prometheus text format 0.0.4) */
  contentType: string;
  /** the api's metrics, the queue's state read now, and every live worker's last snapshot, in one text */
  render(): Promise<string>;
}

export interface MetricsPluginOptions {
  /** how long the queue and snapshot reads of a scrape may take before the scrape answers without them */
  redisTimeoutMs: number;
}

/** States getJobCounts reports; `mbsync_queue_depth` adds up those of jobs not yet running. */
const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed'] as const;
const WAITING_STATES = ['waiting', 'prioritized', 'delayed'] as const;
/** Unfinished states counted per job type (finished ones are the workers' mbsync_job_attempts_total). */
const TYPED_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;
/** At most this many jobs per state are read to count unfinished jobs by type. */
const TYPED_SCAN_LIMIT = 1000;

/** HTTP request durations up to a minute (dump downloads can take longer and land in +Inf). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)))]).finally(() => clearTimeout(timer));
}

async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'mbsync_api_' });
  const http = new Histogram({
    name: 'mbsync_http_request_duration_seconds',
    help: 'HTTP requests served by the api, by method, route (the pattern, not the path) and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
    registers,
  });
  const redisUp = new Gauge({ name: 'mbsync_redis_up', help: '1 when the api read the queue from Redis for this scrape, else 0', registers });
  // read from Redis at each scrape, and left out of it when Redis did not answer (rather than reported as 0)
  const queueRegistry = new Registry();
  const queueRegisters = [queueRegistry];
  const queueJobs = new Gauge({ name: 'mbsync_queue_jobs', help: 'Jobs in the queue by BullMQ state (completed and failed: the kept history)', labelNames: ['state'], registers: queueRegisters });
  const queueDepth = new Gauge({ name: 'mbsync_queue_depth', help: 'Jobs waiting to run (waiting + prioritized + delayed)', registers: queueRegisters });
  const jobsByType = new Gauge({ name: 'mbsync_jobs', help: 'Unfinished jobs by state and job type', labelNames: ['state', 'type'], registers: queueRegisters });
  const workers = new Gauge({ name: 'mbsync_workers', help: 'Worker processes connected to the queue (BullMQ getWorkers)', registers: queueRegisters });
  const snapshots = new Gauge({ name: 'mbsync_worker_snapshots', help: 'Workers whose metrics snapshot this scrape includes', registers });

  app.addHook('onResponse', async (request, reply) => {
    // the route pattern keeps the label set small; unmatched paths (404s, scanners) share one value
    const route = request.routeOptions.url ?? 'unmatched';
    http.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const keys = workerMetricsKeys(app.jobQueue.queue);

  async function readQueue(): Promise<void> {
    const queue = app.jobQueue.queue;
    await app.jobQueue.ensureConnected(options.redisTimeoutMs);
    const counts = await queue.getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) queueJobs.set({ state }, counts[state] ?? 0);
    queueDepth.set(WAITING_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0));
    jobsByType.reset();
    for (const state of TYPED_STATES) {
      for (const type of JOB_TYPES) jobsByType.set({ state, type }, 0);
      if (!counts[state]) continue;
      for (const job of await queue.getJobs([state], 0, TYPED_SCAN_LIMIT - 1)) if (job) jobsByType.inc({ state, type: job.name });
    }
    // CLIENT LIST may be refused by a managed Redis: the gauge is then left out rather than wrong
    workers.reset();
    await queue.getWorkers().then((list) => workers.set(list.length), () => {});
  }

  async function readSnapshots(): Promise<WorkerMetric[][]> {
    const redis = app.jobQueue.redis;
    const names = await redis.zrange(keys.index, 0, -1);
    if (names.length === 0) return [];
    const texts = await redis.mget(...names.map((n) => keys.snapshot(n)));
    const gone = names.filter((_, i) => texts[i] === null);
    if (gone.length) await redis.zrem(keys.index, ...gone);
    return texts.filter((t): t is string => t !== null).map(parseWorkerMetrics);
  }

  const metrics: ApiMetrics = {
    registry,
    contentType: registry.contentType,
    async render() {
      let fromWorkers: WorkerMetric[][] = [];
      let up = false;
      try {
        [, fromWorkers] = await withTimeout(Promise.all([readQueue(), readSnapshots()]), options.redisTimeoutMs);
        up = true;
      } catch {
        // Redis away: serve what the api knows itself, without stale queue figures
      }
      redisUp.set(up ? 1 : 0);
      snapshots.set(fromWorkers.length);
      const own = [await registry.getMetricsAsJSON(), ...(up ? [await queueRegistry.getMetricsAsJSON()] : [])];
      // summed by label set: the workers' series carry a `worker` label each, the api's names are its own
      const merged = AggregatorRegistry.aggregate([...own, ...(fromWorkers as unknown as MetricObjectWithValues<MetricValue<string>>[][])]);
      return merged.metrics();
    },
  };
  app.decorate('metrics', metrics);
}

/** Prometheus metrics of the api and, through Redis, of every worker. Not encapsulated (HTTP hook on every route). */
export const metricsSupport = Object.assign(metricsPlugin, { [Symbol.for('skip-override')]: true });
