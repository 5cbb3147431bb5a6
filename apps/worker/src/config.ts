import { hostname } from 'node:os';
import { type CoreConfig, type Environments, JobsError, loadCoreConfig, loadEnvironments, readConfiguredSpecs } from '@mbsync/jobs';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

type Env = Readonly<Record<string, string | undefined>>;

/** The worker's own variables, after defaults and number conversion. */
const WorkerSettings = Type.Object({
  REDIS_URL: Type.String({ pattern: '^rediss?://' }),
  QUEUE_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 100 }),
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64 }),
  WORKER_SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0 }),
  JOB_HISTORY_MAX_AGE_SECONDS: Type.Integer({ minimum: 1 }),
  JOB_HISTORY_MAX_COUNT: Type.Integer({ minimum: 1 }),
  WORKER_LOCK_DURATION_MS: Type.Integer({ minimum: 1000 }),
  WORKER_STALLED_INTERVAL_MS: Type.Integer({ minimum: 500 }),
  WORKER_MAX_STALLED_COUNT: Type.Integer({ minimum: 0 }),
  WORKER_CANCEL_POLL_MS: Type.Integer({ minimum: 100 }),
  WORKER_TARGET_BUSY_DELAY_MS: Type.Integer({ minimum: 100 }),
  WORKER_PROGRESS_INTERVAL_MS: Type.Integer({ minimum: 50 }),
  WORKER_METRICS_INTERVAL_MS: Type.Integer({ minimum: 200 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
});
type WorkerSettings = Static<typeof WorkerSettings>;

const DEFAULTS: Record<keyof WorkerSettings, string> = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'mbsync',
  WORKER_CONCURRENCY: '2',
  WORKER_SHUTDOWN_GRACE_MS: '30000',
  JOB_HISTORY_MAX_AGE_SECONDS: '604800',
  JOB_HISTORY_MAX_COUNT: '1000',
  WORKER_LOCK_DURATION_MS: '30000',
  WORKER_STALLED_INTERVAL_MS: '30000',
  WORKER_MAX_STALLED_COUNT: '2',
  WORKER_CANCEL_POLL_MS: '2000',
  WORKER_TARGET_BUSY_DELAY_MS: '10000',
  WORKER_PROGRESS_INTERVAL_MS: '250',
  WORKER_METRICS_INTERVAL_MS: '10000',
  LOG_LEVEL: 'info',
};

const TEXT_SETTINGS: ReadonlySet<string> = new Set(['REDIS_URL', 'QUEUE_PREFIX', 'LOG_LEVEL']);

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

/** Reads and validates the worker's variables (plus the core ones and the environments); every problem at once. */
export function loadWorkerConfig(env: Env): Readonly<WorkerConfig> {
  const raw: Record<string, unknown> = {};
  for (const [name, fallback] of Object.entries(DEFAULTS)) {
    const value = env[name]?.trim() || fallback;
    raw[name] = TEXT_SETTINGS.has(name) ? value : /^-?\d+$/.test(value) ? Number(value) : value;
  }
  const errors = Value.Errors(WorkerSettings, raw).map((e) => {
    const name = e.instancePath.replace(/^\//, '') || 'configuration';
    // the Redis URL may hold a password: never echo it
    const shown = name === 'REDIS_URL' ? '' : ` (got "${String(raw[name])}")`;
    return `${name} ${e.message}${shown}`;
  });
  // the pattern says redis:// or rediss://; a URL that does not parse past it fails here, named, not echoed
  if (typeof raw.REDIS_URL === 'string' && /^rediss?:\/\//.test(raw.REDIS_URL) && !URL.canParse(raw.REDIS_URL)) {
    errors.push('REDIS_URL cannot be parsed as a URL (check the host and port; encode special characters of the password, e.g. @ as %40)');
  }
  const collect = <T>(read: () => T): T | null => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof JobsError)) throw error;
      errors.push(...((error.details?.errors as string[] | undefined) ?? [error.message]));
      return null;
    }
  };
  const core = collect(() => loadCoreConfig(env));
  const environments = collect(() => loadEnvironments(env));
  // TYPESENSE_SPECS_FILE: read and validated now, so a bad file stops the worker instead of its first reindex
  const searchSpecs = collect(() => readConfiguredSpecs(env));
  if (errors.length > 0 || !core || !environments) throw new WorkerConfigError([...new Set(errors)]);
  const s = raw as WorkerSettings;
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
    production: env.NODE_ENV?.trim() === 'production',
    workerName: `${hostname()}:${process.pid}`,
    core: Object.freeze({ ...core, searchSpecs }),
    environments,
  });
}
