import { isIP } from 'node:net';
import { type CoreConfig, CoreSettings, coreConfigFrom, SERVICE_SECRETS, ServiceSettings, type Environments, readServiceParts } from '@mbsync/jobs';
import { readVariables } from '@mbsync/settings';
import { Type } from 'typebox';

type Env = Readonly<Record<string, string | undefined>>;

/** Shortest API key accepted: 32 characters (e.g. `openssl rand -hex 16`), so keys cannot be guessed. */
export const MIN_API_KEY_LENGTH = 32;

/** The api's variables, defaults included: its own, the ones it shares with the worker, the core ones every app reads. */
const ApiSettings = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, maxLength: 255, default: '127.0.0.1' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 30 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 100, default: 60_000 }),
  WS_TICKET_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  WS_MAX_MESSAGE_BYTES: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 4096 }),
  READY_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 500 }),
  API_SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  API_KEYS: Type.Optional(Type.String()),
  API_KEY: Type.Optional(Type.String()),
  METRICS_TOKEN: Type.Optional(Type.String()),
  TRUST_PROXY: Type.Optional(Type.String()),
  ...ServiceSettings.properties,
  ...CoreSettings.properties,
});

/** Values never shown in a problem line: the Redis URL may hold a password; keys and tokens are secrets. */
const SECRET_SETTINGS = [...SERVICE_SECRETS, 'API_KEYS', 'API_KEY', 'METRICS_TOKEN'];

export interface ApiConfig {
  port: number;
  host: string;
  /** secrets: never log them. Several keys are accepted at once so they can be rotated without downtime. */
  apiKeys: readonly string[];
  /** secret (may hold a password): never log it */
  redisUrl: string;
  /** secret: a bearer token that may read GET /metrics and nothing else (null: API keys only) */
  metricsToken: string | null;
  /** must equal the workers' QUEUE_PREFIX */
  queuePrefix: string;
  rateLimit: { max: number; timeWindowMs: number };
  wsTicketTtlSeconds: number;
  wsMaxMessageBytes: number;
  readyTimeoutMs: number;
  shutdownGraceMs: number;
  /** the workers' history limits, also applied to jobs cancelled before they started (kept by the api) */
  history: { maxAgeSeconds: number; maxCount: number };
  /**
   * TRUST_PROXY: which proxies' X-Forwarded-For / -Proto are believed (request.ip for rate limits and logs).
   * false (default): none; true: any; a number: that many hops; addresses/CIDRs: those (fastify's trustProxy)
   */
  trustProxy: boolean | number | string[];
  logLevel: string;
  /** NODE_ENV=production: log lines are JSON even on a terminal */
  production: boolean;
  core: Readonly<CoreConfig>;
  /** secret URLs inside: only names, flags and `typesense` presence ever leave the process */
  environments: Environments;
}

/** Bad api configuration; `errors` lists every problem (never a secret value). */
export class ApiConfigError extends Error {
  readonly code = 'API_CONFIG_INVALID';
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`invalid api configuration:\n  ${errors.join('\n  ')}`);
    this.name = 'ApiConfigError';
    this.errors = errors;
  }
}

/**
 * API_KEYS (comma-separated, several to rotate without downtime) and API_KEY (one key, as many `.env` files have
 * it): both are read, and every key of either is accepted.
 */
function parseApiKeys(listedText: string | undefined, singleText: string | undefined, errors: string[]): string[] {
  const listed = (listedText ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  const single = singleText?.trim() ?? '';
  if (listed.length === 0 && single === '') {
    errors.push('no API key: set API_KEY to one key (e.g. `openssl rand -hex 32`), or API_KEYS to several, comma-separated (to rotate them)');
    return [];
  }
  // the key itself is never echoed: only its variable and position
  const check = (key: string, where: string) => {
    if (key.length < MIN_API_KEY_LENGTH) errors.push(`${where} is shorter than ${MIN_API_KEY_LENGTH} characters`);
    if (/\s/.test(key)) errors.push(`${where} contains whitespace`);
  };
  listed.forEach((key, i) => check(key, `API_KEYS key #${i + 1}`));
  if (single !== '') check(single, 'API_KEY');
  return [...listed, ...(single === '' ? [] : [single])];
}

/** TRUST_PROXY as fastify's trustProxy: true/false, a hop count, or addresses and CIDR ranges. */
function parseTrustProxy(raw: string | undefined, errors: string[]): boolean | number | string[] {
  const text = (raw ?? '').trim();
  if (text === '' || /^(false|0|no)$/i.test(text)) return false;
  if (/^(true|yes)$/i.test(text)) return true;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const bad = entries.filter((e) => !named.has(e) && isIP(e.split('/')[0] ?? '') === 0);
  if (bad.length > 0) errors.push(`TRUST_PROXY must be true, false, a number of hops, or comma-separated addresses/CIDR ranges (loopback, linklocal and uniquelocal are known too); not understood: ${bad.join(', ')}`);
  return entries;
}

/**
 * Reads and validates the api's variables through its one schema (plus the environments and the specs file);
 * every problem at once, each named, no secret echoed; frozen.
 */
export function loadApiConfig(env: Env): Readonly<ApiConfig> {
  const { settings: s, problems } = readVariables(ApiSettings, env, { secret: SECRET_SETTINGS });
  const errors = [...problems];
  const apiKeys = parseApiKeys(s.API_KEYS, s.API_KEY, errors);
  const trustProxy = parseTrustProxy(s.TRUST_PROXY, errors);
  const metricsToken = s.METRICS_TOKEN || null;
  // like the API keys: long enough not to be guessed, and never echoed
  if (metricsToken !== null && (metricsToken.length < MIN_API_KEY_LENGTH || /\s/.test(metricsToken))) errors.push(`METRICS_TOKEN must be at least ${MIN_API_KEY_LENGTH} characters without whitespace`);
  // the Redis URL, the environments and the collection specs, read as the other service reads them
  const { environments, searchSpecs } = readServiceParts(s, env, errors);
  if (errors.length > 0 || !environments) throw new ApiConfigError([...new Set(errors)]);
  return Object.freeze({
    port: s.PORT,
    host: s.HOST,
    apiKeys: Object.freeze([...new Set(apiKeys)]),
    redisUrl: s.REDIS_URL,
    metricsToken,
    queuePrefix: s.QUEUE_PREFIX,
    rateLimit: Object.freeze({ max: s.RATE_LIMIT_MAX, timeWindowMs: s.RATE_LIMIT_WINDOW_MS }),
    wsTicketTtlSeconds: s.WS_TICKET_TTL_SECONDS,
    wsMaxMessageBytes: s.WS_MAX_MESSAGE_BYTES,
    readyTimeoutMs: s.READY_TIMEOUT_MS,
    shutdownGraceMs: s.API_SHUTDOWN_GRACE_MS,
    history: Object.freeze({ maxAgeSeconds: s.JOB_HISTORY_MAX_AGE_SECONDS, maxCount: s.JOB_HISTORY_MAX_COUNT }),
    trustProxy: Array.isArray(trustProxy) ? Object.freeze([...trustProxy]) as string[] : trustProxy,
    logLevel: s.LOG_LEVEL,
    production: s.NODE_ENV === 'production',
    core: Object.freeze({ ...coreConfigFrom(s), searchSpecs }),
    environments,
  });
}
