// GET /metrics after real jobs: an api and a worker process, a sync with a Typesense reindex, an export and a
// failing export; the worker's metrics reach the api through Redis. Also: every log line of a job carries
// jobId, phase and target.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createDatabase, freePort, startService, type ChildService, type TestDatabase } from '@mbsync/testkit';
import { demoDatabase } from '../search-index/demo-data.js';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const API_KEY = `metrics-api-key-${randomBytes(16).toString('hex')}`;
const METRICS_TOKEN = `metrics-token-${randomBytes(16).toString('hex')}`;

/** One sample line of the text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

describe('GET /metrics after real jobs', { timeout: 180_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let typesense: TypesenseServer;
  let api: ChildService;
  let worker: ChildService;
  let dir: string;
  let base: string;
  const prefix = `mbsync-test-metrics-${randomBytes(3).toString('hex')}`;

  before(async () => {
    [source, target, typesense] = await Promise.all([demoDatabase('metrics_src'), createDatabase('metrics_dst'), createTypesenseServer()]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-metrics-'));
    await Promise.all([mkdir(join(dir, 'dumps')), mkdir(join(dir, 'backups'))]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const shared = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DUMP_DIRECTORY: join(dir, 'dumps'),
      BACKUP_DIRECTORY: join(dir, 'backups'),
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: target.url,
      LOCAL_TYPESENSE_URL: typesense.url,
      LOCAL_TYPESENSE_API_KEY: typesense.apiKey,
      // a database that does not exist: its export fails for good
      MISSING_DATABASE_URL: `${source.url}_missing`,
      LOG_LEVEL: 'info',
    };
    worker = startService('apps/worker/src/main.ts', { ...shared, WORKER_METRICS_INTERVAL_MS: '500', WORKER_PROGRESS_INTERVAL_MS: '50', WORKER_SHUTDOWN_GRACE_MS: '1000' });
    api = startService('apps/api/src/main.ts', { ...shared, API_KEYS: API_KEY, METRICS_TOKEN, PORT: String(port), HOST: '127.0.0.1' });
    // generous: on a busy machine two processes compiling TypeScript take a while to start
    await Promise.all([worker.waitForLog((l) => l.msg === 'worker ready', 90_000), api.waitForLog((l) => /^Server listening at/.test(l.msg ?? ''), 90_000)]);
  });

  after(async () => {
    await Promise.all([api?.kill(), worker?.kill()]);
    const redis = new Redis(REDIS_URL);
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await Promise.all([source?.drop(), target?.drop(), typesense?.close(), dir ? rm(dir, { recursive: true, force: true }) : undefined]);
  });

  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function finished(id: string): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await call('GET', `/api/jobs/${id}`);
      if (job.state === 'completed' || job.state === 'failed') return job.state;
      assert.ok(Date.now() < deadline, `job ${id} still ${String(job.state)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function scrape(headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }): Promise<{ status: number; type: string | null; text: string }> {
    const res = await fetch(`${base}/metrics`, { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  test('jobs by state and type, durations, bytes and rows, documents, workers, queue depth and HTTP durations', async () => {
    const sync = await call('POST', '/api/sync/sync', { from: 'source', to: 'local' });
    assert.equal(await finished(sync.id as string), 'completed');
    const exported = await call('POST', '/api/sync/export', { from: 'source' });
    assert.equal(await finished(exported.id as string), 'completed');
    const broken = await call('POST', '/api/sync/export', { from: 'missing' });
    assert.equal(await finished(broken.id as string), 'failed');

    // the worker pushes its snapshot soon after each job; wait for the one that holds all three
    let samples: Sample[];
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { status, type, text } = await scrape();
      assert.equal(status, 200);
      assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
      samples = parseMetrics(text);
      if (total(samples, 'mbsync_job_attempts_total') >= 3) break;
      assert.ok(Date.now() < deadline, `worker metrics never arrived:\n${text.slice(0, 3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const workerName = samples.find((s) => s.name === 'mbsync_job_attempts_total')!.labels.worker;
    assert.match(workerName ?? '', /:\d+$/, 'worker series carry the worker label');

    assert.equal(total(samples, 'mbsync_job_attempts_total', { type: 'sync', outcome: 'completed' }), 1);
    assert.equal(total(samples, 'mbsync_job_attempts_total', { type: 'export', outcome: 'completed' }), 1);
    assert.equal(total(samples, 'mbsync_job_attempts_total', { type: 'export', outcome: 'failed' }), 1);
    assert.equal(total(samples, 'mbsync_job_duration_seconds_count', { type: 'sync', outcome: 'completed' }), 1);
    assert.ok(total(samples, 'mbsync_job_duration_seconds_sum', { type: 'sync' }) > 0);
    assert.equal(total(samples, 'mbsync_job_duration_seconds_bucket', { type: 'sync', outcome: 'completed', le: '+Inf' }), 1);

    // every row of the source is moved
    const tables = await source.sql<{ name: string }[]>`SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
    let rows = 0;
    for (const { name } of tables) rows += Number((await source.sql.unsafe<{ n: string }[]>(`SELECT count(*)::text AS n FROM ${name}`))[0]!.n);
    assert.ok(rows > 0);
    assert.equal(total(samples, 'mbsync_job_rows_total', { type: 'sync', phase: 'import' }), rows);
    assert.equal(total(samples, 'mbsync_job_rows_total', { type: 'export', phase: 'export' }), rows);
    assert.ok(total(samples, 'mbsync_job_bytes_total', { type: 'sync', phase: 'import' }) > 0);
    assert.ok(total(samples, 'mbsync_job_bytes_total', { type: 'sync', phase: 'backup' }) === 0, 'backup bytes are counted by backup jobs only');
    assert.ok(total(samples, 'mbsync_job_bytes_total', { type: 'export', phase: 'export' }) > 0);
    for (const collection of ['components', 'parts', 'attributes']) {
      assert.equal(total(samples, 'mbsync_typesense_documents_total', { collection }), 3, collection);
    }

    assert.equal(total(samples, 'mbsync_redis_up'), 1);
    assert.equal(total(samples, 'mbsync_workers'), 1);
    assert.equal(total(samples, 'mbsync_worker_snapshots'), 1);
    assert.equal(total(samples, 'mbsync_worker_concurrency'), 2);
    assert.equal(total(samples, 'mbsync_worker_jobs_running'), 0);
    assert.equal(total(samples, 'mbsync_queue_jobs', { state: 'completed' }), 2);
    assert.equal(total(samples, 'mbsync_queue_jobs', { state: 'failed' }), 1);
    assert.equal(total(samples, 'mbsync_queue_depth'), 0);
    assert.equal(total(samples, 'mbsync_jobs', { state: 'active', type: 'sync' }), 0);
    assert.ok(total(samples, 'mbsync_http_request_duration_seconds_count', { method: 'POST', route: '/api/sync/sync', status_code: '202' }) >= 1);
    assert.ok(total(samples, 'mbsync_http_request_duration_seconds_count', { method: 'GET', route: '/api/jobs/:id', status_code: '200' }) >= 3);
    assert.ok(samples.some((s) => s.name === 'mbsync_api_process_resident_memory_bytes'), 'the api\'s process metrics');
    assert.ok(samples.some((s) => s.name === 'mbsync_worker_process_resident_memory_bytes' && s.labels.worker === workerName), 'the worker\'s process metrics');

    // queue depth and unfinished jobs by type: with the worker gone, a new job waits
    await worker.kill();
    await call('POST', '/api/sync/export', { from: 'source' });
    const later = parseMetrics((await scrape()).text);
    assert.equal(total(later, 'mbsync_queue_depth'), 1);
    assert.equal(total(later, 'mbsync_queue_jobs', { state: 'waiting' }), 1);
    assert.equal(total(later, 'mbsync_jobs', { state: 'waiting', type: 'export' }), 1);
    assert.equal(total(later, 'mbsync_jobs', { state: 'waiting', type: 'sync' }), 0);
    assert.equal(total(later, 'mbsync_workers'), 0);
  });

  test('/metrics answers the metrics token and API keys only', async () => {
    assert.equal((await scrape({})).status, 401);
    assert.equal((await scrape({ authorization: `Bearer ${METRICS_TOKEN}x` })).status, 401);
    assert.equal((await scrape({ authorization: `Bearer ${API_KEY}` })).status, 200);
    assert.equal((await scrape({ 'x-api-key': API_KEY })).status, 200);
    // the metrics token opens nothing else
    assert.equal((await fetch(`${base}/api/jobs`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 401);
  });

  test('every log line of a job carries jobId, phase and target; the phase follows the progress', () => {
    const jobLines = worker.logs.filter((l) => typeof l.jobId === 'string' && l.msg !== 'job stalled (its worker vanished); moved back to the queue' && l.msg !== 'cancel requested');
    assert.ok(jobLines.length >= 10, `job lines: ${jobLines.length}`);
    for (const line of jobLines) {
      assert.equal(typeof line.phase, 'string', JSON.stringify(line));
      assert.equal(typeof line.target, 'string', JSON.stringify(line));
    }
    const syncLines = jobLines.filter((l) => l.type === 'sync');
    assert.deepEqual([...new Set(syncLines.map((l) => l.phase))], ['start', 'export', 'validate', 'backup', 'import', 'verify', 'reindex']);
    assert.ok(syncLines.every((l) => l.target === 'local' && l.source === 'source'));
    const completed = syncLines.find((l) => l.msg === 'job completed');
    assert.equal(completed?.phase, 'reindex');
    const failed = jobLines.find((l) => l.type === 'export' && l.level === 50);
    assert.equal(failed?.target, 'dump-directory');
    assert.equal(failed?.source, 'missing');
    // no connection string in any line
    for (const line of worker.logs) assert.doesNotMatch(JSON.stringify(line), /postgres:\/\//);
  });
});
