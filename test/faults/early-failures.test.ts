// A streaming sync whose import fails before it reads the stream (target busy, no --yes, …) must fail at once with
// that error, not hang with the export blocked on a full pipe until the stall watchdog reports JOBS_STALLED; and a
// streamed data-only sync works. The stall timeout is short (2 s) and the source far larger than the pipe (~12 MB
// against 4 MB), so a hang would surface as JOBS_STALLED: the tests assert the code, not the time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { assertCopied, assertNoPartialFiles, assertNoSessions, assertUnchanged, createSource, createTarget, scratch } from './support/fixtures.js';
import { watchedSync } from './support/watched-sync.js';

const ROWS = 100_000;

describe('faults: early failures of a streaming sync fail at once', { timeout: 300_000 }, () => {
  let source: TestDatabase;
  let dirs: Awaited<ReturnType<typeof scratch>>;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    [source, dirs] = await Promise.all([createSource('faults_early_src', ROWS), scratch('early')]);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await source?.drop();
    await dirs?.remove();
  });

  async function target(name: string): Promise<TestDatabase> {
    const db = await createTarget(`faults_early_${name}`);
    cleanup.push(() => db.drop());
    return db;
  }

  for (const jobs of [1, 2]) {
    test(`jobs ${jobs}: a busy target (another import holds its lock) fails with DUMP_TARGET_BUSY, not JOBS_STALLED`, async () => {
      const db = await target(`busy_${jobs}`);
      const before = await snapshotDatabase(db.sql);
      // the lock every import takes (packages/dump/src/target-lock.ts), held by "another import"
      const holder = await db.sql.reserve();
      try {
        await holder.unsafe(`BEGIN; SELECT pg_catalog.pg_advisory_xact_lock(hashtext('multiboard-sync:import'))`);
        const run = await watchedSync({ sourceUrl: source.url, targetUrl: db.url, dumps: dirs.dumps, backups: dirs.backups, jobs, noBackup: true });
        assert.equal(run.failure?.code, 'DUMP_TARGET_BUSY', String(run.error));
        assert.equal(run.failure?.action, 'wait');
        assert.deepEqual(run.phases.includes('import'), false, 'nothing was imported');
      } finally {
        await holder.unsafe('ROLLBACK');
        holder.release();
      }
      await assertUnchanged(db, before);
      await assertNoSessions([source.name, db.name]);
      await assertNoPartialFiles(dirs.dumps, dirs.backups);
    });

    test(`jobs ${jobs}: a replace that would drop rows, without --yes, fails with JOBS_CONFIRMATION_REQUIRED, not JOBS_STALLED`, async () => {
      const db = await target(`confirm_${jobs}`);
      const before = await snapshotDatabase(db.sql);
      const run = await watchedSync({ sourceUrl: source.url, targetUrl: db.url, dumps: dirs.dumps, backups: dirs.backups, jobs, acceptDataLoss: false });
      assert.equal(run.failure?.code, 'JOBS_CONFIRMATION_REQUIRED', String(run.error));
      assert.match(run.failure!.message, /public\.old_stuff/);
      await assertUnchanged(db, before);
      await assertNoSessions([source.name, db.name]);
      await assertNoPartialFiles(dirs.dumps, dirs.backups);
    });
  }

  for (const jobs of [1, 2]) {
    test(`jobs ${jobs}: a streamed data-only sync reloads the target's tables from the export's own table list: target equals source`, async () => {
      const db = await target(`dataonly_${jobs}`);
      // the target has the source's tables (an earlier copy) with other rows in them
      const first = await watchedSync({ sourceUrl: source.url, targetUrl: db.url, dumps: dirs.dumps, backups: dirs.backups, jobs: 1, noBackup: true });
      assert.equal(first.error, null, String(first.error));
      await db.sql.unsafe(`DELETE FROM public.items WHERE id % 3 = 0; UPDATE public.items SET note = 'changed' WHERE id % 5 = 0;
        INSERT INTO public.items (kind, name, created) VALUES (1, 'target only', now())`);
      const run = await watchedSync({ sourceUrl: source.url, targetUrl: db.url, dumps: dirs.dumps, backups: dirs.backups, jobs, mode: 'data-only' });
      assert.equal(run.error, null, String(run.error));
      assert.equal(run.result?.import.mode, 'data-only');
      assert.deepEqual(run.result?.import.tables.map((t) => `${t.schema}.${t.name}:${t.rows}`).sort(), ['public.items:100000', 'public.kinds:10']);
      assert.equal(run.result?.verify?.tables, 2);
      assert.ok(run.result?.backup, 'a backup was taken');
      await assertCopied(db, source);
      await assertNoSessions([source.name, db.name]);
      await assertNoPartialFiles(dirs.dumps, dirs.backups);
    });
  }

  test('a data-only sync into a target lacking a table fails at once with JOBS_SCHEMA_INCOMPATIBLE, not JOBS_STALLED', async () => {
    const db = await target('dataonly_missing');
    const before = await snapshotDatabase(db.sql);
    const run = await watchedSync({ sourceUrl: source.url, targetUrl: db.url, dumps: dirs.dumps, backups: dirs.backups, jobs: 1, mode: 'data-only', noBackup: true });
    assert.equal(run.failure?.code, 'JOBS_SCHEMA_INCOMPATIBLE', String(run.error));
    await assertUnchanged(db, before);
    await assertNoSessions([source.name, db.name]);
  });
});
