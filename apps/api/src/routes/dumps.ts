import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { dumpManifestSummary, listDumpFiles, resolveDumpFile } from '../dump-files.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { DumpList, DumpParams } from '../schemas/dumps.js';
import type { RouteOptions } from './sync.js';

/** GET /api/dumps (list), GET /api/dumps/:name (streamed download). */
export const dumpRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  const directory = config.core.dumpDirectory;

  app.get('/api/dumps', {
    schema: { operationId: 'listDumps', tags: ['files'], summary: 'Dump files in the dump directory, newest first', response: { 200: DumpList, ...errors(...AUTH_ERRORS) } },
  }, async () => {
    const files = await listDumpFiles(directory);
    const dumps = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: f.bytes, modifiedAt: f.modifiedAt, manifest: await dumpManifestSummary(f.path) })));
    return { dumps };
  });

  app.get('/api/dumps/:name', {
    schema: {
      operationId: 'downloadDump',
      tags: ['files'],
      summary: 'Download a dump file (streamed)',
      description: 'The name must be a plain file name from GET /api/dumps; anything with a path answers 400.',
      params: DumpParams,
      response: {
        200: {
          description: 'the dump file',
          content: {
            'application/sql': { schema: Type.String({ contentMediaType: 'application/sql' }) },
            'application/gzip': { schema: Type.String({ contentMediaType: 'application/gzip' }) },
          },
        },
        ...errors(400, 404, ...AUTH_ERRORS),
      },
    },
  }, async (request, reply) => {
    const file = await resolveDumpFile(directory, request.params.name);
    const stream = createReadStream(file.path);
    return reply
      .header('content-type', file.name.endsWith('.gz') ? 'application/gzip' : 'application/sql')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${file.name}"`)
      .send(stream as never);
  });
};
