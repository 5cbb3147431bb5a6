import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDatabase, pgDumpSchema, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 's3cret';

const main = new URL('../src/main.ts', import.meta.url).pathname;
// absolute, because the CLI runs in a scratch directory where `tsx` would not resolve
const tsx = import.meta.resolve('tsx');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('mbsync CLI', () => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let env: Record<string, string>;

  /** Runs the CLI in a scratch directory (so no .env is picked up) with only the test's environments. */
  function mbsync(args: string[], extraEnv: Record<string, string> = {}): Run {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.endsWith('_DATABASE_URL') && !k.endsWith('_TYPESENSE_URL')));
    const result = spawnSync(process.execPath, ['--conditions=source', '--import', tsx, main, ...args], {
      cwd: dir,
      env: { ...clean, ...env, ...extraEnv },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-cli-'));
    source = await createDatabase('cli_src');
    target = await createDatabase('cli_dst');
    psqlText(source.url, `CREATE TABLE public.parts (id int PRIMARY KEY, sku text NOT NULL, qty int);
      INSERT INTO public.parts SELECT g, 'SKU-' || g, g * 2 FROM generate_series(1, 500) g;`);
    env = {
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: target.url,
      BACKUP_DIRECTORY: join(dir, 'backups'),
      DUMP_DIRECTORY: join(dir, 'dumps'),
    };
  });

  after(async () => {
    await source.drop();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('--help on every command, exit 0; no command shows help with exit 2; unknown command exit 2', () => {
    for (const command of ['export', 'import', 'sync', 'diff', 'backups', 'restore']) {
      const run = mbsync([command, '--help']);
      assert.equal(run.status, 0, command);
      assert.match(run.stdout, new RegExp(`Usage: pnpm mbsync ${command}`));
    }
    assert.equal(mbsync([]).status, 2);
    const unknown = mbsync(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badOption = mbsync(['export', '--frm', 'x']);
    assert.equal(badOption.status, 2);
    assert.match(badOption.stderr, /--frm/);
  });

  test('an unknown environment: one line naming it, exit 1, no file', () => {
    const run = mbsync(['export', '--from', 'nowhere', '--out', join(dir, 'x.sql')]);
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.match(run.stderr, /unknown environment "nowhere" \(configured: local, source\)/);
    assert.ok(!existsSync(join(dir, 'x.sql')));
  });

  test('export --json prints progress and a result as JSON lines', () => {
    const out = join(dir, 'source.sql.gz');
    const run = mbsync(['export', '--from', 'source', '--out', out, '--json']);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l.type === 'progress' && l.table === 'public.parts'));
    const done = lines.at(-1)!;
    assert.equal(done.type, 'done');
    assert.equal(done.rows, 500);
    assert.ok(existsSync(out) && existsSync(`${out}.manifest.json`));
  });

  test('a protected target is refused before any connection, and nothing secret is printed', () => {
    const run = mbsync(['import', '--to', 'staging', '--in', join(dir, 'source.sql.gz')], { STAGING_DATABASE_URL: `postgres://admin:${FAKE_PASSWORD}@127.0.0.1:1/db` });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /\[JOBS_PROTECTED_TARGET\] refusing to write to protected environment "staging"/);
    assert.ok(!run.stderr.includes('s3cret') && !run.stdout.includes('s3cret'));
    const supabase = mbsync(['sync', '--from', 'source', '--to', `postgres://admin:${FAKE_PASSWORD}@DB.abcd.SUPABASE.co./postgres`]);
    assert.equal(supabase.status, 1);
    assert.match(supabase.stderr, /JOBS_PROTECTED_TARGET/);
    assert.ok(!supabase.stderr.includes('s3cret'));
  });

  test('sync copies source to target (backup first); restore puts the backup back', async () => {
    const first = mbsync(['sync', '--from', 'source', '--to', 'local', '--json']);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    assert.equal(pgDumpSchema(target.url), pgDumpSchema(source.url));
    const stateAfterFirst = await snapshotDatabase(target.sql);

    psqlText(source.url, `UPDATE public.parts SET qty = 0 WHERE id <= 10; INSERT INTO public.parts VALUES (1000, 'SKU-NEW', 1);`);
    const second = mbsync(['sync', '--from', 'source', '--to', 'local', '--json']);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    const secondBackup = (JSON.parse(second.stdout.trim().split('\n').at(-1)!) as { backup: string }).backup;

    const listed = mbsync(['backups', '--json']);
    const backups = (JSON.parse(listed.stdout) as { backups: { id: string; target: string }[] }).backups;
    assert.ok(backups.some((b) => b.id === secondBackup && b.target === 'local'));
    const restored = mbsync(['restore', secondBackup, '--no-backup']);
    assert.equal(restored.status, 0, restored.stderr);
    assert.deepEqual(await snapshotDatabase(target.sql), stateAfterFirst);

    // a table created since the backup holds rows: restoring drops it, which needs --yes
    psqlText(target.url, `CREATE TABLE public.notes (id int PRIMARY KEY); INSERT INTO public.notes VALUES (1);`);
    const withNotes = await snapshotDatabase(target.sql);
    const refused = mbsync(['restore', secondBackup, '--no-backup']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /\[JOBS_CONFIRMATION_REQUIRED\].*public\.notes.*--yes/);
    assert.deepEqual(await snapshotDatabase(target.sql), withNotes, 'a refused restore changes nothing');
    const accepted = mbsync(['restore', secondBackup, '--no-backup', '--yes']);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.deepEqual(await snapshotDatabase(target.sql), stateAfterFirst);
  });

  test('data-only into an incompatible target is refused with the report; the target is untouched', async () => {
    const narrow = await createDatabase('cli_narrow');
    try {
      psqlText(narrow.url, `CREATE TABLE public.parts (id smallint PRIMARY KEY, sku varchar(3) NOT NULL, qty int); INSERT INTO public.parts VALUES (1, 'old', 1);`);
      const before = { schema: pgDumpSchema(narrow.url), data: await snapshotDatabase(narrow.sql) };
      const run = mbsync(['import', '--to', 'narrow', '--in', join(dir, 'source.sql.gz'), '--mode', 'data-only'], { NARROW_DATABASE_URL: narrow.url });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /\[JOBS_SCHEMA_INCOMPATIBLE\] the target cannot take a data-only import/);
      assert.match(run.stderr, /public\.parts\.sku/, 'the report names the column that cannot hold the data');
      assert.deepEqual({ schema: pgDumpSchema(narrow.url), data: await snapshotDatabase(narrow.sql) }, before);
      assert.deepEqual(readdirSync(join(dir, 'backups')).filter((f) => f.startsWith('narrow-')), [], 'refused before the backup');
    } finally {
      await narrow.drop();
    }
  });

  test('replace that would drop a table holding rows needs --yes', async () => {
    const busy = await createDatabase('cli_busy');
    try {
      psqlText(busy.url, `CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1), (2);`);
      const before = await snapshotDatabase(busy.sql);
      const refused = mbsync(['import', '--to', 'busy', '--in', join(dir, 'source.sql.gz')], { BUSY_DATABASE_URL: busy.url });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /\[JOBS_CONFIRMATION_REQUIRED\] replacing would drop data in the target: .*public\.orders/);
      assert.deepEqual(await snapshotDatabase(busy.sql), before);
      const accepted = mbsync(['import', '--to', 'busy', '--in', join(dir, 'source.sql.gz'), '--yes'], { BUSY_DATABASE_URL: busy.url });
      assert.equal(accepted.status, 0, accepted.stderr);
      assert.deepEqual(Object.keys((await snapshotDatabase(busy.sql)).tables), ['public.parts']);
    } finally {
      await busy.drop();
    }
  });
});

describe('--lock-wait-timeout (the contract\'s lockTimeoutMs)', () => {
  test('seconds become lockTimeoutMs; a bad value is a usage error naming the flag', async () => {
    const { selectionSettings } = await import('../src/selection-options.js');
    const base = { 'no-owner': false, 'no-privileges': false, 'no-event-triggers': false };
    assert.equal(selectionSettings({ ...base, 'lock-wait-timeout': '0.5' }).lockTimeoutMs, 500);
    assert.equal(selectionSettings({ ...base, 'lock-wait-timeout': '120' }).lockTimeoutMs, 120_000);
    assert.equal(selectionSettings(base).lockTimeoutMs, undefined);
    for (const bad of ['0', 'soon', '-1', '3601']) {
      assert.throws(() => selectionSettings({ ...base, 'lock-wait-timeout': bad }), /--lock-wait-timeout must be a number of seconds/);
    }
  });
});
