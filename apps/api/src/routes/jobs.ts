import { readJobRecord, requestCancel } from '@mbsync/jobs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../http-errors.js';
import { retryJob } from '../job-retry.js';
import { isJobId, listJobViews, loadJobView, type JobStore } from '../job-view.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { CancelResult, JobList, JobListQuery, JobParams, RetryAccepted } from '../schemas/jobs.js';
import { Confirm } from '../schemas/sync.js';
import type { RouteOptions } from './sync.js';

/** GET /api/jobs, GET /api/jobs/:id, DELETE /api/jobs/:id (cancel), POST /api/jobs/:id/retry. */
export const jobRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const { jobQueue } = app;
  const store: JobStore = { queue: jobQueue.queue, redis: jobQueue.redis };
  const notFound = (id: string) => new ApiError('API_JOB_NOT_FOUND', `no job "${id}"`);

  app.get('/api/jobs', {
    schema: {
      operationId: 'listJobs',
      tags: ['jobs'],
      summary: 'List jobs, newest first',
      description: 'Jobs cancelled before they started are listed as `cancelled`, like those cancelled while running.',
      querystring: JobListQuery,
      response: { 200: JobList, ...errors(400, ...AUTH_ERRORS) },
    },
  }, async (request) => {
    await jobQueue.ensureConnected();
    const { jobs, total } = await listJobViews(store, request.query);
    return { jobs, total, offset: request.query.offset, limit: request.query.limit };
  });

  app.get('/api/jobs/:id', {
    schema: {
      operationId: 'getJob',
      tags: ['jobs'],
      summary: 'One job: state, progress, result or error, whether its import committed',
      params: JobParams,
      response: { 200: { $ref: 'JobView#' }, ...errors(400, 404, ...AUTH_ERRORS) },
    },
  }, async (request) => {
    await jobQueue.ensureConnected();
    const view = await loadJobView(store, request.params.id);
    if (!view) throw notFound(request.params.id);
    return view;
  });

  app.delete('/api/jobs/:id', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      operationId: 'cancelJob',
      tags: ['jobs'],
      summary: 'Cancel a job',
      description:
        'A waiting or delayed job will not run (200, removed; it stays in the history as `cancelled`). A running job is told to stop (202, cancelling): it rolls back and ends `cancelled`. ' +
        'Once its import committed (`targetWritten` on the job) the target is written and a cancel would undo nothing: 409 API_JOB_COMMITTED, and the job finishes its last steps; ' +
        'a cancel that crosses the commit stops only the reindex (the job completes with `result.reindex.status` cancelled). A finished job answers 409 API_JOB_FINISHED.',
      params: JobParams,
      response: { 200: CancelResult, 202: CancelResult, ...errors(400, 404, 409, 429, ...AUTH_ERRORS) },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    if (!isJobId(id)) throw notFound(id);
    await jobQueue.ensureConnected();
    const outcome = await requestCancel({ queue: jobQueue.queue, redis: jobQueue.redis, retention: config.history }, id, 'cancelled over the api');
    if (outcome === 'not-found') throw notFound(id);
    if (outcome === 'finished') throw new ApiError('API_JOB_FINISHED', `job "${id}" has already finished`);
    if (outcome === 'committed') {
      const record = await readJobRecord(jobQueue.redis, jobQueue.queue, id);
      const backup = record.backupId ? ` (backup ${record.backupId})` : '';
      throw new ApiError(
        'API_JOB_COMMITTED',
        `job "${id}" already committed its import at ${record.committedAt ?? 'an earlier moment'}${backup}: the target is written and a cancel would not undo it; the job finishes its remaining steps`,
        { details: { targetWritten: true, committedAt: record.committedAt ?? null, backupId: record.backupId ?? null } });
    }
    if (outcome === 'removed') return reply.status(200).send({ id, outcome, state: 'cancelled' });
    return reply.status(202).send({ id, outcome, state: 'active' });
  });

  app.post('/api/jobs/:id/retry', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      operationId: 'retryJob',
      tags: ['jobs'],
      summary: 'Run a failed or cancelled job again, with the same payload',
      description:
        'Starts a new job with the payload of a failed or cancelled one (the checks of a new request run again), and links the two (`related.retryOf` / `related.retriedBy`). ' +
        'A job that is not failed or cancelled, or was already retried, answers 409 API_JOB_NOT_RETRYABLE. `confirm` is needed only for a reindex of a protected environment.',
      params: JobParams,
      body: Type.Object({ confirm: Type.Optional(Confirm) }, { additionalProperties: false, description: 'optional: POST with no body at all is the usual call' }),
      response: { 202: RetryAccepted, ...errors(400, 403, 404, 409, 429, ...AUTH_ERRORS) },
    },
    // a retry is usually sent without a body
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request, reply) => {
    const { id } = request.params;
    if (!isJobId(id)) throw notFound(id);
    await jobQueue.ensureConnected();
    return reply.status(202).send(await retryJob(app, config, id, request.body.confirm));
  });
};
