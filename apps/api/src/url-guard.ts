import type { FastifyRequest } from 'fastify';
import { ApiError } from './http-errors.js';

/** `scheme://…` or a libpq keyword/value string (`host=… user=…`): connection strings, which HTTP never accepts. */
const URL_LIKE = /^\s*[a-z][a-z0-9+.-]*:\/\/|\b(host|hostaddr|user|password|dbname|sslmode)\s*=/i;

/** The path (`body/from`) of the first string value that looks like a URL or a connection string, or null. */
export function findUrlLike(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return URL_LIKE.test(value) ? path : null;
  if (depth > 8 || value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const found = findUrlLike(item, `${path}/${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * preValidation hook: refuses a request that carries a URL anywhere in its body, query or params, with a message
 * that names the field but never echoes the value (it may hold a password).
 */
export async function rejectUrls(request: FastifyRequest): Promise<void> {
  const field = findUrlLike(request.body, 'body') ?? findUrlLike(request.query, 'querystring') ?? findUrlLike(request.params, 'params');
  if (field) {
    throw new ApiError('API_URL_NOT_ACCEPTED', `${field} looks like a connection URL: name a configured environment instead (GET /api/environments)`, { details: { field } });
  }
}
