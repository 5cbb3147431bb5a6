import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  /** failed authentications per client IP and window; beyond that the failures are answered 429 */
  failureLimit?: { max: number; windowMs: number };
}

/** Largest number of client addresses whose failures are remembered (oldest forgotten first). */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Counts failed authentications per client address in fixed windows. Only failures count: a request with a
 * valid key is never refused or slowed by this, whatever its address did before (so a flood of wrong keys
 * from a shared address cannot lock the real clients out; keys are too long to guess anyway).
 */
export function failureCounter(limit: { max: number; windowMs: number }, now: () => number = Date.now) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    /** Records a failure; returns the ms until the window ends when the address is over its limit, else 0. */
    hit(address: string): number {
      const t = now();
      let entry = windows.get(address);
      if (!entry || entry.resetAt <= t) {
        windows.delete(address);
        // entries are in the order their windows started, so the first ones end first: drop those that
        // ended, and the oldest when too many addresses are remembered (amortised O(1) per failure)
        for (const [key, value] of windows) {
          if (value.resetAt > t && windows.size < MAX_TRACKED_ADDRESSES) break;
          windows.delete(key);
        }
        entry = { count: 0, resetAt: t + limit.windowMs };
        windows.set(address, entry);
      }
      entry.count++;
      return entry.count > limit.max ? entry.resetAt - t : 0;
    },
    get size() {
      return windows.size;
    },
  };
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

  const failures = options.failureLimit ? failureCounter(options.failureLimit) : null;
  /** 401 — or 429 once the client's address has failed too often in the current window. */
  const refuse = (request: FastifyRequest, reply: FastifyReply, message: string): ApiError => {
    const waitMs = failures?.hit(request.ip) ?? 0;
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      reply.header('retry-after', String(seconds));
      return new ApiError('API_RATE_LIMITED', `too many failed authentications from this address: retry in ${seconds} s`, { details: { retryAfterMs: waitMs } });
    }
    reply.header('www-authenticate', 'Bearer');
    return unauthorized(message);
  };

  // onRequest runs before the WebSocket upgrade, so /ws is authenticated before any socket exists
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public === true) return;
    const key = presentedKey(request);
    if (key !== null) {
      if (matches(key)) return;
      throw refuse(request, reply, 'invalid API key');
    }
    const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
    if (request.ws && request.routeOptions.url === '/ws' && typeof ticket === 'string') {
      if (await tickets.redeem(ticket)) return;
      throw refuse(request, reply, 'invalid or expired WebSocket ticket');
    }
    throw refuse(request, reply, 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"');
  });
}

/** API-key authentication of every route but the public ones, and WebSocket tickets. Not encapsulated. */
export const auth = Object.assign(authPlugin, { [Symbol.for('skip-override')]: true });
