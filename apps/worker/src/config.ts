import { hostname } from 'node:os';
import { type CoreConfig, CoreSettings, coreConfigFrom, SERVICE_SECRETS, ServiceSettings, type Environments, readServiceParts } from '@mbsync/jobs';
import { readVariables } from '@mbsync/settings';
import { Type } from 'typebox';

type Env = Readonly<Record<string, string | undefined>>;

/** The worker's variables, defaults included: its own, the ones it shares with the api, the core ones every app reads. */
const WorkerSettings = Type.Object({
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  WORKER_SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  WORKER_LOCK_DURATION_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  WORKER_STALLED_INTERVAL_MS: Type.Integer({ minimum: 500, default: 30_000 }),
  WORKER_MAX_STALLED_COUNT: Type.Integer({ minimum: 0, default: 2 }),
  WORKER_CANCEL_POLL_MS: Type.Integer({ minimum: 100, default: 2000 }),
  WORKER_TARGET_BUSY_DELAY_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  WORKER_PROGRESS_INTERVAL_MS: Type.Integer({ minimum: 50, default: 250 }),
  WORKER_METRICS_INTERVAL_MS: Type.Integer({ minimum: 200, default: 10_000 }),
  ...ServiceSettings.properties,
  ...CoreSettings.properties,
});

export interface WorkerConfig {
  /** secret (may hold a password): never log it */
  redisUrl: string;
  queuePrefix: string;
  concurrency: number;
  shutdownGraceMs: number;
  history: { age: number; count: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  cancelPollMs: number;
  targetBusyDelayMs: number;
  progressIntervalMs: number;
  /** how often the worker pushes its metrics snapshot into Redis for the api's /metrics */
  metricsIntervalMs: number;
  logLevel: string;
  /** NODE_ENV=production: log lines are JSON even on a terminal (see .env.example) */
  production: boolean;
  /** `<hostname>:<pid>`, stored on jobs and in their results */
  workerName: string;
  core: Readonly<CoreConfig>;
  environments: Environments;
}

/** Bad worker configuration; `errors` lists every problem. */
export class WorkerConfigError extends Error {
  readonly code = 'WORKER_CONFIG_INVALID';
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`invalid worker configuration:\n  ${errors.join('\n  ')}`);
    this.name = 'WorkerConfigError';
    this.errors = errors;
  }
}

/**
 * Reads and validates the worker's variables through its one schema (plus the environments and the specs file);
 * every problem at once, each named, the Redis URL never echoed.
 */
export function loadWorkerConfig(env: Env): Readonly<WorkerConfig> {
  const { settings: s, problems } = readVariables(WorkerSettings, env, { secret: SERVICE_SECRETS });
  const errors = [...problems];
  // the Redis URL, the environments and the collection specs, read as the other service reads them
  const { environments, searchSpecs } = readServiceParts(s, env, errors);
  if (errors.length > 0 || !environments) throw new WorkerConfigError([...new Set(errors)]);
  return Object.freeze({
    redisUrl: s.REDIS_URL,
    queuePrefix: s.QUEUE_PREFIX,
    concurrency: s.WORKER_CONCURRENCY,
    shutdownGraceMs: s.WORKER_SHUTDOWN_GRACE_MS,
    history: Object.freeze({ age: s.JOB_HISTORY_MAX_AGE_SECONDS, count: s.JOB_HISTORY_MAX_COUNT }),
    lockDurationMs: s.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: s.WORKER_STALLED_INTERVAL_MS,
    maxStalledCount: s.WORKER_MAX_STALLED_COUNT,
    cancelPollMs: s.WORKER_CANCEL_POLL_MS,
    targetBusyDelayMs: s.WORKER_TARGET_BUSY_DELAY_MS,
    progressIntervalMs: s.WORKER_PROGRESS_INTERVAL_MS,
    metricsIntervalMs: s.WORKER_METRICS_INTERVAL_MS,
    logLevel: s.LOG_LEVEL,
    production: s.NODE_ENV === 'production',
    workerName: `${hostname()}:${process.pid}`,
    core: Object.freeze({ ...coreConfigFrom(s), searchSpecs }),
    environments,
  });
}
