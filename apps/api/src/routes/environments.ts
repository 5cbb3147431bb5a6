import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, errors } from '../schemas/common.js';
import { EnvironmentList } from '../schemas/environments.js';
import type { RouteOptions } from './sync.js';

/** GET /api/environments: names and flags only, never a URL. */
export const environmentRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config }) => {
  app.get('/api/environments', {
    schema: { operationId: 'listEnvironments', tags: ['environments'], summary: 'Configured environments (names and flags, never URLs)', response: { 200: EnvironmentList, ...errors(...AUTH_ERRORS) } },
  }, async () => ({
    environments: [...config.environments.values()]
      .map((e) => ({ name: e.name, protected: e.protected, loopback: e.loopback, writable: !e.protected || config.core.allowProtectedTargets, typesense: e.typesense !== undefined }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }));
};
