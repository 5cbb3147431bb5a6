// `pnpm mbsync doctor` against a good configuration (private Redis with noeviction and AOF, a loopback database,
// the Typesense test server, writable directories) and broken ones: a table either way, exit 1 on problems.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createDatabase, freePort, type TestDatabase } from '@mbsync/testkit';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const ENTRY = process.env.MBSYNC_TEST_CLI_ENTRY ?? 'apps/cli/src/main.ts';
/** A made-up password: it must never appear in the doctor's output. */
const FAKE_PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const API_KEY = `doctor-key-${randomBytes(16).toString('hex')}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the doctor in a scratch directory (no .env there) with only `env` (plus PATH). */
function doctor(cwd: string, env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), join(ROOT, ENTRY), 'doctor', '--timeout', '3000', ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The table's rows as check → [status, details]. */
function rows(stdout: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of stdout.split('\n').slice(1)) {
    const m = /^(\S+(?: \S+)?)\s{2,}(ok|WARN|FAIL)\s{2,}(.*)$/.exec(line);
    if (m) out.set(m[1]!, [m[2]!, m[3]!]);
  }
  return out;
}

describe('mbsync doctor', { timeout: 120_000 }, () => {
  let dir: string;
  let db: TestDatabase;
  let typesense: TypesenseServer;
  let redisServer: ChildProcess;
  let redisUrl: string;
  let good: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-doctor-'));
    await mkdir(join(dir, 'redis'));
    [db, typesense] = await Promise.all([createDatabase('doctor'), createTypesenseServer()]);
    const port = await freePort();
    redisUrl = `redis://127.0.0.1:${port}`;
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--dir', join(dir, 'redis')], { stdio: 'ignore' });
    const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch {
        probe.disconnect();
        if (i > 100) throw new Error('redis-server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    probe.disconnect();
    good = {
      REDIS_URL: redisUrl,
      API_KEYS: API_KEY,
      LOCAL_DATABASE_URL: db.url,
      LOCAL_TYPESENSE_URL: typesense.url,
      LOCAL_TYPESENSE_API_KEY: typesense.apiKey,
      // a protected environment is reported as such (the doctor only reads)
      STAGING_DATABASE_URL: db.url,
      DUMP_DIRECTORY: join(dir, 'dumps'),
      BACKUP_DIRECTORY: join(dir, 'backups'),
    };
  });

  after(async () => {
    redisServer?.kill('SIGKILL');
    await Promise.all([db?.drop(), typesense?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function setPolicy(policy: string): Promise<void> {
    const redis = new Redis(redisUrl);
    try {
      await redis.config('SET', 'maxmemory-policy', policy);
    } finally {
      redis.disconnect();
    }
  }

  test('a good configuration: every check ok, versions and sizes, protected flag, exit 0', async () => {
    await setPolicy('noeviction');
    const run = await doctor(dir, good);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^CHECK\s+STATUS\s+DETAILS$/m);
    const table = rows(run.stdout);
    assert.deepEqual([...table.keys()], ['config', 'redis', 'environment local', 'environment staging', 'typesense local', 'dump directory', 'backup directory']);
    for (const [check, [status]] of table) assert.equal(status, 'ok', check);
    assert.match(table.get('redis')![1], /^redis:\/\/127\.0\.0\.1:\d+: Redis \d+\.\d+\.\d+, noeviction, appendonly yes$/);
    assert.match(table.get('environment local')![1], new RegExp(`^127\\.0\\.0\\.1/${db.name} \\[loopback\\]: PostgreSQL 1\\d\\.\\d+.*, \\d+ MB$`));
    assert.match(table.get('environment staging')![1], /\[PROTECTED, loopback\]/);
    assert.match(table.get('typesense local')![1], /healthy, API key accepted/);
    assert.match(table.get('dump directory')![1], /writable \(will be created\), [\d,]+ MB free of [\d,]+ MB$/);
    assert.match(run.stdout, /\nall checks passed\n$/);

    const json = await doctor(dir, good, ['--json']);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: { check: string; status: string; data: Record<string, unknown> }[] };
    assert.equal(report.ok, true);
    const local = report.checks.find((c) => c.check === 'environment local')!;
    assert.equal(local.data.protected, false);
    assert.ok((local.data.databaseBytes as number) > 0);
    assert.equal(report.checks.find((c) => c.check === 'environment staging')!.data.protected, true);
  });

  test('broken: eviction policy, unreachable and missing databases, wrong Typesense key, bad settings and directories — exit 1, table still printed, no password', async () => {
    await setPolicy('allkeys-lru');
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const run = await doctor(dir, {
      ...good,
      API_KEYS: 'short',
      BACKUP_KEEP_COUNT: 'many',
      LOCAL_TYPESENSE_API_KEY: `wrong-${typesense.apiKey}`,
      GONE_DATABASE_URL: `postgres://someone:${FAKE_PASSWORD}@127.0.0.1:1/nothing`,
      MISSING_DATABASE_URL: `${db.url}_missing`,
      BACKUP_DIRECTORY: join(file, 'backups'),
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(run.stderr, '', 'the table says it all');
    const table = rows(run.stdout);
    assert.deepEqual(table.get('config')?.[0], 'FAIL');
    assert.match(table.get('config')![1], /BACKUP_KEEP_COUNT must be a number >= 1, got "many"; API_KEYS key #1 is shorter than 32 characters/);
    assert.deepEqual(table.get('redis')?.[0], 'FAIL');
    assert.match(table.get('redis')![1], /maxmemory-policy is allkeys-lru, must be noeviction/);
    assert.deepEqual(table.get('environment gone'), ['FAIL', '127.0.0.1/nothing [loopback]: not reachable (connect ECONNREFUSED 127.0.0.1:1)']);
    assert.deepEqual(table.get('environment missing')?.[0], 'FAIL');
    assert.match(table.get('environment missing')![1], /does not exist/);
    assert.deepEqual(table.get('environment local')?.[0], 'ok');
    assert.deepEqual(table.get('typesense local'), ['FAIL', `${typesense.url}: healthy, but the API key was refused (401)`]);
    // the config failed, so the directories are not checked: the core settings they come from are invalid
    assert.equal(table.has('backup directory'), false);
    assert.match(run.stdout, /\n\d+ problem\(s\)/);
    assert.doesNotMatch(run.stdout, new RegExp(FAKE_PASSWORD));
    assert.doesNotMatch(run.stdout, /someone/);

    const dirs = await doctor(dir, { ...good, BACKUP_DIRECTORY: join(file, 'backups') });
    assert.equal(dirs.code, 1);
    assert.deepEqual(rows(dirs.stdout).get('backup directory'), ['FAIL', `${join(file, 'backups')}: not writable (ENOTDIR)`]);
    assert.equal(rows(dirs.stdout).get('redis')?.[0], 'FAIL');
  });

  test('Redis that cannot be reached, or refuses CONFIG: a failure, a warning', async () => {
    await setPolicy('noeviction');
    const closed = await freePort();
    const down = await doctor(dir, { ...good, REDIS_URL: `redis://:${FAKE_PASSWORD}@127.0.0.1:${closed}` });
    assert.equal(down.code, 1);
    assert.equal(rows(down.stdout).get('redis')?.[0], 'FAIL');
    assert.match(rows(down.stdout).get('redis')![1], new RegExp(`^redis://127\\.0\\.0\\.1:${closed}: not reachable`));
    assert.doesNotMatch(down.stdout, new RegExp(FAKE_PASSWORD));

    // a managed Redis that renamed CONFIG away: the policy cannot be read, the operator is told to check it
    const redis = new Redis(redisUrl);
    await redis.acl('SETUSER', 'limited', 'on', `>${FAKE_PASSWORD}`, '~*', '&*', '+@all', '-config');
    redis.disconnect();
    const managed = await doctor(dir, { ...good, REDIS_URL: `redis://limited:${FAKE_PASSWORD}@127.0.0.1:${new URL(redisUrl).port}` });
    assert.equal(managed.code, 0, managed.stdout);
    assert.equal(rows(managed.stdout).get('redis')?.[0], 'WARN');
    assert.match(rows(managed.stdout).get('redis')![1], /CONFIG GET refused: make sure maxmemory-policy is noeviction/);
    assert.doesNotMatch(managed.stdout, new RegExp(FAKE_PASSWORD));
  });
});
