// The CLI's side of issue 18: configuration checked at start-up, dumps never overwritten and private, a missing
// loopback target database created, and writes that reindex (a failed reindex after the commit is a warning, not
// a failure; --skip-reindex leaves the search index alone).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '@mbsync/execution';
import { describeEnvironment } from '@mbsync/jobs';
import { createItemsDatabase, createReplaceableTarget, databaseUrl, dropDatabase, freePort, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 'hunter2-not-real';
const main = new URL('../src/main.ts', import.meta.url).pathname;
// absolute, because the CLI runs in a scratch directory where `tsx` would not resolve
const tsx = import.meta.resolve('tsx');

describe('mbsync writes, files and settings', { timeout: 180_000 }, () => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let env: Record<string, string>;
  const created = `mbsync_test_cli_created_${Date.now().toString(36)}`;

  function mbsync(args: string[], extraEnv: Record<string, string> = {}) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_DATABASE_URL$|_TYPESENSE_URL$|^TYPESENSE_/.test(k)));
    return spawnSync(process.execPath, ['--conditions=source', '--import', tsx, main, ...args], { cwd: dir, env: { ...clean, ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-cli-writes-'));
    [source, target] = await Promise.all([createItemsDatabase('cli_w_src', 200), createReplaceableTarget('cli_w_tgt')]);
    const specs = join(dir, 'specs.json');
    await writeFile(specs, JSON.stringify({ collections: [{ name: 'items', query: 'SELECT i.id, i.name FROM public.items i', fields: [{ name: 'name', type: 'string' }] }] }));
    env = {
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: target.url,
      // nothing answers there: a reindex fails (quickly) after the copy committed
      LOCAL_TYPESENSE_URL: `http://127.0.0.1:${await freePort()}`,
      LOCAL_TYPESENSE_API_KEY: 'unused',
      TYPESENSE_SPECS_FILE: specs,
      TYPESENSE_RETRY_SECONDS: '1',
      FRESH_DATABASE_URL: databaseUrl(created),
      BACKUP_DIRECTORY: join(dir, 'backups'),
      DUMP_DIRECTORY: join(dir, 'dumps'),
    };
  });

  after(async () => {
    await dropDatabase(created).catch(() => {});
    await Promise.all([source?.drop(), target?.drop()]);
    await rm(dir, { recursive: true, force: true });
  });

  test('a bad environment URL stops every command at start-up, named and never echoed', () => {
    const run = mbsync(['export', '--from', 'source', '--out', join(dir, 'x.sql')], { BROKEN_DATABASE_URL: `mysql://root:${FAKE_PASSWORD}@db.example.com/app` });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /invalid configuration[\s\S]*BROKEN_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.ok(!run.stderr.includes(FAKE_PASSWORD) && !run.stderr.includes('db.example.com'), run.stderr);
    // doctor shows it in its table instead
    const doctor = mbsync(['doctor', '--json', '--timeout', '2000'], { BROKEN_DATABASE_URL: `mysql://root:${FAKE_PASSWORD}@db.example.com/app` });
    assert.equal(doctor.status, 1);
    const config = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks.find((c) => c.check === 'config');
    assert.equal(config?.status, 'fail');
    assert.match(config?.detail ?? '', /BROKEN_DATABASE_URL must be a postgres/);
    assert.ok(!doctor.stdout.includes(FAKE_PASSWORD));
  });

  test('export never overwrites a dump: a clear error, the old file untouched; dumps are 0600', () => {
    const out = join(dir, 'out', 'keep.sql');
    const first = mbsync(['export', '--from', 'source', '--out', out, '--json']);
    assert.equal(first.status, 0, first.stderr);
    const before = readFileSync(out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(statSync(`${out}.manifest.json`).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'out')).mode & 0o777, 0o700);
    const second = mbsync(['export', '--from', 'source', '--out', out]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /^mbsync export: \[DUMP_OUTPUT_EXISTS\] .*keep\.sql already exists: a dump is never overwritten/m);
    assert.deepEqual(readFileSync(out), before);
  });

  test('a failed reindex after the copy committed is a warning (exit 0); --skip-reindex does not reindex', () => {
    const synced = mbsync(['sync', '--from', 'source', '--to', 'local', '--yes', '--json']);
    assert.equal(synced.status, 0, synced.stderr);
    assert.match(synced.stderr, /warning: the data of local was written, but its search index was not rebuilt \(SEARCH_INDEX_UNAVAILABLE/);
    assert.match(synced.stderr, /run: pnpm mbsync reindex --from local/);
    const done = synced.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.type === 'done');
    assert.equal(done?.reindex, 'failed');

    const skipped = mbsync(['sync', '--from', 'source', '--to', 'local', '--skip-reindex', '--json']);
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.doesNotMatch(skipped.stderr, /search index/);
    const dump = join(dir, 'out', 'keep.sql');
    const imported = mbsync(['import', '--to', 'local', '--in', dump, '--skip-reindex', '--json']);
    assert.equal(imported.status, 0, imported.stderr);
    assert.doesNotMatch(imported.stderr, /search index/);
    const backup = (JSON.parse(imported.stdout.trim().split('\n').at(-1)!) as { backup: string }).backup;
    const restored = mbsync(['restore', backup, '--skip-reindex', '--yes', '--json']);
    assert.equal(restored.status, 0, restored.stderr);
    assert.doesNotMatch(restored.stderr, /search index/);
  });

  test('a missing database of a loopback target is created, and said so', async () => {
    const run = mbsync(['sync', '--from', 'source', '--to', 'fresh', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const done = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.type === 'done');
    assert.equal(done?.createdDatabase, created);
    const sql = openDatabase(describeEnvironment('fresh', databaseUrl(created)), { role: 'database' });
    try {
      assert.deepEqual(await snapshotDatabase(sql), await snapshotDatabase(source.sql));
    } finally {
      await sql.end();
    }
  });
});
