// The users' own configuration: a `.env` holding only API_KEY, REDIS_URL and two <NAME>_DATABASE_URL lines serves a
// sync end to end with the built api and worker (as `pnpm start` runs them: NODE_ENV=production, the project's
// directory as working directory); the target's database does not exist yet and is created. ecosystem.config.cjs
// reads `.env` itself, so WORKER_INSTANCES and the shutdown grace periods there take effect under PM2.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '@mbsync/execution';
import { describeEnvironment } from '@mbsync/jobs';
import { createItemsDatabase, databaseUrl, dropDatabase, freePort, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { Redis } from 'ioredis';
import { API_KEY, TEST_REDIS_URL } from './support/app.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT = { api: join(REPO_ROOT, 'apps/api/dist/src/main.js'), worker: join(REPO_ROOT, 'apps/worker/dist/src/main.js') };

interface Child {
  output: () => string;
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** A built app started from `cwd` with nothing but PATH, HOME and NODE_ENV=production (and `extra`) in its environment. */
function startBuilt(script: string, cwd: string, readyLine: RegExp, extra: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [script], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, NODE_ENV: 'production', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (text: string) => {
      output += text;
      if (readyLine.test(output)) resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${output.slice(-2000)}`)));
  });
  ready.catch(() => {});
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    output: () => output,
    ready,
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** True when nothing listens on the loopback port. */
async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A Redis database (1–15) holding no `mbsync:*` key: the default queue prefix runs there, apart from everything else. */
async function freeRedisDatabase(): Promise<number> {
  const base = new URL(TEST_REDIS_URL);
  const start = 1 + Math.floor(Math.random() * 15);
  for (let i = 0; i < 15; i++) {
    const db = 1 + ((start - 1 + i) % 15);
    const redis = new Redis(`${base.protocol}//${base.host}/${db}`, { maxRetriesPerRequest: 1 });
    try {
      const [, keys] = await redis.scan('0', 'MATCH', 'mbsync:*', 'COUNT', 1000);
      if (keys.length === 0 && (await redis.dbsize()) === 0) return db;
    } finally {
      redis.disconnect();
    }
  }
  throw new Error('no empty Redis database among 1-15');
}

describe('a fresh start with the users’ four-line .env', { timeout: 180_000 }, () => {
  let staging: TestDatabase;
  let dir: string;
  let redisUrl: string;
  let api: Child | undefined;
  let worker: Child | undefined;
  const local = `mbsync_test_fresh_${Date.now().toString(36)}`;

  before(async () => {
    staging = await createItemsDatabase('api_fresh_src', 200);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-fresh-'));
    const base = new URL(TEST_REDIS_URL);
    redisUrl = `${base.protocol}//${base.host}/${await freeRedisDatabase()}`;
  });

  after(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      for await (const keys of redis.scanStream({ match: 'mbsync:*', count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await dropDatabase(local).catch(() => {});
    await staging?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the built api and worker serve a sync end to end; the missing local database is created', async (t) => {
    for (const file of Object.values(BUILT)) assert.ok(await stat(file).then(() => true, () => false), `${file} is built (pnpm build)`);
    const env = [`API_KEY=${API_KEY}`, `REDIS_URL=${redisUrl}`, `STAGING_DATABASE_URL=${staging.url}`, `LOCAL_DATABASE_URL=${databaseUrl(local)}`];
    await writeFile(join(dir, '.env'), `${env.join('\n')}\n`);
    worker = startBuilt(BUILT.worker, dir, /"msg":"worker ready"/);
    // PORT is not in the file: the api takes the default, 3000, unless something on this shared machine holds it
    // (then the port alone comes from the process environment; the file stays as the users have it)
    const port = (await portFree(3000)) ? 3000 : await freePort();
    if (port !== 3000) t.diagnostic(`port 3000 is in use here: the api gets PORT=${port} from its environment`);
    api = startBuilt(BUILT.api, dir, new RegExp(`Server listening at http://127\\.0\\.0\\.1:${port}`), port === 3000 ? {} : { PORT: String(port) });
    await Promise.all([worker.ready, api.ready]);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${API_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, json: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    assert.equal((await call('GET', '/ready')).status, 200);
    const environments = (await call('GET', '/api/environments')).json.environments as { name: string; protected: boolean }[];
    assert.deepEqual(environments.map((e) => [e.name, e.protected]), [['local', false], ['staging', true]]);

    const started = await call('POST', '/api/sync/sync', { from: 'staging', to: 'local' });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    let view: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let i = 0; i < 600 && !['completed', 'failed', 'cancelled'].includes(view.state); i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = (await call('GET', `/api/jobs/${started.json.id}`)).json;
    }
    assert.equal(view.state, 'completed', JSON.stringify(view));
    assert.equal(view.result.createdDatabase, local);
    assert.equal(view.targetWritten, true);
    const sql = openDatabase(describeEnvironment('local', databaseUrl(local)), { role: 'database' });
    try {
      assert.deepEqual(await snapshotDatabase(sql), await snapshotDatabase(staging.sql));
    } finally {
      await sql.end();
    }
    // the defaults put dumps and backups under the working directory, private
    assert.equal((await stat(join(dir, 'data', 'backups'))).mode & 0o777, 0o700);
    // production: JSON lines, and never a secret
    const logs = api.output() + worker.output();
    assert.ok(logs.split('\n').filter((l) => l.trim() !== '').every((l) => l.startsWith('{')), 'JSON log lines only');
    assert.ok(!logs.includes(API_KEY) && !logs.includes(staging.url), 'no key or URL in the logs');
  });
});

describe('ecosystem.config.cjs reads .env', () => {
  test('WORKER_INSTANCES and the shutdown grace periods from .env reach PM2; the process environment wins; a bad value is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mbsync-pm2-'));
    try {
      await copyFile(join(REPO_ROOT, 'ecosystem.config.cjs'), join(dir, 'ecosystem.config.cjs'));
      await writeFile(join(dir, '.env'), ['# the users’ .env', 'WORKER_INSTANCES=3', 'WORKER_SHUTDOWN_GRACE_MS="45000" # quoted, with a comment', "API_SHUTDOWN_GRACE_MS='2000'", 'API_KEY=not-read-here'].join('\n'));
      const read = (env: Record<string, string> = {}) => spawnSync(process.execPath, ['-e', 'console.log(JSON.stringify(require("./ecosystem.config.cjs")))'], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
      const result = read();
      assert.equal(result.status, 0, result.stderr);
      const [apiApp, workerApp] = (JSON.parse(result.stdout) as { apps: { name: string; instances: number; kill_timeout: number; env: Record<string, string> }[] }).apps;
      assert.equal(workerApp?.name, 'mbsync-worker');
      assert.equal(workerApp?.instances, 3);
      assert.equal(workerApp?.kill_timeout, 45000 + 15000);
      assert.equal(apiApp?.kill_timeout, 2000 + 5000);
      assert.deepEqual(workerApp?.env, { NODE_ENV: 'production' });

      const overridden = read({ WORKER_INSTANCES: '2', NODE_ENV: 'staging' });
      const apps = (JSON.parse(overridden.stdout) as { apps: { instances: number; env: Record<string, string> }[] }).apps;
      assert.equal(apps[1]?.instances, 2, 'the process environment wins over .env');
      assert.equal(apps[1]?.env.NODE_ENV, 'staging');

      const bad = read({ WORKER_INSTANCES: 'many' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /WORKER_INSTANCES must be a whole number >= 1 .*got "many"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
