import { findBackup, listBackups } from '@mbsync/dump';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { assertWritable, resolveEnvironment } from '../environment-access.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { BackupList, BackupParams, RestoreBody } from '../schemas/dumps.js';
import { JobAccepted } from '../schemas/jobs.js';
import { startJob, type RouteOptions } from './sync.js';

/** GET /api/backups, POST /api/backups/:id/restore. */
export const backupRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const directory = config.core.backupDirectory;

  app.get('/api/backups', {
    schema: { operationId: 'listBackups', tags: ['files'], summary: 'Backups taken before imports, newest first', response: { 200: BackupList, ...errors(...AUTH_ERRORS) } },
  }, async () => {
    // the absolute file path stays on the server
    const backups = (await listBackups(directory)).map(({ file: _file, ...rest }) => rest);
    return { backups };
  });

  app.post('/api/backups/:id/restore', {
    config: { rateLimit: { max: config.rateLimit.max, timeWindow: config.rateLimit.timeWindowMs } },
    schema: {
      operationId: 'restoreBackup',
      tags: ['files'],
      summary: 'Restore a backup into its environment (or `to`)',
      description: 'A restore job: the schemas the backup holds are replaced in one transaction (the current state is backed up first, unless noBackup), then the Typesense collections are rebuilt when the environment has Typesense (unless skipReindex).',
      params: BackupParams,
      body: RestoreBody,
      response: { 202: JobAccepted, ...errors(400, 403, 404, 429, ...AUTH_ERRORS) },
    },
  }, async (request, reply) => {
    const backup = await findBackup(directory, request.params.id);
    const { to, ...write } = request.body ?? {};
    const target = resolveEnvironment(config.environments, to ?? backup.target);
    assertWritable(target, config.core, write.confirm);
    const payload = { backupId: backup.id, target: target.name, ...write };
    return reply.status(202).send(await startJob(app, 'restore', payload));
  });
};
