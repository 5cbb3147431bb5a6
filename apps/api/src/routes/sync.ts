import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configuredCollectionNames, definedFields, enqueueJob, syncRequest, type JobPayloads, type JobType } from '@mbsync/jobs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { ApiConfig } from '../config.js';
import { resolveDumpFile } from '../dump-files.js';
import { assertWritable, resolveEnvironment } from '../environment-access.js';
import { ApiError } from '../http-errors.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { JobAccepted } from '../schemas/jobs.js';
import { ExportBody, ImportBody, ReindexBody, SyncBody } from '../schemas/sync.js';

export interface RouteOptions {
  config: Readonly<ApiConfig>;
}

/** Enqueues a validated payload and answers like every job-starting route (202). */
export async function startJob<T extends JobType>(app: FastifyInstance, type: T, payload: JobPayloads[T]): Promise<Static<typeof JobAccepted>> {
  await app.jobQueue.ensureConnected();
  const id = await enqueueJob(app.jobQueue.queue, type, payload);
  return {
    id,
    type,
    state: 'waiting',
    createdAt: new Date().toISOString(),
    links: { self: `/api/jobs/${id}`, cancel: `/api/jobs/${id}`, ws: '/ws' },
  };
}

const accepted = <B extends TSchema>(operationId: string, summary: string, description: string, body: B, extra: number[] = []) => ({
  operationId,
  tags: ['sync'],
  summary,
  description,
  body,
  response: { 202: JobAccepted, ...errors(400, 403, 404, ...extra, 429, ...AUTH_ERRORS) },
});

/** True when a file (or its manifest) is already at `path`. */
async function exists(path: string): Promise<boolean> {
  const found = async (p: string) => stat(p).then(() => true, () => false);
  return (await found(path)) || (await found(`${path}.manifest.json`));
}

const REINDEX_NOTE = ' When the target has Typesense, its collections are rebuilt last (unless `skipReindex`); a failed reindex does not fail the job: see `result.reindex` and `result.warnings`.';

/** POST /api/sync/export|import|sync|reindex: validate names, guard the target, enqueue. */
export const syncRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const mutating = { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } };

  app.post('/api/sync/export', {
    config: mutating,
    schema: accepted('startExport', 'Export an environment to a dump file', 'Writes `file` (or a generated name) into the dump directory; an existing dump is never overwritten (409 API_DUMP_EXISTS, or DUMP_OUTPUT_EXISTS when another export took the name meanwhile). Files are mode 0600. Reads only.', ExportBody, [409]),
  }, async (request, reply) => {
    const { from, ...options } = request.body;
    const source = resolveEnvironment(config.environments, from);
    if (options.file && (await exists(join(config.core.dumpDirectory, options.file)))) {
      throw new ApiError('API_DUMP_EXISTS', `body/file: the dump "${options.file}" already exists; dumps are never overwritten (choose another name, or leave it out for a generated one)`, { details: { field: 'body/file' } });
    }
    return reply.status(202).send(await startJob(app, 'export', definedFields({ source: source.name, ...options })));
  });

  app.post('/api/sync/import', {
    config: mutating,
    schema: accepted('startImport', 'Import a dump file into an environment', `The target is backed up first (unless noBackup). Protected targets need the server to allow them and \`confirm\`.${REINDEX_NOTE}`, ImportBody),
  }, async (request, reply) => {
    const { to, confirm, ...options } = request.body;
    const target = resolveEnvironment(config.environments, to);
    assertWritable(target, config.core, confirm);
    await resolveDumpFile(config.core.dumpDirectory, options.file);
    return reply.status(202).send(await startJob(app, 'import', definedFields({ target: target.name, confirm, ...options })));
  });

  app.post('/api/sync/sync', {
    config: mutating,
    schema: accepted('startSync', 'Copy one environment into another', `export → validate → backup → import → verify → reindex, streamed inside one worker.${REINDEX_NOTE}`, SyncBody),
  }, async (request, reply) => {
    const { from, to, confirm, ...options } = request.body;
    const source = resolveEnvironment(config.environments, from);
    const target = resolveEnvironment(config.environments, to);
    if (source.name === target.name) throw new ApiError('API_BAD_REQUEST', 'body/to must differ from body/from', { details: { field: 'body/to' } });
    assertWritable(target, config.core, confirm);
    return reply.status(202).send(await startJob(app, 'sync', syncRequest(source.name, target.name, { confirm, ...options })));
  });

  app.post('/api/sync/reindex', {
    config: mutating,
    schema: accepted('startReindex', "Rebuild an environment's Typesense collections", 'Needs a Typesense server configured for the environment. Every collection is built and checked first; then the aliases move together (or, on a failure, none does).', ReindexBody),
  }, async (request, reply) => {
    const { to, confirm, collections } = request.body;
    const target = resolveEnvironment(config.environments, to);
    if (!target.typesense) throw new ApiError('API_TYPESENSE_NOT_CONFIGURED', `environment "${target.name}" has no Typesense server (set ${target.name.toUpperCase()}_TYPESENSE_URL)`, { details: { field: 'body/to' } });
    const known = configuredCollectionNames(config.core);
    const unknown = (collections ?? []).filter((name) => !known.includes(name));
    if (unknown.length > 0) throw new ApiError('API_BAD_REQUEST', `body/collections: no collection spec named ${unknown.join(', ')} (known: ${known.join(', ')})`, { details: { field: 'body/collections', known } });
    // the search index of a protected environment is as protected as its database
    assertWritable(target, config.core, confirm);
    return reply.status(202).send(await startJob(app, 'reindex', definedFields({ environment: target.name, collections })));
  });
};
