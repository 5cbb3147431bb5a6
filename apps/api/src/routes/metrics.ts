import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../http-errors.js';
import { keyMatcher, presentedKey } from '../plugins/auth.js';
import { errors } from '../schemas/common.js';
import { MetricsText } from '../schemas/metrics.js';
import type { RouteOptions } from './sync.js';

/**
 * GET /metrics: Prometheus text format. Answers `Authorization: Bearer <METRICS_TOKEN>` (a token that can only
 * read metrics, for the scraper) or any API key; everything else gets 401.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const matches = keyMatcher([...config.apiKeys, ...(config.metricsToken ? [config.metricsToken] : [])]);
  app.get('/metrics', {
    // the API-key check of every route is replaced by this route's own, which also takes METRICS_TOKEN
    config: { public: true },
    schema: {
      operationId: 'getMetrics',
      tags: ['system'],
      summary: 'Prometheus metrics of the api and every live worker',
      description: 'Text exposition format 0.0.4. Needs `Authorization: Bearer <METRICS_TOKEN>` or an API key.',
      response: { 200: { description: 'the metrics', content: { 'text/plain': { schema: MetricsText } } }, ...errors(401) },
    },
    onRequest: async (request, reply) => {
      const key = presentedKey(request);
      if (key !== null && matches(key)) return;
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError('API_UNAUTHORIZED', key === null ? 'missing token: send "Authorization: Bearer <METRICS_TOKEN or API key>"' : 'invalid metrics token');
    },
  }, async (_request, reply) => {
    const text = await app.metrics.render();
    return reply.type(app.metrics.contentType).send(text);
  });
};
