import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listJobViews, loadJobView } from '../job-view.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { WsTicket } from '../schemas/health.js';
import { WsSession, type JobSource } from '../ws-session.js';
import type { RouteOptions } from './sync.js';

/** How many unfinished jobs an all-subscription's snapshot holds. */
const SNAPSHOT_LIMIT = 100;

/** GET /ws (WebSocket, authenticated before the upgrade by the auth hook) and POST /api/ws-ticket. */
export const wsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const { jobQueue } = app;
  const source: JobSource = {
    async load(jobId) {
      await jobQueue.ensureConnected();
      return loadJobView(jobQueue.queue, jobId);
    },
    async unfinished() {
      await jobQueue.ensureConnected();
      const [active, waiting, delayed] = await Promise.all(
        (['active', 'waiting', 'delayed'] as const).map((state) => listJobViews(jobQueue.queue, { state, offset: 0, limit: SNAPSHOT_LIMIT })),
      );
      return [...active!.jobs, ...waiting!.jobs, ...delayed!.jobs].slice(0, SNAPSHOT_LIMIT);
    },
  };

  app.get('/ws', { websocket: true }, (socket, request) => {
    new WsSession(socket, app.jobFeed, source, request.log);
  });

  app.post('/api/ws-ticket', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      tags: ['system'],
      summary: 'A single-use ticket for /ws?ticket= (browsers cannot send headers on a WebSocket)',
      description: `Valid for ${config.wsTicketTtlSeconds} s, once.`,
      response: { 200: WsTicket, ...errors(429, ...AUTH_ERRORS) },
    },
  }, async () => app.wsTickets.issue());
};
