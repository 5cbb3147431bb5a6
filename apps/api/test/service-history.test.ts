// History, retry, files and configuration as users meet them, over HTTP against the real api and worker processes:
// jobs cancelled before they started stay in the history; a job waiting for its next attempt shows the last error;
// POST /api/jobs/:id/retry re-runs a failed or cancelled job; ids that name BullMQ's own keys answer 404; errors
// name request fields; dumps are never overwritten and are private; a missing loopback target database is created.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createItemsDatabase, createReplaceableTarget, databaseUrl, dropDatabase, freePort, snapshotDatabase, startService, startServices, type ChildService, type RunningServices, type TestDatabase } from '@mbsync/testkit';
import { openDatabase } from '@mbsync/execution';
import { describeEnvironment } from '@mbsync/jobs';
import { API_KEY, TEST_REDIS_URL, dropPrefix, testDirectories, testPrefix, type TestDirectories } from './support/app.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('jobs and files over HTTP', { timeout: 300_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dirs: TestDirectories;
  let services: RunningServices;
  let dumps: string;
  let backups: string;
  const created = `mbsync_test_created_${Date.now().toString(36)}`;
  const prefix = testPrefix('history');

  before(async () => {
    [source, target] = await Promise.all([createItemsDatabase('api_hist_src', 100), createReplaceableTarget('api_hist_tgt')]);
    dirs = await testDirectories();
    // not there yet: the worker creates them, private
    dumps = join(dirs.root, 'private', 'dumps');
    backups = join(dirs.root, 'private', 'backups');
    const closedPort = await freePort();
    services = await startServices({
      apiKey: API_KEY,
      apiEnv: { API_KEYS: API_KEY },
      env: {
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        DUMP_DIRECTORY: dumps,
        BACKUP_DIRECTORY: backups,
        SOURCE_DATABASE_URL: source.url,
        LOCAL_DATABASE_URL: target.url,
        // nothing listens there: every attempt fails with a connection error, which is retried
        DEAD_DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/nothing`,
        FRESH_DATABASE_URL: databaseUrl(created),
      },
      workerEnv: { WORKER_CONCURRENCY: '1' },
    });
  });

  after(async () => {
    await services?.stop();
    await dropPrefix(prefix);
    await dropDatabase(created).catch(() => {});
    await Promise.all([source?.drop(), target?.drop(), dirs?.remove()]);
  });

  const post = (path: string, body?: unknown) => services.request('POST', path, body);

  test('a failure speaks in request fields: "acceptDataLoss", not --yes', async () => {
    const id = (await post('/api/sync/sync', { from: 'source', to: 'local' })).json.id as string;
    const failed = await services.waitForJob(id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error.code, 'JOBS_CONFIRMATION_REQUIRED');
    assert.match(failed.error.message, /old_stuff/);
    assert.match(failed.error.message, /set "acceptDataLoss": true in the request/);
    assert.ok(!failed.error.message.includes('--'), failed.error.message);
    assert.equal(failed.targetWritten, false);
  });

  test('a job cancelled before it started stays in the history as cancelled, and is retried with the same payload', async () => {
    // the first sync waits for the source's lock; with one job at a time, the second waits its turn
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const taken = new Promise<void>((r) => (locked = r));
    const lock = source.sql.begin(async (tx) => {
      await tx`LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE`;
      locked();
      await held;
    });
    await taken;
    try {
      const first = (await post('/api/sync/sync', { from: 'source', to: 'local', acceptDataLoss: true })).json.id as string;
      await services.waitForJob(first, (v) => v.state === 'active');
      const second = (await post('/api/sync/sync', { from: 'source', to: 'local', acceptDataLoss: true, noBackup: true })).json.id as string;

      const cancel = await services.request('DELETE', `/api/jobs/${second}`);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.json));
      assert.deepEqual(cancel.json, { id: second, outcome: 'removed', state: 'cancelled' });
      const cancelled = (await services.request('GET', `/api/jobs/${second}`)).json;
      assert.equal(cancelled.state, 'cancelled');
      assert.deepEqual(cancelled.payload, { source: 'source', target: 'local', acceptDataLoss: true, noBackup: true });
      assert.equal(cancelled.error.code, 'CANCELLED');
      assert.ok(cancelled.finishedAt);
      const listed = (await services.request('GET', '/api/jobs?state=cancelled')).json;
      assert.ok(listed.jobs.some((j: { id: string }) => j.id === second), 'listed among the cancelled jobs');
      assert.equal((await services.request('DELETE', `/api/jobs/${second}`)).json.error.code, 'API_JOB_FINISHED');

      // a running job cannot be retried; the cancelled one can, once
      assert.equal((await post(`/api/jobs/${first}/retry`)).json.error.code, 'API_JOB_NOT_RETRYABLE');
      const retried = await post(`/api/jobs/${second}/retry`);
      assert.equal(retried.status, 202, JSON.stringify(retried.json));
      assert.equal(retried.json.retryOf, second);
      assert.equal(retried.json.type, 'sync');
      const again = await post(`/api/jobs/${second}/retry`);
      assert.equal(again.status, 409);
      assert.equal(again.json.error.code, 'API_JOB_NOT_RETRYABLE');
      assert.equal(again.json.error.details.retriedBy, retried.json.id);
      const linked = (await services.request('GET', `/api/jobs/${second}`)).json;
      assert.equal(linked.related.retriedBy, retried.json.id);

      release();
      await lock;
      assert.equal((await services.waitForJob(first)).state, 'completed');
      const rerun = await services.waitForJob(retried.json.id);
      assert.equal(rerun.state, 'completed', JSON.stringify(rerun));
      assert.deepEqual(rerun.payload, cancelled.payload);
      assert.equal(rerun.related.retryOf, second);
      assert.equal(rerun.result.import.backupId, null, 'the same payload: noBackup');
    } finally {
      release();
      await lock.catch(() => {});
    }
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });

  test('a job waiting for its next attempt shows the last error; cancelled then, it keeps it; retried, it runs again', async () => {
    const id = (await post('/api/sync/export', { from: 'dead' })).json.id as string;
    const delayed = await services.waitForJob(id, (v) => v.state === 'delayed');
    assert.equal(delayed.attempts, 1);
    assert.equal(delayed.lastError.code, 'DUMP_CONNECTION_FAILED');
    assert.equal(delayed.error, undefined, 'not failed: it will try again');
    assert.equal((await services.request('DELETE', `/api/jobs/${id}`)).status, 200);
    const cancelled = (await services.request('GET', `/api/jobs/${id}`)).json;
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.lastError.code, 'DUMP_CONNECTION_FAILED');
    assert.equal(cancelled.attempts, 1);
    const retried = await post(`/api/jobs/${id}/retry`);
    assert.equal(retried.status, 202);
    const next = await services.waitForJob(retried.json.id, (v) => v.state === 'delayed' || v.state === 'failed');
    assert.equal(next.lastError?.code ?? next.error?.code, 'DUMP_CONNECTION_FAILED');
    await services.request('DELETE', `/api/jobs/${retried.json.id}`);
  });

  test("ids naming BullMQ's own keys answer 404; over-long ids answer in the error shape", async () => {
    // by now the queue's event stream and the worker's metrics keys exist under the prefix
    for (const [method, path] of [['GET', '/api/jobs/events'], ['GET', '/api/jobs/metrics:workers'], ['GET', '/api/jobs/meta'], ['DELETE', '/api/jobs/events'], ['POST', '/api/jobs/events/retry']] as const) {
      const answer = await services.request(method, path);
      assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.json.error.code, 'API_JOB_NOT_FOUND', path);
    }
    const tooLong = await services.request('GET', `/api/jobs/${'x'.repeat(300)}`);
    assert.equal(tooLong.status, 414);
    assert.deepEqual(tooLong.json, { error: { code: 'API_URI_TOO_LONG', message: 'a path parameter is too long (at most 256 characters)' } });
    const long = await services.request('GET', `/api/jobs/${'9'.repeat(201)}`);
    assert.equal(long.status, 400);
    assert.equal(long.json.error.code, 'API_VALIDATION_FAILED');
    assert.equal(long.json.error.details.field, 'params/id');
    assert.equal((await services.request('GET', `/api/jobs/${'x'.repeat(150)}`)).json.error.code, 'API_JOB_NOT_FOUND');
  });

  test('an export never overwrites a dump (409 over HTTP); dumps, manifests and backups are private (0600 in 0700)', async () => {
    const first = await services.waitForJob((await post('/api/sync/export', { from: 'source', file: 'nightly.sql' })).json.id);
    assert.equal(first.state, 'completed', JSON.stringify(first));
    const file = join(dumps, 'nightly.sql');
    const manifest = JSON.parse(await readFile(`${file}.manifest.json`, 'utf8')) as { sha256: string };
    assert.equal(createHash('sha256').update(await readFile(file)).digest('hex'), manifest.sha256);

    const again = await post('/api/sync/export', { from: 'source', file: 'nightly.sql' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'API_DUMP_EXISTS');
    assert.equal(again.json.error.details.field, 'body/file');

    // two requests for a new name before either ran: the second job finds the name taken and fails for good
    const [a, b] = await Promise.all([post('/api/sync/export', { from: 'source', file: 'race.sql' }), post('/api/sync/export', { from: 'source', file: 'race.sql' })]);
    assert.deepEqual([a.status, b.status], [202, 202]);
    const outcomes = await Promise.all([services.waitForJob(a.json.id), services.waitForJob(b.json.id)]);
    assert.deepEqual(outcomes.map((o) => o.state).sort(), ['completed', 'failed']);
    const loser = outcomes.find((o) => o.state === 'failed');
    assert.equal(loser.error.code, 'DUMP_OUTPUT_EXISTS');
    assert.equal(loser.attempts, 1, 'not retried');
    const race = join(dumps, 'race.sql');
    const raceManifest = JSON.parse(await readFile(`${race}.manifest.json`, 'utf8')) as { sha256: string };
    assert.equal(createHash('sha256').update(await readFile(race)).digest('hex'), raceManifest.sha256, 'the first dump is intact');

    for (const path of [file, `${file}.manifest.json`, race]) assert.equal(await mode(path), 0o600, path);
    assert.equal(await mode(dumps), 0o700);
    assert.equal(await mode(join(dirs.root, 'private')), 0o700);
    const taken = (await readdir(backups)).filter((f) => f.endsWith('.sql.gz'));
    assert.ok(taken.length > 0, 'the syncs took backups');
    for (const name of await readdir(backups)) assert.equal(await mode(join(backups, name)), 0o600, name);
    assert.equal(await mode(backups), 0o700);
    assert.deepEqual((await readdir(dumps)).filter((f) => f.includes('.partial')), [], 'no partial file left');
  });

  test('a missing database of a loopback target is created, as createdb would, and the job says so', async () => {
    const id = (await post('/api/sync/sync', { from: 'source', to: 'fresh' })).json.id as string;
    const done = await services.waitForJob(id);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    assert.equal(done.result.createdDatabase, created);
    assert.ok(done.result.warnings.some((w: string) => w.includes(`the database ${created} of "fresh" did not exist and was created`)), done.result.warnings.join('\n'));
    const sql = openDatabase(describeEnvironment('fresh', databaseUrl(created)), { role: 'database' });
    try {
      assert.deepEqual(await snapshotDatabase(sql), await snapshotDatabase(source.sql));
    } finally {
      await sql.end();
    }
  });
});

describe('TRUST_PROXY over HTTP', { timeout: 60_000 }, () => {
  let dirs: TestDirectories;
  let api: ChildService | undefined;
  const prefix = testPrefix('proxy');
  before(async () => {
    dirs = await testDirectories();
    await mkdir(dirs.dumps, { recursive: true });
  });
  after(async () => {
    await api?.kill();
    await dropPrefix(prefix);
    await dirs?.remove();
    await rm(dirs.root, { recursive: true, force: true });
  });

  test("behind a trusted proxy each client's X-Forwarded-For address has its own rate limit; otherwise the header is ignored", async () => {
    const ticket = async (port: number, forwardedFor: string) =>
      (await fetch(`http://127.0.0.1:${port}/api/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': forwardedFor } })).status;
    const start = async (extra: Record<string, string>) => {
      const port = await freePort();
      const service = startService('apps/api/src/main.ts', { API_KEY, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DUMP_DIRECTORY: dirs.dumps, BACKUP_DIRECTORY: dirs.backups, PORT: String(port), RATE_LIMIT_MAX: '2', LOG_LEVEL: 'info', ...extra });
      await service.waitForLog((l) => /^Server listening at/.test(l.msg ?? ''));
      return { service, port };
    };
    let { service, port } = await start({ TRUST_PROXY: '127.0.0.1' });
    api = service;
    assert.deepEqual([await ticket(port, '203.0.113.1'), await ticket(port, '203.0.113.1'), await ticket(port, '203.0.113.1')], [200, 200, 429]);
    assert.equal(await ticket(port, '203.0.113.2'), 200, 'another client behind the proxy is not limited');
    await service.kill();

    ({ service, port } = await start({}));
    api = service;
    assert.deepEqual([await ticket(port, '203.0.113.1'), await ticket(port, '203.0.113.2'), await ticket(port, '203.0.113.3')], [200, 200, 429]);
  });
});
