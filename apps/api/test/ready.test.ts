import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { AUTH, buildTestApp, dropPrefix, testDirectories, testEnv, testPrefix } from './support/app.js';

/** A loopback port nothing listens on (asked from the kernel, then released). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

test('GET /ready: 200 when Redis answers', async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('ready');
  t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }));
  const res = await app.inject({ url: '/ready', headers: AUTH });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ready', redis: true });
});

test('Redis down: /ready → 503 fast, queue routes → 503 without internals, /health still 200, close is quick', async (t) => {
  const dirs = await testDirectories();
  t.after(() => dirs.remove());
  const port = await closedPort();
  const started = Date.now();
  const app = await buildTestApp(t, testEnv({ prefix: testPrefix('down'), ...dirs, redisUrl: `redis://:pa55word@127.0.0.1:${port}` }, { READY_TIMEOUT_MS: '300', LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x', OTHER_DATABASE_URL: 'postgres://postgres@127.0.0.1/y' }));
  assert.ok(Date.now() - started < 5_000, 'the app starts without Redis');

  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const res = await app.inject({ url: '/ready', headers: AUTH });
    const elapsed = Date.now() - t0;
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { status: 'unavailable', redis: false });
    assert.ok(elapsed < 1_000, `/ready took ${elapsed} ms`);
  }
  assert.equal((await app.inject({ url: '/health' })).statusCode, 200);

  for (const request of [
    { method: 'GET' as const, url: '/api/jobs' },
    { method: 'GET' as const, url: '/api/jobs/1' },
    { method: 'POST' as const, url: '/api/sync/sync', payload: { from: 'local', to: 'other' } },
    { method: 'POST' as const, url: '/api/ws-ticket' },
  ]) {
    const t0 = Date.now();
    const res = await app.inject({ ...request, headers: AUTH });
    assert.equal(res.statusCode, 503, `${request.url}: ${res.body}`);
    assert.equal(res.json().error.code, 'API_QUEUE_UNAVAILABLE');
    assert.doesNotMatch(res.body, /pa55word|ECONNREFUSED|127\.0\.0\.1/);
    assert.ok(Date.now() - t0 < 3_000, `${request.url} took ${Date.now() - t0} ms`);
  }
  const t0 = Date.now();
  await app.close();
  assert.ok(Date.now() - t0 < 4_000, `close took ${Date.now() - t0} ms`);
});
