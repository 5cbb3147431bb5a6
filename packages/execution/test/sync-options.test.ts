import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { DumpError } from '@mbsync/dump';
import { runSync } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig, parsePayload, syncRequest } from '@mbsync/jobs';
import { createDatabase, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

// A sync option defined once in the contract (lockTimeoutMs, pg_dump's --lock-wait-timeout) reaches the job
// payload, the api's request (its body is built from the same fields) and the runner.

describe('sync options: lockTimeoutMs, from the contract to the runner', { timeout: 300_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let target: TestDatabase;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-sync-options-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await createDatabase('opt_src');
    target = await createDatabase('opt_dst');
    psqlText(source.url, `CREATE TABLE public.items (id int PRIMARY KEY, name text); INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(1, 100) g;`);
    psqlText(target.url, `CREATE TABLE public.old (id int); INSERT INTO public.old VALUES (1);`);
  });

  after(async () => {
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the contract takes it: in the sync payload, within bounds, and syncRequest keeps it', () => {
    const request = syncRequest('a', 'b', { lockTimeoutMs: 250, jobs: undefined });
    assert.deepEqual(request, { source: 'a', target: 'b', lockTimeoutMs: 250 });
    assert.deepEqual(parsePayload('sync', request), request);
    assert.throws(() => parsePayload('sync', { source: 'a', target: 'b', lockTimeoutMs: 0 }), /lockTimeoutMs/);
    assert.throws(() => parsePayload('sync', { source: 'a', target: 'b', lockTimeoutMs: 3_600_001 }), /lockTimeoutMs/);
    assert.throws(() => parsePayload('sync', { source: 'a', target: 'b', lockTimeoutMs: 'soon' }), /lockTimeoutMs/);
  });

  for (const jobs of [1, 2]) {
    test(`jobs ${jobs}: a source table locked elsewhere fails the sync after lockTimeoutMs with DUMP_LOCK_TIMEOUT; the target is unchanged`, async () => {
      const before = await snapshotDatabase(target.sql);
      const holder = postgres(source.url, { max: 1, onnotice: () => {} });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = holder.begin(async (tx) => {
        await tx`LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE`;
        locked();
        await released;
      });
      try {
        await isLocked;
        const started = Date.now();
        await assert.rejects(
          runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), config, noBackup: true, jobs, lockTimeoutMs: 300 }),
          (error: unknown) => error instanceof DumpError && error.code === 'DUMP_LOCK_TIMEOUT' && /source "src"/.test(error.message),
        );
        // the default wait is 30 s: the option was honoured (a generous bound: this machine is shared)
        assert.ok(Date.now() - started < 25_000, `took ${Date.now() - started} ms`);
      } finally {
        release();
        await holding;
        await holder.end();
      }
      assert.deepEqual(await snapshotDatabase(target.sql), before);
      // without the lock the same sync goes through
      await runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), config, noBackup: true, acceptDataLoss: true, jobs, lockTimeoutMs: 300 });
      assert.deepEqual((await snapshotDatabase(target.sql)).tables['public.items'], (await snapshotDatabase(source.sql)).tables['public.items']);
      psqlText(target.url, `DROP TABLE public.items; CREATE TABLE public.old (id int); INSERT INTO public.old VALUES (1);`);
    });
  }
});
