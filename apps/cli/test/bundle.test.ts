// `pnpm mbsync` runs the bundled CLI (scripts/bundle-cli.mjs, built by `pnpm build`): what users run is what this
// checks. A sync and an export through the bundle, in a scratch directory without the repository's node_modules in
// reach, with every command's lazily loaded chunk present: the copy is compared value by value.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createItemsDatabase, createReplaceableTarget, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

const bundle = new URL('../dist/bundle/main.js', import.meta.url).pathname;

describe('the bundled CLI (pnpm mbsync)', { timeout: 180_000 }, () => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;

  function mbsync(args: string[]) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_DATABASE_URL$|_TYPESENSE_URL$|^TYPESENSE_/.test(k)));
    return spawnSync(process.execPath, [bundle, ...args], {
      cwd: dir, encoding: 'utf8', timeout: 120_000,
      env: { ...clean, SOURCE_DATABASE_URL: source.url, LOCAL_DATABASE_URL: target.url, BACKUP_DIRECTORY: join(dir, 'backups'), DUMP_DIRECTORY: join(dir, 'dumps') },
    });
  }

  before(async () => {
    assert.ok(existsSync(bundle), `${bundle} is missing: run 'pnpm build' (it bundles the CLI)`);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-bundle-'));
    [source, target] = await Promise.all([createItemsDatabase('cli_bundle_src', 500), createReplaceableTarget('cli_bundle_tgt')]);
  });

  after(async () => {
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every command\'s help loads from the bundle', () => {
    for (const command of ['export', 'import', 'sync', 'reindex', 'diff', 'backups', 'restore', 'doctor']) {
      const run = mbsync([command, '--help']);
      assert.equal(run.status, 0, `${command}: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^Usage: pnpm mbsync ${command}`), command);
    }
  });

  test('sync (parallel, with a backup) through the bundle: the target equals the source value by value', async () => {
    const run = mbsync(['sync', '--from', 'source', '--to', 'local', '--json', '--yes']);
    assert.equal(run.status, 0, run.stderr);
    const done = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.type === 'done');
    assert.equal(done?.verified, `${done?.tables} tables`);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });

  test('export through the bundle writes a complete dump', () => {
    const out = join(dir, 'items.sql');
    const run = mbsync(['export', '--from', 'source', '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /COPY public\.items /);
    assert.match(text, /\n-- multiboard-sync dump complete[^\n]*\n$/);
  });
});
