import { compareSchemas } from '@mbsync/execution';
import { renderReport } from '@mbsync/schema-diff';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { resolveEnvironment } from '../environment-access.js';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { SchemaDiffQuery, SchemaDiffResult } from '../schemas/schema-diff.js';
import type { RouteOptions } from './sync.js';

/** GET /api/schema/diff?from=&to=: what an import from → to would do (the execution package reads both; the api does no database I/O). */
export const schemaDiffRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  app.get('/api/schema/diff', {
    schema: {
      operationId: 'diffSchemas',
      tags: ['schema'],
      summary: 'Compare the schemas of two environments',
      description: 'Reads both catalogs (read-only transactions), lists what differs and whether a replace or data-only import from `from` into `to` is possible.',
      querystring: SchemaDiffQuery,
      response: { 200: SchemaDiffResult, ...errors(400, 422, 502, ...AUTH_ERRORS) },
    },
  }, async (request) => {
    const from = resolveEnvironment(config.environments, request.query.from);
    const to = resolveEnvironment(config.environments, request.query.to);
    const schemas = request.query.schemas?.split(',').map((s) => s.trim());
    const { changes, verdict, targetRowCounts } = await compareSchemas(
      { kind: 'database', environment: from }, { kind: 'database', environment: to }, { selection: schemas ? { schemas } : {}, applicationName: 'mbsync api schema-diff' },
    );
    return {
      from: from.name,
      to: to.name,
      // before/after hold whole catalog objects: the report and `detail` say what differs
      changes: changes.map(({ before: _b, after: _a, ...change }) => change),
      verdict,
      targetRowCounts,
      report: renderReport(changes, verdict),
    };
  });
};
