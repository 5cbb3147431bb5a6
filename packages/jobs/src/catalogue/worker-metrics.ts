import type { QueueKeys } from './queue-keys.js';

/**
 * Where workers leave their metrics for the api: each worker SETs a snapshot (prom-client's
 * `getMetricsAsJSON()`, as JSON) under its own key with a TTL, and records its name with the time in a sorted
 * set. The api reads the recent ones and serves them, summed by label set, on GET /metrics. A worker that
 * vanishes drops out when its key expires.
 */
export interface WorkerMetricsKeys {
  /** sorted set: member = worker name, score = time of its last snapshot (ms) */
  index: string;
  snapshot(workerName: string): string;
}

export function workerMetricsKeys(queue: QueueKeys): WorkerMetricsKeys {
  return {
    index: queue.toKey('metrics:workers'),
    snapshot: (workerName) => queue.toKey(`metrics:worker:${workerName}`),
  };
}

/** Snapshots larger than this are ignored by the api (a worker's is a few kB). */
export const WORKER_METRICS_CONTENT_LIMIT_BYTES = 1 << 20;

/** One metric of a snapshot, the shape of prom-client's MetricObjectWithValues. */
export interface WorkerMetric {
  name: string;
  help: string;
  type: string;
  aggregator: 'sum';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Parses a stored snapshot; anything malformed is dropped rather than breaking /metrics. Every metric is summed
 * across workers (aggregator forced to `sum`): per-worker series stay apart through their `worker` label.
 */
export function parseWorkerMetrics(text: string | null): WorkerMetric[] {
  if (text === null || text.length > WORKER_METRICS_CONTENT_LIMIT_BYTES) return [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const out: WorkerMetric[] = [];
  for (const m of data as Record<string, unknown>[]) {
    if (typeof m?.name !== 'string' || !METRIC_NAME.test(m.name) || typeof m.type !== 'string' || !TYPES.has(m.type) || !Array.isArray(m.values)) continue;
    const values = (m.values as Record<string, unknown>[])
      .filter((v) => typeof v?.value === 'number' && typeof v.labels === 'object' && v.labels !== null)
      .map((v) => ({ value: v.value as number, labels: v.labels as Record<string, string | number>, ...(typeof v.metricName === 'string' ? { metricName: v.metricName } : {}) }));
    out.push({ name: m.name, help: typeof m.help === 'string' ? m.help : m.name, type: m.type, aggregator: 'sum', values });
  }
  return out;
}
