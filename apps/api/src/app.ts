import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiConfig } from './config.js';
import { ApiError, installErrorHandlers, sendError } from './http-errors.js';
import { loggerOptions } from './logger.js';
import { auth } from './plugins/auth.js';
import { metricsSupport } from './plugins/metrics.js';
import { queues } from './plugins/queues.js';
import { openApi } from './plugins/swagger.js';
import { websocketSupport } from './plugins/websocket.js';
import { backupRoutes } from './routes/backups.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { dumpRoutes } from './routes/dumps.js';
import { environmentRoutes } from './routes/environments.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { schemaDiffRoutes } from './routes/schema-diff.js';
import { syncRoutes } from './routes/sync.js';
import { wsRoutes } from './routes/ws.js';
import { rejectUrls } from './url-guard.js';

export interface BuildAppOptions {
  config: Readonly<ApiConfig>;
  /** false: no logging (tests); default: pino at config.logLevel with credentials and URLs redacted */
  logger?: boolean;
  /** where log lines go (default stdout); tests read them to prove what is never logged */
  logStream?: { write(line: string): void };
  /** WebSocket ping interval (default 30 s) */
  heartbeatMs?: number;
}

/** TRUST_PROXY=<n>: the n proxies nearest to the api are trusted (proxy-addr's hop count). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** Request bodies are small JSON documents (names and options). */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Builds the api (routes, plugins, hooks) without listening: main.ts listens, tests inject. Closing the app
 * closes its sockets (1001) and its Redis connections.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger === false ? false : { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: BODY_LIMIT_BYTES,
    // unknown properties are refused (400 naming them), not silently dropped
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // behind nginx (TRUST_PROXY): request.ip and request.protocol come from X-Forwarded-For / -Proto
    // (a hop count as the function fastify would build from it: its types do not list numbers)
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // a path parameter may be longer than the longest id (200): the schema refuses it in the error shape
    routerOptions: { maxParamLength: 256 },
    // the router's own refusals (a parameter beyond that, a malformed URL) in the one error shape too
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, error);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandlers(app);
  // order matters: the WebSocket plugin marks upgrade requests (request.ws) before auth's onRequest hook reads it
  await app.register(queues, { redisUrl: config.redisUrl, queuePrefix: config.queuePrefix, connectTimeoutMs: Math.max(config.readyTimeoutMs, 2_000) });
  // before every route: its onResponse hook times them all
  await app.register(metricsSupport, { redisTimeoutMs: Math.max(config.readyTimeoutMs, 1_000) });
  await app.register(websocketSupport, { maxMessageBytes: config.wsMaxMessageBytes, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
  await app.register(auth, {
    apiKeys: config.apiKeys,
    ticketTtlSeconds: config.wsTicketTtlSeconds,
    keyPrefix: config.queuePrefix,
    // failed authentications share the mutating routes' budget per client address
    failureLimit: { max: config.rateLimit.max, windowMs: config.rateLimit.timeWindowMs },
  });
  await app.register(helmet, { global: true });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new ApiError('API_RATE_LIMITED', `too many requests: retry in ${context.after}`, { details: { retryAfterMs: context.ttl } }),
  });
  app.addHook('preValidation', rejectUrls);
  await app.register(openApi);

  const routeOptions = { config };
  await app.register(healthRoutes, routeOptions);
  await app.register(environmentRoutes, routeOptions);
  await app.register(syncRoutes, routeOptions);
  await app.register(jobRoutes, routeOptions);
  await app.register(dumpRoutes, routeOptions);
  await app.register(backupRoutes, routeOptions);
  await app.register(schemaDiffRoutes, routeOptions);
  await app.register(wsRoutes, routeOptions);
  await app.register(dashboardRoutes, routeOptions);
  await app.register(metricsRoutes, routeOptions);
  return app;
}
