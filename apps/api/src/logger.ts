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
