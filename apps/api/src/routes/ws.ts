import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listJobViews, loadJobView } from '../job-view.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { Type } from 'typebox';
import { WS_PROTOCOL_SUMMARY } from '../plugins/swagger.js';
import { WsTicket } from '../schemas/health.js';
import { WsInfo } from '../schemas/ws.js';
import { WsSession, type JobSource } from '../ws-session.js';
import type { RouteOptions } from './sync.js';

/** How many unfinished jobs an all-subscription's snapshot holds. */
const SNAPSHOT_LIMIT = 100;

/** GET /ws (WebSocket, authenticated before the upgrade by the auth hook) and POST /api/ws-ticket. */
export const wsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const { jobQueue } = app;
  const store = { queue: jobQueue.queue, redis: jobQueue.redis };
  const source: JobSource = {
    async load(jobId) {
      await jobQueue.ensureConnected();
      return loadJobView(store, jobId);
    },
    async unfinished() {
      await jobQueue.ensureConnected();
      const [active, waiting, delayed] = await Promise.all(
        (['active', 'waiting', 'delayed'] as const).map((state) => listJobViews(store, { state, offset: 0, limit: SNAPSHOT_LIMIT })),
      );
      return [...active!.jobs, ...waiting!.jobs, ...delayed!.jobs].slice(0, SNAPSHOT_LIMIT);
    },
  };

  // A WebSocket upgrade runs the session; a plain GET (no upgrade) says how to open one, so the route is an
  // ordinary documented operation with a 2xx answer for generated clients.
  app.route({
    method: 'GET',
    url: '/ws',
    schema: {
      operationId: 'openWebSocket',
      tags: ['system'],
      summary: 'WebSocket: live job states and progress',
      description: `Upgrade to a WebSocket (authenticated before the upgrade: API key header or ?ticket=). Without an upgrade, a plain GET answers how to connect. ${WS_PROTOCOL_SUMMARY}`,
      querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 200, description: 'single-use ticket from POST /api/ws-ticket (browsers)' })) }, { additionalProperties: false }),
      response: { 101: { description: 'switching protocols: the socket is open' }, 200: WsInfo, ...errors(400, ...AUTH_ERRORS) },
    },
    handler: async () => ({
      upgrade: 'websocket' as const,
      path: '/ws',
      authentication: 'an API key header (Authorization: Bearer or x-api-key), or ?ticket= from POST /api/ws-ticket',
      messages: 'see the description of this operation, or apps/api/README-protocol.md',
    }),
    wsHandler: (socket, request) => {
      new WsSession(socket, app.jobFeed, source, request.log);
    },
  });

  app.post('/api/ws-ticket', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      operationId: 'createWsTicket',
      tags: ['system'],
      summary: 'A single-use ticket for /ws?ticket= (browsers cannot send headers on a WebSocket)',
      description: `Valid for ${config.wsTicketTtlSeconds} s, once.`,
      response: { 200: WsTicket, ...errors(429, ...AUTH_ERRORS) },
    },
  }, async () => app.wsTickets.issue());
};
