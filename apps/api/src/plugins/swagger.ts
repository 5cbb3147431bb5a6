import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../schemas/common.js';
import { JobView } from '../schemas/jobs.js';

/** The WebSocket protocol in short; README-protocol.md has the full version. */
export const WS_PROTOCOL_SUMMARY = `
## Authentication
Every route but \`GET /health\` needs an API key: \`Authorization: Bearer <key>\` or \`x-api-key: <key>\`.
A browser, which cannot set headers on a WebSocket, first calls \`POST /api/ws-ticket\` and connects to
\`/ws?ticket=<ticket>\` (single use, short-lived).

## Errors
Every error answer is \`{ "error": { "code", "message", "details"? } }\`; validation errors name the field in
\`details.field\`. A 5xx never carries internals.

## WebSocket /ws: live job progress
JSON text frames. Client → server:
- \`{"type":"subscribe","jobId":"<id>"}\` · \`{"type":"subscribe","all":true}\`
- \`{"type":"unsubscribe","jobId":"<id>"}\` · \`{"type":"unsubscribe","all":true}\` · \`{"type":"ping"}\`

Server → client:
- \`{"type":"snapshot","subscription":{…},"jobs":[JobView…]}\` first, on every subscribe: the current state
  (one job, or every unfinished job); reconnecting clients catch up this way
- \`{"type":"progress","jobId","percent","progress"}\` (percent = overall 0–100 across phases)
- \`{"type":"state","jobId","state","percent"?,"result"?,"error"?,"jobType"?}\` (waiting, delayed, active,
  completed, failed, cancelled)
- \`{"type":"removed","jobId"}\` · \`{"type":"unsubscribed","subscription"}\` · \`{"type":"pong"}\`
- \`{"type":"error","error":{"code","message"},"jobId"?}\` for a malformed message (WS_MESSAGE_INVALID), an
  unknown job (API_JOB_NOT_FOUND)…; the socket stays open. Frames above the size limit close it with 1009;
  shutdown closes it with 1001 "server shutting down".
`;

async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  app.addSchema(ErrorResponse);
  app.addSchema(JobView);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'multiboard-sync API',
        version: '0.1.0',
        description: `Copies PostgreSQL databases between configured environments through queued jobs and shows their progress live.\n${WS_PROTOCOL_SUMMARY}`,
        license: { name: 'Proprietary: the multiboard-sync project', identifier: 'LicenseRef-Proprietary' },
      },
      // relative: the api serving this document, wherever it is reached (behind a proxy too)
      servers: [{ url: '/', description: 'the api this document was fetched from' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'sync', description: 'start jobs' },
        { name: 'jobs', description: 'follow and cancel jobs' },
        { name: 'files', description: 'dumps and backups' },
        { name: 'schema', description: 'schema comparison' },
        { name: 'environments', description: 'configured environments' },
        { name: 'system', description: 'health, readiness, WebSocket' },
      ],
    },
    // components named after the schemas' $id instead of def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}

/** OpenAPI 3.1 document at /docs/json (and /docs/yaml), Swagger UI at /docs. Not encapsulated. */
export const openApi = Object.assign(swaggerPlugin, { [Symbol.for('skip-override')]: true });
