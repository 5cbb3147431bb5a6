import { requestCancel } from '@mbsync/jobs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../http-errors.js';
import { listJobViews, loadJobView } from '../job-view.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { CancelResult, JobList, JobListQuery, JobParams } from '../schemas/jobs.js';
import type { RouteOptions } from './sync.js';

/** GET /api/jobs, GET /api/jobs/:id, DELETE /api/jobs/:id (cancel). */
export const jobRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const { jobQueue } = app;

  app.get('/api/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'List jobs, newest first',
      querystring: JobListQuery,
      response: { 200: JobList, ...errors(400, ...AUTH_ERRORS) },
    },
  }, async (request) => {
    await jobQueue.ensureConnected();
    const { jobs, total } = await listJobViews(jobQueue.queue, request.query);
    return { jobs, total, offset: request.query.offset, limit: request.query.limit };
  });

  app.get('/api/jobs/:id', {
    schema: {
      tags: ['jobs'],
      summary: 'One job: state, progress, result or error',
      params: JobParams,
      response: { 200: { $ref: 'JobView#' }, ...errors(400, 404, ...AUTH_ERRORS) },
    },
  }, async (request) => {
    await jobQueue.ensureConnected();
    const view = await loadJobView(jobQueue.queue, request.params.id);
    if (!view) throw new ApiError('API_JOB_NOT_FOUND', `no job "${request.params.id}"`);
    return view;
  });

  app.delete('/api/jobs/:id', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a job',
      description: 'A waiting or delayed job is removed (200, cancelled). A running job is told to stop (202, cancelling): it rolls back and ends `cancelled`. A finished job answers 409.',
      params: JobParams,
      response: { 200: CancelResult, 202: CancelResult, ...errors(400, 404, 409, 429, ...AUTH_ERRORS) },
    },
  }, async (request, reply) => {
    await jobQueue.ensureConnected();
    const { id } = request.params;
    const outcome = await requestCancel({ queue: jobQueue.queue, redis: jobQueue.redis }, id, 'cancelled over the api');
    if (outcome === 'not-found') throw new ApiError('API_JOB_NOT_FOUND', `no job "${id}"`);
    if (outcome === 'finished') throw new ApiError('API_JOB_FINISHED', `job "${id}" has already finished`);
    if (outcome === 'removed') return reply.status(200).send({ id, outcome, state: 'cancelled' });
    return reply.status(202).send({ id, outcome, state: 'active' });
  });
};
