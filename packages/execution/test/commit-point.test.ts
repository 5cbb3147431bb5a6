// The runners' commit point: every kind of sync and the import report the moment their import committed (with the
// backup taken before it), before verify and reindex; a reindex that fails after it never fails the write; a
// missing loopback target database is created (elsewhere it stays an error); specs that do not fit the dump are
// refused before anything is written.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureTargetDatabase, runImport, runSync } from '@mbsync/execution';
import { type CommitInfo, type CoreConfig, describeEnvironment, type Environment, type JobProgress, loadCoreConfig } from '@mbsync/jobs';
import { createDatabase, createItemsDatabase, createReplaceableTarget, databaseUrl, dropDatabase, freePort, psqlFile, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

const fixtures = new URL('../../../test/fixtures/', import.meta.url).pathname;

describe('the commit point of the runners', { timeout: 180_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let items: TestDatabase;
  let target: TestDatabase;
  /** the target with a Typesense nobody answers at: every reindex fails after the commit */
  let unreachable: Environment;
  let closedPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-commit-'));
    // a reindex gives up on an unreachable Typesense after 1 s
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups'), TYPESENSE_RETRY_SECONDS: '1' });
    [source, items, target] = await Promise.all([createDatabase('jobs_commit_src'), createItemsDatabase('jobs_commit_items', 50), createReplaceableTarget('jobs_commit_tgt')]);
    // the demo schema, which the built-in collection specs read
    psqlFile(source.url, join(fixtures, 'multiboard/schema.sql'));
    psqlText(source.url, `
      INSERT INTO public.categories (slug, name) SELECT 'c' || g, 'Cat ' || g FROM generate_series(1, 10) g;
      INSERT INTO public.components (slug, name, category_id) SELECT 'comp-' || g, 'Component ' || g, 1 + g % 10 FROM generate_series(1, 100) g;
      INSERT INTO public.parts (component_id, sku, name) SELECT 1 + g % 100, 'sku-' || g, 'Part ' || g FROM generate_series(1, 200) g;`);
    closedPort = await freePort();
    unreachable = describeEnvironment('local', target.url, `http://127.0.0.1:${closedPort}`, 'key');
  });

  after(async () => {
    await Promise.all([source?.drop(), items?.drop(), target?.drop()]);
    await rm(dir, { recursive: true, force: true });
  });

  for (const [label, options] of [['streaming', { jobs: 1 }], ['parallel', { jobs: 2 }], ['through a kept dump', { keepDump: true }]] as const) {
    test(`sync (${label}): onCommitted once, with the backup, before verify; a failed reindex is a result, not an error`, async () => {
      const commits: CommitInfo[] = [];
      const phasesAtCommit: string[] = [];
      let phase = '';
      const result = await runSync({
        source: describeEnvironment('source', source.url),
        target: unreachable,
        acceptDataLoss: true,
        config,
        ...options,
        onProgress: (p: JobProgress) => (phase = p.phase),
        onCommitted: (commit) => {
          commits.push(commit);
          phasesAtCommit.push(phase);
        },
      });
      assert.equal(commits.length, 1);
      const [commit] = commits;
      assert.equal(commit?.target, 'local');
      assert.equal(commit?.backupId, result.backup?.id);
      assert.ok(commit?.backupId);
      assert.equal(commit?.import.rows, 310);
      assert.equal(commit?.export?.rows, 310);
      if ('keepDump' in options) assert.equal(commit?.dumpFile, result.dumpFile);
      assert.notEqual(phasesAtCommit[0], 'verify', 'reported before verify');
      assert.notEqual(phasesAtCommit[0], 'reindex');
      assert.equal(result.verify?.tables, 6);
      assert.equal(result.reindex?.status, 'failed');
      assert.equal(result.reindex?.error?.code, 'SEARCH_INDEX_UNAVAILABLE');
      assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    });
  }

  test('import: onCommitted with its backup; skipReindex: no reindex at all', async () => {
    const dump = join(dir, 'dumps', (await readdir(join(dir, 'dumps'))).find((f) => f.endsWith('.sql'))!);
    const commits: CommitInfo[] = [];
    const result = await runImport({ target: unreachable, file: dump, config, acceptDataLoss: true, skipReindex: true, onCommitted: (c) => void commits.push(c) });
    assert.equal(commits.length, 1);
    assert.equal(commits[0]?.backupId, result.backup?.id);
    assert.equal(result.reindex, null);
  });

  test('specs that read tables the dump does not have are refused before anything is written', async () => {
    const before = await snapshotDatabase(target.sql);
    const backups = (await readdir(join(dir, 'backups'))).length;
    let committed = false;
    for (const jobs of [1, 2]) {
      await assert.rejects(
        runSync({ source: describeEnvironment('items', items.url), target: unreachable, acceptDataLoss: true, config, jobs, onCommitted: () => void (committed = true) }),
        (error: unknown) => {
          assert.equal((error as { code?: string }).code, 'JOBS_SEARCH_SPEC_MISMATCH');
          assert.match((error as Error).message, /reads public\.components, which the dump does not have/);
          return true;
        },
      );
    }
    assert.equal(committed, false);
    assert.deepEqual(await snapshotDatabase(target.sql), before);
    assert.equal((await readdir(join(dir, 'backups'))).length, backups, 'no backup either');
    // without a reindex to come, the same dump is taken
    const result = await runSync({ source: describeEnvironment('items', items.url), target: unreachable, acceptDataLoss: true, config, skipReindex: true, noBackup: true });
    assert.equal(result.reindex, null);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(items.sql));
  });

  test('a missing loopback database is created; elsewhere it stays missing and the import says so', async () => {
    const name = `mbsync_test_ensure_${Date.now().toString(36)}`;
    try {
      const created = await ensureTargetDatabase(describeEnvironment('fresh', databaseUrl(name)));
      assert.deepEqual(created, { database: name, created: true });
      assert.deepEqual(await ensureTargetDatabase(describeEnvironment('fresh', databaseUrl(name))), { database: name, created: false });
    } finally {
      await dropDatabase(name);
    }
    // the same server, taken for a remote one: nothing is created
    const remote = { ...describeEnvironment('remote', databaseUrl(name)), loopback: false };
    assert.deepEqual(await ensureTargetDatabase(remote), { database: name, created: false });
    const dump = join(dir, 'dumps', (await readdir(join(dir, 'dumps'))).find((f) => f.endsWith('.sql'))!);
    await assert.rejects(runImport({ target: remote, file: dump, config, confirm: 'remote', noBackup: true }), { code: 'DUMP_DATABASE_NOT_FOUND' });
  });
});
