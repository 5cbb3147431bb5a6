import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../schemas/common.js';
import { Health, Ready } from '../schemas/health.js';
import type { RouteOptions } from './sync.js';

/** GET /health (liveness, open), GET /ready (Redis answers within READY_TIMEOUT_MS → 200, else 503). */
export const healthRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  app.get('/health', {
    config: { public: true },
    schema: {
      operationId: 'getHealth',
      tags: ['system'],
      summary: 'Liveness (no API key needed)',
      description: 'Takes no parameters (anything else answers 400). 503 while the api shuts down.',
      security: [],
      querystring: Type.Object({}, { additionalProperties: false }),
      response: { 200: Health, ...errors(400, 503) },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/ready', {
    schema: { operationId: 'getReadiness', tags: ['system'], summary: 'Readiness: Redis reachable', response: { 200: Ready, 503: Ready, ...errors(401) } },
  }, async (_request, reply) => {
    const redis = await app.jobQueue.ping(config.readyTimeoutMs);
    return reply.status(redis ? 200 : 503).send({ status: redis ? 'ready' : 'unavailable', redis });
  });
};
