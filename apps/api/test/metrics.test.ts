// GET /metrics of the api alone: worker snapshots read from Redis (summed, malformed ones ignored, expired ones
// dropped from the index), HTTP durations by route pattern, METRICS_TOKEN, and Redis down. With real jobs and
// worker processes: test/operations/metrics.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { freePort } from '@mbsync/testkit';
import { Redis } from 'ioredis';
import { AUTH, TEST_REDIS_URL, buildTestApp, dropPrefix, testDirectories, testEnv, testPrefix } from './support/app.js';

const METRICS_TOKEN = `token-${randomBytes(16).toString('hex')}`;
const SCRAPE = { authorization: `Bearer ${METRICS_TOKEN}` };

/** A snapshot as a worker pushes it (prom-client getMetricsAsJSON). */
function snapshot(worker: string, completed: number): string {
  return JSON.stringify([
    { name: 'mbsync_job_attempts_total', help: 'Job attempts', type: 'counter', aggregator: 'sum', values: [{ value: completed, labels: { type: 'sync', outcome: 'completed', worker } }] },
    { name: 'mbsync_worker_concurrency', help: 'concurrency', type: 'gauge', aggregator: 'omit', values: [{ value: 2, labels: { worker } }] },
  ]);
}

test('worker snapshots from Redis are served with the api\'s own metrics; bad and expired ones are left out', async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('metrics');
  const redis = new Redis(TEST_REDIS_URL);
  t.after(async () => {
    redis.disconnect();
    await Promise.all([dirs.remove(), dropPrefix(prefix)]);
  });
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }, { METRICS_TOKEN }));
  const key = (name: string) => `${prefix}:mbsync-jobs:metrics:worker:${name}`;
  const index = `${prefix}:mbsync-jobs:metrics:workers`;
  await redis.multi()
    .set(key('a:1'), snapshot('a:1', 3), 'PX', 60_000)
    .set(key('b:2'), snapshot('b:2', 4), 'PX', 60_000)
    .set(key('bad:3'), '{not json', 'PX', 60_000)
    .zadd(index, Date.now(), 'a:1', Date.now(), 'b:2', Date.now(), 'bad:3', Date.now(), 'gone:4')
    .exec();

  await app.inject({ url: '/api/jobs/123', headers: AUTH });
  const res = await app.inject({ url: '/metrics', headers: SCRAPE });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  assert.match(text, /^mbsync_job_attempts_total\{type="sync",outcome="completed",worker="a:1"\} 3$/m);
  assert.match(text, /^mbsync_job_attempts_total\{type="sync",outcome="completed",worker="b:2"\} 4$/m);
  // the aggregator a snapshot names is not trusted: every metric is summed by label set
  assert.match(text, /^mbsync_worker_concurrency\{worker="b:2"\} 2$/m);
  assert.match(text, /^mbsync_worker_snapshots 3$/m, 'three keys found, one of them unreadable');
  assert.match(text, /^mbsync_redis_up 1$/m);
  assert.match(text, /^mbsync_queue_depth 0$/m);
  assert.match(text, /^mbsync_http_request_duration_seconds_count\{method="GET",route="\/api\/jobs\/:id",status_code="404"\} 1$/m, 'the route pattern, not the path');
  assert.match(text, /^# TYPE mbsync_api_process_cpu_seconds_total counter$/m);
  assert.deepEqual((await redis.zrange(index, 0, -1)).sort(), ['a:1', 'b:2', 'bad:3'], 'the expired worker left the index');

  assert.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
  assert.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}-` } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/metrics', headers: AUTH })).statusCode, 200);
  assert.equal((await app.inject({ url: '/api/environments', headers: SCRAPE })).statusCode, 401, 'the metrics token opens nothing else');
});

test('Redis down: /metrics still answers, with mbsync_redis_up 0 and no queue figures', async (t) => {
  const dirs = await testDirectories();
  t.after(() => dirs.remove());
  const port = await freePort();
  const app = await buildTestApp(t, testEnv({ prefix: testPrefix('metrics-down'), ...dirs, redisUrl: `redis://127.0.0.1:${port}` }, { METRICS_TOKEN, READY_TIMEOUT_MS: '300' }));
  const started = Date.now();
  const res = await app.inject({ url: '/metrics', headers: SCRAPE });
  assert.equal(res.statusCode, 200);
  assert.ok(Date.now() - started < 3_000, 'bounded by the Redis timeout');
  assert.match(res.body, /^mbsync_redis_up 0$/m);
  assert.doesNotMatch(res.body, /^mbsync_queue_depth \d/m);
  assert.match(res.body, /^mbsync_worker_snapshots 0$/m);
});

test('METRICS_TOKEN must be long enough', async () => {
  const { loadApiConfig } = await import('../src/config.js');
  const dirs = { dumps: '/tmp', backups: '/tmp' };
  assert.throws(() => loadApiConfig(testEnv({ prefix: 'x', ...dirs }, { METRICS_TOKEN: 'short' })), /METRICS_TOKEN must be at least 32 characters/);
  assert.equal(loadApiConfig(testEnv({ prefix: 'x', ...dirs })).metricsToken, null);
});
