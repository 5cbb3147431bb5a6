import { redactSecrets } from '@mbsync/jobs';
import { pino, stdSerializers, type Logger } from 'pino';
import { jobLogMixin } from './job-log-context.js';

/** Fields that may hold a connection string or a key, wherever a log call puts them. */
const REDACT_PATHS: readonly string[] = ['databaseUrl', 'redisUrl', 'url', 'apiKey', 'password', '*.databaseUrl', '*.redisUrl', '*.url', '*.apiKey', '*.password'];

function errorForLog(error: Error): Record<string, unknown> {
  const out = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack'] as const) if (typeof out[key] === 'string') out[key] = redactSecrets(out[key]);
  return out;
}

export interface WorkerLoggerOptions {
  level: string;
  workerName: string;
  /** where lines go: default stdout, as JSON; main.ts passes `await prettyLogStream()` when stdout is a terminal */
  stream?: { write(line: string): void };
}

/**
 * The worker's root logger: JSON lines with pid and worker name; inside a job, the job's child bindings
 * (jobId, type, target…) plus its current phase (jobLogMixin). Fields that may hold a URL or a key are
 * replaced by "[redacted]", and `scheme://user:password@` is cut out of error messages and stacks.
 */
export function createWorkerLogger(options: WorkerLoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { pid: process.pid, worker: options.workerName },
    mixin: jobLogMixin,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: errorForLog },
  };
  return options.stream ? pino(settings, options.stream) : pino(settings);
}

/** pino-pretty for a person at a terminal, loaded on demand (a worker under PM2 never loads it). */
export async function prettyLogStream(): Promise<{ write(line: string): void }> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}
