import { redactSecrets } from '@mbsync/jobs';
import type { FastifyRequest } from 'fastify';
import { stdSerializers, type LoggerOptions } from 'pino';

/**
 * Paths pino replaces with "[redacted]": credentials in headers, and every field that may hold a URL
 * (connection strings, Redis URLs) wherever a log call puts it.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.authorization',
  '*["x-api-key"]',
  '*.cookie',
  '*.apiKey',
  '*.apiKeys',
  '*.databaseUrl',
  '*.redisUrl',
  '*.url',
  '*.ticket',
  'apiKey',
  'apiKeys',
  'databaseUrl',
  'redisUrl',
  'ticket',
];

/** The request as logged: no headers, and the path without its query string (a query may hold a ticket or a URL). */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, path: request.url.split('?')[0], remoteAddress: request.ip };
}

/** Errors as logged: pino's serializer, then any `scheme://user:password@` or `password=` removed. */
function errorForLog(error: Error): Record<string, unknown> {
  const out = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack'] as const) if (typeof out[key] === 'string') out[key] = redactSecrets(out[key]);
  return out;
}

/** Pino options of the api's logger (fastify builds the logger from them). */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: {
      req: requestForLog as unknown as (value: unknown) => unknown,
      err: errorForLog as (value: unknown) => unknown,
    },
  };
}

/**
 * Human-readable log lines for a person at a terminal (main.ts uses it only when stdout is a TTY); the redaction
 * applies before the lines get here. Elsewhere (PM2's log files, collectors) lines stay JSON, one per line.
 * Loaded on demand: a service under PM2 never pays for pino-pretty's start-up.
 */
export async function prettyLogStream(): Promise<{ write(line: string): void }> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}
