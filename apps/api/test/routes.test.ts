import assert from 'node:assert/strict';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DUMP_FORMAT_VERSION } from '@mbsync/dump';
import { JOB_QUEUE } from '@mbsync/jobs';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { AUTH, API_KEY, OLD_API_KEY, TEST_REDIS_URL, createTestApp, dropPrefix, testDirectories, testEnv, testPrefix, type TestDirectories } from './support/app.js';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 'hunter2';

const BACKUP_ID = 'local-20240101T000000000Z.sql.gz';

describe('api routes (inject)', { timeout: 60_000 }, () => {
  let app: FastifyInstance;
  let permissive: FastifyInstance;
  let dirs: TestDirectories;
  let a: TestDatabase;
  let b: TestDatabase;
  const prefix = testPrefix('routes');
  const env: Record<string, string> = {};

  before(async () => {
    dirs = await testDirectories();
    [a, b] = await Promise.all([createDatabase('api_diff_a'), createDatabase('api_diff_b')]);
    await a.sql.unsafe('CREATE TABLE public.parts (id int PRIMARY KEY, sku text NOT NULL, weight numeric); INSERT INTO public.parts VALUES (1, \'a\', 1.5)');
    await b.sql.unsafe('CREATE TABLE public.parts (id int PRIMARY KEY, sku text NOT NULL); CREATE TABLE public.extra (x int); INSERT INTO public.extra VALUES (1)');
    Object.assign(env, testEnv({ prefix, ...dirs }, {
      LOCAL_DATABASE_URL: a.url,
      OTHER_DATABASE_URL: b.url,
      STAGING_DATABASE_URL: `postgres://postgres:${FAKE_PASSWORD}@127.0.0.1:5432/never_written`,
      REMOTE_DATABASE_URL: 'postgres://postgres@db.example.com:5432/remote',
      SEARCH_DATABASE_URL: a.url,
      SEARCH_TYPESENSE_URL: 'http://127.0.0.1:8108',
      SEARCH_TYPESENSE_API_KEY: 'ts-secret',
      BROKEN_DATABASE_URL: `postgres://postgres:${'sekrit'}@127.0.0.1:1/nothing`,
      RATE_LIMIT_MAX: '1000',
    }));
    app = await createTestApp(env);
    permissive = await createTestApp({ ...env, ALLOW_PROTECTED_TARGETS: 'true' });
  });

  after(async () => {
    await Promise.all([app?.close(), permissive?.close()]);
    await dropPrefix(prefix);
    await Promise.all([a?.drop(), b?.drop(), dirs?.remove()]);
  });

  const post = (url: string, payload: unknown, target = app) => target.inject({ method: 'POST', url, headers: AUTH, payload: payload as Record<string, unknown> });
  const get = (url: string, target = app) => target.inject({ method: 'GET', url, headers: AUTH });

  function assertError(res: { statusCode: number; json(): unknown }, status: number, code: string, field?: string): void {
    const body = res.json() as { error: { code: string; message: string; details?: { field?: string } } };
    assert.equal(res.statusCode, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
    if (field) {
      assert.equal(body.error.details?.field, field);
      assert.match(body.error.message, new RegExp(`^${field}`));
    }
  }

  test('GET /health is open and carries security headers', async () => {
    const res = await app.inject({ url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['content-security-policy']);
    assert.ok(res.headers['strict-transport-security']);
  });

  test('missing or wrong key → 401 with the error shape; Bearer, x-api-key and a rotated key work', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-api-key': 'x'.repeat(40) }, { authorization: `Basic ${API_KEY}` }, { authorization: `Bearer ${API_KEY}x` }]) {
      const res = await app.inject({ url: '/api/environments', headers });
      assertError(res, 401, 'API_UNAUTHORIZED');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
    for (const headers of [AUTH, { 'x-api-key': API_KEY }, { authorization: `bearer ${OLD_API_KEY}` }]) {
      assert.equal((await app.inject({ url: '/api/environments', headers })).statusCode, 200);
    }
    // unknown routes are closed too, so the route map is not probeable without a key
    assertError(await app.inject({ url: '/api/nothing' }), 401, 'API_UNAUTHORIZED');
    assertError(await get('/api/nothing'), 404, 'API_NOT_FOUND');
    assertError(await app.inject({ url: '/docs/json' }), 401, 'API_UNAUTHORIZED');
    assertError(await app.inject({ url: '/ready' }), 401, 'API_UNAUTHORIZED');
  });

  test('GET /api/environments: names and flags, never URLs', async () => {
    const res = await get('/api/environments');
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /:\/\/|hunter2|ts-secret/);
    const byName = Object.fromEntries((res.json() as { environments: { name: string }[] }).environments.map((e) => [e.name, e]));
    assert.deepEqual(byName.staging, { name: 'staging', protected: true, loopback: true, writable: false, typesense: false });
    assert.deepEqual(byName.search, { name: 'search', protected: false, loopback: true, writable: true, typesense: true });
    assert.deepEqual(byName.remote, { name: 'remote', protected: false, loopback: false, writable: true, typesense: false });
  });

  test('bad payloads → 400 naming the field', async () => {
    assertError(await post('/api/sync/sync', { from: 'local' }), 400, 'API_VALIDATION_FAILED', 'body/to');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'other', keepDump: 'yes please' }), 400, 'API_VALIDATION_FAILED', 'body/keepDump');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'other', sourceUrl: 'x' }), 400, 'API_VALIDATION_FAILED', 'body/sourceUrl');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'other', lockTimeoutMs: 0 }), 400, 'API_VALIDATION_FAILED', 'body/lockTimeoutMs');
    assertError(await post('/api/sync/export', { from: 'local', file: '../x.sql' }), 400, 'API_VALIDATION_FAILED', 'body/file');
    assertError(await post('/api/sync/import', { to: 'other', file: 'x.sql', mode: 'merge' }), 400, 'API_VALIDATION_FAILED', 'body/mode');
    assertError(await post('/api/sync/reindex', { to: 'search', collections: [] }), 400, 'API_VALIDATION_FAILED', 'body/collections');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'local' }), 400, 'API_BAD_REQUEST', 'body/to');
    const notJson = await app.inject({ method: 'POST', url: '/api/sync/sync', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"from":' });
    assertError(notJson, 400, 'API_INVALID_JSON');
    const huge = await app.inject({ method: 'POST', url: '/api/sync/sync', headers: { ...AUTH, 'content-type': 'application/json' }, payload: JSON.stringify({ from: 'x'.repeat(70_000) }) });
    assertError(huge, 413, 'API_PAYLOAD_TOO_LARGE');
  });

  test('connection strings are refused wherever they appear, and never echoed', async () => {
    for (const [url, payload, field] of [
      ['/api/sync/sync', { from: `postgres://postgres:${'hunter2'}@db.example.com/app`, to: 'local' }, 'body/from'],
      ['/api/sync/sync', { from: 'local', to: 'host=db.example.com user=postgres password=hunter2' }, 'body/to'],
      ['/api/sync/export', { from: 'local', schemas: ['public', `postgresql://u:${'hunter2'}@h/db`] }, 'body/schemas/1'],
    ] as const) {
      const res = await post(url, payload);
      assertError(res, 400, 'API_URL_NOT_ACCEPTED', field);
      assert.doesNotMatch(res.body, /hunter2/);
    }
    const res = await get('/api/schema/diff?from=postgres%3A%2F%2Fu%3Ahunter2%40h%2Fdb&to=local');
    assertError(res, 400, 'API_URL_NOT_ACCEPTED', 'querystring/from');
    assert.doesNotMatch(res.body, /hunter2/);
  });

  test('unknown environment → 400', async () => {
    const res = await post('/api/sync/sync', { from: 'nowhere', to: 'local' });
    assertError(res, 400, 'JOBS_UNKNOWN_ENVIRONMENT');
    assert.match(res.json().error.message, /configured: .*local/);
    assertError(await post('/api/sync/export', { from: 'nowhere' }), 400, 'JOBS_UNKNOWN_ENVIRONMENT');
    assertError(await get('/api/schema/diff?from=local&to=nowhere'), 400, 'JOBS_UNKNOWN_ENVIRONMENT');
  });

  test('protected and remote targets: 403 before anything is enqueued, unless allowed and confirmed', async () => {
    const before = await app.jobQueue.queue.count();
    assertError(await post('/api/sync/sync', { from: 'local', to: 'staging' }), 403, 'JOBS_PROTECTED_TARGET');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'staging', confirm: 'staging' }), 403, 'JOBS_PROTECTED_TARGET');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'staging' }, permissive), 403, 'JOBS_CONFIRMATION_REQUIRED');
    assertError(await post('/api/sync/sync', { from: 'local', to: 'staging', confirm: 'local' }, permissive), 403, 'JOBS_CONFIRMATION_REQUIRED');
    const hint = await post('/api/sync/sync', { from: 'local', to: 'staging' }, permissive);
    assert.match(hint.json().error.message, /"confirm": "staging"/);
    assertError(await post('/api/sync/sync', { from: 'local', to: 'remote' }), 403, 'JOBS_CONFIRMATION_REQUIRED');
    assertError(await post('/api/sync/import', { to: 'staging', file: 'x.sql' }), 403, 'JOBS_PROTECTED_TARGET');
    assertError(await post('/api/sync/reindex', { to: 'staging' }), 400, 'API_TYPESENSE_NOT_CONFIGURED');
    assertError(await post(`/api/backups/${BACKUP_ID}/restore`, { to: 'staging' }), 404, 'DUMP_BACKUP_NOT_FOUND');
    assert.equal(await app.jobQueue.queue.count(), before, 'nothing was enqueued');
    const ok = await post('/api/sync/sync', { from: 'local', to: 'staging', confirm: 'staging' }, permissive);
    assert.equal(ok.statusCode, 202, ok.body);
    await app.jobQueue.queue.remove(ok.json().id);
  });

  test('POST /api/sync/* → 202 and the job is readable, listable and cancellable', async () => {
    // lockTimeoutMs: an option defined once in the contract reaches the body and the payload with no route code
    const res = await post('/api/sync/sync', { from: 'local', to: 'other', keepDump: true, lockTimeoutMs: 5000 });
    assert.equal(res.statusCode, 202, res.body);
    const accepted = res.json();
    assert.equal(accepted.type, 'sync');
    assert.equal(accepted.state, 'waiting');
    assert.equal(accepted.links.self, `/api/jobs/${accepted.id}`);

    const job = await get(`/api/jobs/${accepted.id}`);
    assert.equal(job.statusCode, 200);
    const view = job.json();
    assert.equal(view.state, 'waiting');
    assert.equal(view.percent, 0);
    assert.equal(view.progress, null);
    assert.deepEqual(view.payload, { source: 'local', target: 'other', keepDump: true, lockTimeoutMs: 5000 });
    assert.ok(Date.parse(view.createdAt) > 0);

    const exported = await post('/api/sync/export', { from: 'local', schemas: ['public'] });
    assert.equal(exported.statusCode, 202, exported.body);
    const reindex = await post('/api/sync/reindex', { to: 'search', collections: ['parts'] });
    assert.equal(reindex.statusCode, 202, reindex.body);

    const all = (await get('/api/jobs')).json();
    assert.equal(all.total, 3);
    assert.deepEqual(all.jobs.map((j: { type: string }) => j.type).sort(), ['export', 'reindex', 'sync']);
    const syncs = (await get('/api/jobs?state=waiting&type=sync')).json();
    assert.deepEqual(syncs.jobs.map((j: { id: string }) => j.id), [accepted.id]);
    const page = (await get('/api/jobs?limit=1&offset=1')).json();
    assert.equal(page.jobs.length, 1);
    assert.equal(page.total, 3);
    assert.equal((await get('/api/jobs?state=completed')).json().total, 0);
    assertError(await get('/api/jobs?state=bogus'), 400, 'API_VALIDATION_FAILED', 'querystring/state');
    assertError(await get('/api/jobs?limit=1000'), 400, 'API_VALIDATION_FAILED', 'querystring/limit');

    for (const id of [accepted.id, exported.json().id, reindex.json().id]) {
      const cancel = await app.inject({ method: 'DELETE', url: `/api/jobs/${id}`, headers: AUTH });
      assert.equal(cancel.statusCode, 200, cancel.body);
      assert.deepEqual(cancel.json(), { id, outcome: 'removed', state: 'cancelled' });
    }
    // cancelled before it started: gone from the queue, kept in the history as cancelled
    const gone = (await get(`/api/jobs/${accepted.id}`)).json();
    assert.equal(gone.state, 'cancelled');
    assert.deepEqual(gone.payload, { source: 'local', target: 'other', keepDump: true, lockTimeoutMs: 5000 });
    assert.equal(gone.error.code, 'CANCELLED');
    assert.match(gone.error.message, /^cancelled before it started/);
    assert.equal((await get('/api/jobs?state=cancelled')).json().total, 3);
    assertError(await app.inject({ method: 'DELETE', url: `/api/jobs/${accepted.id}`, headers: AUTH }), 409, 'API_JOB_FINISHED');
    assertError(await get('/api/jobs/does-not-exist'), 404, 'API_JOB_NOT_FOUND');
    assertError(await get('/api/jobs/bad%20id'), 400, 'API_VALIDATION_FAILED', 'params/id');
  });

  test('finished jobs: completed shows its result (cancel → 409), a cancelled one shows cancelled', async () => {
    const worker = new Worker(JOB_QUEUE, async (job) => {
      if (job.name === 'reindex') throw new UnrecoverableError('CANCELLED: cancelled over the api');
      if (job.name === 'backup') throw new UnrecoverableError('DUMP_CONNECTION_FAILED: connect ECONNREFUSED 10.0.0.1:5432');
      return { type: 'export', file: 'local-x.sql', tables: 1, rows: 1, fileBytes: 10, sha256: 'ab', attempt: 1, startedAt: 'a', finishedAt: 'b', worker: 'test' };
    }, { connection: { url: TEST_REDIS_URL } as never, prefix });
    after(() => worker.close());
    const exportId = (await post('/api/sync/export', { from: 'local' })).json().id as string;
    const reindexId = (await post('/api/sync/reindex', { to: 'search' })).json().id as string;
    const backupJob = await app.jobQueue.queue.add('backup', { target: 'local' });
    const wait = async (id: string, state: string) => {
      for (let i = 0; i < 100; i++) {
        const view = (await get(`/api/jobs/${id}`)).json();
        if (view.state === state) return view;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`job ${id} never became ${state}`);
    };
    const done = await wait(exportId, 'completed');
    assert.equal(done.percent, 100);
    assert.equal(done.result.file, 'local-x.sql');
    assert.ok(done.finishedAt);
    assertError(await app.inject({ method: 'DELETE', url: `/api/jobs/${exportId}`, headers: AUTH }), 409, 'API_JOB_FINISHED');
    const cancelled = await wait(reindexId, 'cancelled');
    assert.deepEqual(cancelled.error, { code: 'CANCELLED', message: 'cancelled over the api' });
    const failed = await wait(backupJob.id!, 'failed');
    assert.equal(failed.error.code, 'DUMP_CONNECTION_FAILED');
    // this one was cancelled while running; the three of the test before, before they started
    const cancelledJobs = (await get('/api/jobs?state=cancelled')).json();
    assert.equal(cancelledJobs.total, 4);
    assert.ok(cancelledJobs.jobs.some((j: { id: string }) => j.id === reindexId));
    assert.equal((await get('/api/jobs?state=failed')).json().total, 1);
    assert.equal((await get('/api/jobs?state=completed&type=export')).json().jobs[0].id, exportId);
  });

  test('dumps: list, streamed download, path traversal → 400, missing → 404', async () => {
    await writeFile(join(dirs.dumps, 'local-1.sql'), '-- a dump\nSELECT 1;\n');
    await writeFile(join(dirs.dumps, 'half.sql.partial'), 'x');
    await writeFile(join(dirs.root, 'secret.sql'), 'secret');
    await symlink(join(dirs.root, 'secret.sql'), join(dirs.dumps, 'link.sql'));
    const list = await get('/api/dumps');
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().dumps.map((d: { name: string }) => d.name), ['local-1.sql']);
    assert.equal(list.json().dumps[0].manifest, null);
    assert.equal(list.json().dumps[0].bytes, 20);

    const file = await get('/api/dumps/local-1.sql');
    assert.equal(file.statusCode, 200);
    assert.equal(file.body, '-- a dump\nSELECT 1;\n');
    assert.equal(file.headers['content-type'], 'application/sql');
    assert.equal(file.headers['content-disposition'], 'attachment; filename="local-1.sql"');

    for (const name of ['..%2Fsecret.sql', '..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd.sql', '.hidden.sql', '..sql']) {
      assertError(await get(`/api/dumps/${name}`), 400, 'API_VALIDATION_FAILED', 'params/name');
    }
    assertError(await get('/api/dumps/link.sql'), 404, 'API_DUMP_NOT_FOUND');
    assertError(await get('/api/dumps/missing.sql'), 404, 'API_DUMP_NOT_FOUND');
    assertError(await post('/api/sync/import', { to: 'other', file: 'missing.sql' }), 404, 'API_DUMP_NOT_FOUND');
    const imported = await post('/api/sync/import', { to: 'other', file: 'local-1.sql', mode: 'data-only' });
    assert.equal(imported.statusCode, 202, imported.body);
    await app.jobQueue.queue.remove(imported.json().id);
  });

  test('backups: list and restore (guarded), unknown → 404, bad id → 400', async () => {
    await writeFile(join(dirs.backups, BACKUP_ID), 'x');
    const manifest = {
      formatVersion: DUMP_FORMAT_VERSION, tool: { name: 'mbsync', version: '0' }, source: 'local', serverVersion: '15', serverVersionNum: 150000,
      startedAt: '2024-01-01T00:00:00.000Z', finishedAt: '2024-01-01T00:00:01.000Z', compression: 'gzip', file: BACKUP_ID, fileBytes: 1,
      sha256: 'x', rows: 3, dataBytes: 1, tables: [], sequences: 0, schema: {}, backupOf: { target: 'local', schemas: ['public'] },
    };
    await writeFile(join(dirs.backups, `${BACKUP_ID}.manifest.json`), JSON.stringify(manifest));
    const list = await get('/api/backups');
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().backups, [{ id: BACKUP_ID, target: 'local', schemas: ['public'], createdAt: '2024-01-01T00:00:00.000Z', fileBytes: 1, tables: 0, rows: 3 }]);
    assert.doesNotMatch(list.body, new RegExp(dirs.backups));

    assertError(await post(`/api/backups/${BACKUP_ID}/restore`, { to: 'staging' }), 403, 'JOBS_PROTECTED_TARGET');
    assertError(await post(`/api/backups/${BACKUP_ID}/restore`, { to: 'nowhere' }), 400, 'JOBS_UNKNOWN_ENVIRONMENT');
    assertError(await post('/api/backups/other-20240101T000000000Z.sql.gz/restore', {}), 404, 'DUMP_BACKUP_NOT_FOUND');
    assertError(await post('/api/backups/..%2Fx.sql.gz/restore', {}), 400, 'API_VALIDATION_FAILED', 'params/id');
    const restore = await post(`/api/backups/${BACKUP_ID}/restore`, { acceptDataLoss: true });
    assert.equal(restore.statusCode, 202, restore.body);
    assert.equal(restore.json().type, 'restore');
    const view = (await get(`/api/jobs/${restore.json().id}`)).json();
    assert.deepEqual(view.payload, { backupId: BACKUP_ID, target: 'local', acceptDataLoss: true });
    await app.jobQueue.queue.remove(restore.json().id);
  });

  test('GET /api/schema/diff introspects both environments and judges the import', async () => {
    const res = await get('/api/schema/diff?from=local&to=other');
    assert.equal(res.statusCode, 200, res.body);
    const diff = res.json();
    assert.equal(diff.from, 'local');
    assert.equal(diff.to, 'other');
    const names = diff.changes.map((c: { objectType: string; name: string; kind: string }) => `${c.kind} ${c.objectType} ${c.name}`);
    assert.ok(names.includes('removed column public.parts.weight'), names.join('\n'));
    assert.ok(names.includes('added table public.extra'), names.join('\n'));
    assert.equal(diff.verdict['data-only'].allowed, false);
    assert.equal(diff.verdict.replace.needsConfirmation, true);
    assert.deepEqual(diff.targetRowCounts, { 'public.extra': 1 });
    assert.match(diff.report, /public\.extra/);
    assertError(await get('/api/schema/diff?from=local'), 400, 'API_VALIDATION_FAILED', 'querystring/to');
  });

  test('5xx answers never leak internals', async () => {
    const res = await get('/api/schema/diff?from=broken&to=local');
    assertError(res, 502, 'SCHEMA_DIFF_INTROSPECTION_FAILED');
    assert.doesNotMatch(res.body, /sekrit|127\.0\.0\.1|ECONNREFUSED|stack|at /);
    assert.equal(res.json().error.details, undefined);
  });
});
