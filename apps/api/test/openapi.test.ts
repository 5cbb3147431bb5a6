import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { AUTH, buildTestApp, dropPrefix, testDirectories, testEnv, testPrefix } from './support/app.js';

/** Every route of the api, as OpenAPI paths. */
const ROUTES = [
  'POST /api/sync/export',
  'POST /api/sync/import',
  'POST /api/sync/sync',
  'POST /api/sync/reindex',
  'GET /api/jobs',
  'GET /api/jobs/{id}',
  'DELETE /api/jobs/{id}',
  'POST /api/jobs/{id}/retry',
  'GET /api/dumps',
  'GET /api/dumps/{name}',
  'GET /api/backups',
  'POST /api/backups/{id}/restore',
  'GET /api/schema/diff',
  'GET /api/environments',
  'POST /api/ws-ticket',
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /ws',
];

test('the OpenAPI document validates and lists every route; the UI is served at /docs', async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('openapi');
  t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }));
  const res = await app.inject({ url: '/docs/json', headers: AUTH });
  assert.equal(res.statusCode, 200);
  const doc = res.json();

  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');

  const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, methods]) => Object.keys(methods).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(listed, [...ROUTES].sort());
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
    for (const [method, op] of Object.entries(methods)) {
      assert.ok(Object.keys(op.responses).some((s) => /^[12]/.test(s)), `${method} ${path} documents a success answer`);
      if (path !== '/health' && path !== '/ws') assert.ok(op.responses['401'], `${method} ${path} documents 401`);
    }
  }
  assert.match(doc.info.description, /"type":"subscribe","jobId"/);
  assert.ok(doc.components.schemas.ErrorResponse);
  assert.deepEqual(doc.paths['/health'].get.security, []);

  // generated clients name their methods after operationId: every operation has a stable, unique one, and tags
  const operations = Object.values(doc.paths as Record<string, Record<string, { operationId?: string; tags?: string[] }>>).flatMap((methods) => Object.values(methods));
  const ids = operations.map((op) => op.operationId);
  assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), `operationIds: ${ids.join(', ')}`);
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  assert.ok(operations.every((op) => (op.tags?.length ?? 0) > 0), 'every operation is tagged');
  assert.ok(ids.includes('startSync') && ids.includes('retryJob') && ids.includes('cancelJob'));
  assert.deepEqual(doc.servers, [{ url: '/', description: 'the api this document was fetched from' }]);
  assert.ok(doc.info.license?.name);

  const ui = await app.inject({ url: '/docs/', headers: AUTH });
  assert.equal(ui.statusCode, 200);
  assert.match(ui.headers['content-type'] as string, /text\/html/);
});

test("Redocly's recommended rules find nothing to report in /docs/json", async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('openapi-lint');
  t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }));
  const doc = (await app.inject({ url: '/docs/json', headers: AUTH })).json();
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
  const found = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
  assert.deepEqual(found, [], found.join('\n'));
  // the lint does look: a copy without servers and operationIds is reported
  const broken = { ...doc, servers: undefined, paths: { ...doc.paths, '/health': { get: { ...doc.paths['/health'].get, operationId: undefined } } } };
  const rules = (await lintFromString({ source: JSON.stringify(broken), absoluteRef: 'broken.json', config })).map((p) => p.ruleId);
  assert.ok(rules.includes('no-empty-servers') && rules.includes('operation-operationId'), rules.join(', '));
});
