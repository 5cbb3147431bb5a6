import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** true: the route answers without an API key (only /health) */
    public?: boolean;
  }
  interface FastifyInstance {
    wsTickets: WsTickets;
  }
}

/** Short-lived single-use WebSocket tickets, kept in Redis (any api process can redeem them) as hashes only. */
export interface WsTickets {
  issue(): Promise<{ ticket: string; expiresAt: string }>;
  /** true once for a valid, unexpired ticket; it is gone afterwards */
  redeem(ticket: string): Promise<boolean>;
}

export interface AuthPluginOptions {
  apiKeys: readonly string[];
  ticketTtlSeconds: number;
  /** the queue prefix: tickets live under `<prefix>:api:ws-ticket:` */
  keyPrefix: string;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Constant-time check of a presented key against every configured key: digests have equal lengths whatever
 * was sent, timingSafeEqual compares them, and every key is compared (no early exit reveals which matched).
 */
export function keyMatcher(apiKeys: readonly string[]): (presented: string) => boolean {
  const digests = apiKeys.map(sha256);
  return (presented) => {
    const candidate = sha256(presented);
    let ok = false;
    for (const digest of digests) ok = timingSafeEqual(candidate, digest) || ok;
    return ok;
  };
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (m) return m[1]!;
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header.trim();
  return null;
}

const unauthorized = (message: string) => new ApiError('API_UNAUTHORIZED', message);

async function authPlugin(app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const matches = keyMatcher(options.apiKeys);
  const ticketKey = (ticket: string) => `${options.keyPrefix}:api:ws-ticket:${sha256(ticket).toString('hex')}`;

  const tickets: WsTickets = {
    async issue() {
      await app.jobQueue.ensureConnected();
      const ticket = randomBytes(32).toString('base64url');
      await app.jobQueue.redis.set(ticketKey(ticket), '1', 'EX', options.ticketTtlSeconds);
      return { ticket, expiresAt: new Date(Date.now() + options.ticketTtlSeconds * 1000).toISOString() };
    },
    async redeem(ticket) {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return false;
      await app.jobQueue.ensureConnected();
      // GETDEL: read and delete in one step, so a ticket opens one socket only
      return (await app.jobQueue.redis.getdel(ticketKey(ticket))) !== null;
    },
  };
  app.decorate('wsTickets', tickets);

  // onRequest runs before the WebSocket upgrade, so /ws is authenticated before any socket exists
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public === true) return;
    const key = presentedKey(request);
    if (key !== null) {
      if (matches(key)) return;
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized('invalid API key');
    }
    const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
    if (request.ws && request.routeOptions.url === '/ws' && typeof ticket === 'string') {
      if (await tickets.redeem(ticket)) return;
      throw unauthorized('invalid or expired WebSocket ticket');
    }
    reply.header('www-authenticate', 'Bearer');
    throw unauthorized('missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"');
  });
}

/** API-key authentication of every route but the public ones, and WebSocket tickets. Not encapsulated. */
export const auth = Object.assign(authPlugin, { [Symbol.for('skip-override')]: true });
