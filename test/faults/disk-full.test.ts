// Disk full while writing (a small tmpfs as DUMP_DIRECTORY / BACKUP_DIRECTORY, filled up mid-write by another
// writer): a clear ENOSPC error naming the file, no partial file, no manifest, the target unchanged. A disk already
// too small is refused before anything is written.
import assert from 'node:assert/strict';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { assertNoSessions, assertUnchanged, createSource, createTarget, mountTmpfs, scratch, until } from './support/fixtures.js';
import { runCli } from './support/cli.js';
import { startTcpProxy, upstreamOf, type TcpProxy } from './support/tcp-proxy.js';
import { watchedSync } from './support/watched-sync.js';

const MB = 1 << 20;

/** Writes into `dir` until the file system says ENOSPC (what another process filling the disk does). */
async function fillUp(dir: string): Promise<void> {
  const file = await open(join(dir, 'filler'), 'w');
  try {
    for (const size of [MB, 64 << 10, 4 << 10, 512]) {
      const chunk = Buffer.alloc(size, 0x55);
      for (;;) {
        try {
          await file.write(chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    await file.close();
  }
}

describe('faults: disk full', { timeout: 120_000 }, () => {
  let source: TestDatabase;
  let dirs: Awaited<ReturnType<typeof scratch>>;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    [source, dirs] = await Promise.all([createSource('faults_disk_src', 40_000), scratch('disk')]);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await source?.drop();
    await dirs?.remove();
  });

  async function tmpfs(megabytes: number): Promise<string> {
    const mount = await mountTmpfs(megabytes);
    cleanup.push(() => mount.unmount());
    return mount.dir;
  }

  async function proxy(db: TestDatabase): Promise<TcpProxy> {
    const p = await startTcpProxy(upstreamOf(db.url));
    cleanup.push(() => p.close());
    return p;
  }

  test('export: the disk fills up mid-write → DUMP_OUTPUT_NOT_WRITABLE "no space left on device" naming the file; no partial file, no manifest', async () => {
    const dir = await tmpfs(24);
    const p = await proxy(source);
    // slow enough that the disk is filled while the dump is being written
    p.apply({ kind: 'throttle', bytesPerSecond: 2 * MB }, { direction: 'down' });
    const out = join(dir, 'full.sql');
    const running = runCli(['export', '--from', 'fsrc', '--out', out], { cwd: dirs.root, env: { FSRC_DATABASE_URL: p.url(source.url), DUMP_DIRECTORY: dir, BACKUP_DIRECTORY: dirs.backups, DISK_RESERVE_MB: '0' } });
    await until(async () => (await readdir(dir)).some((f) => f.endsWith('.partial')) && p.forwarded.down > MB, 30_000, 'the export is writing');
    await fillUp(dir);
    const run = await running;
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`^mbsync export: \\[DUMP_OUTPUT_NOT_WRITABLE\\] cannot write ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left on device$`, 'm'));
    assert.deepEqual((await readdir(dir)).sort(), ['filler'], 'no partial file, no manifest');
    await assertNoSessions([source.name]);
  });

  test('export: a disk already too small is refused before anything is written (JOBS_INSUFFICIENT_DISK_SPACE)', async () => {
    const dir = await tmpfs(2);
    const out = join(dir, 'small.sql');
    const run = await runCli(['export', '--from', 'fsrc', '--out', out], { cwd: dirs.root, env: { FSRC_DATABASE_URL: source.url, DUMP_DIRECTORY: dir, BACKUP_DIRECTORY: dirs.backups } });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /\[JOBS_INSUFFICIENT_DISK_SPACE\] not enough disk space for the export of fsrc in /);
    assert.deepEqual(await readdir(dir), []);
    await assertNoSessions([source.name]);
  });

  test('sync: the backup directory fills up during the backup → the sync fails naming the backup file; target unchanged, no partial file', async () => {
    // a target with rows, so that its backup takes a while to write
    const target = await createTarget('faults_disk_tgt');
    cleanup.push(() => target.drop());
    await target.sql.unsafe(`CREATE TABLE public.history AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) || md5((g * 7)::text) AS v FROM generate_series(1, 60000) g`);
    const before = await snapshotDatabase(target.sql);
    const backups = await tmpfs(24);
    const targetProxy = await proxy(target);
    targetProxy.apply({ kind: 'throttle', bytesPerSecond: MB }, { direction: 'down' });
    let filling: Promise<void> | null = null;
    const run = await watchedSync({
      sourceUrl: source.url,
      targetUrl: targetProxy.url(target.url),
      dumps: dirs.dumps,
      backups,
      stallSeconds: 5,
      onProgress: (p) => {
        if (p.phase === 'backup' && p.bytesDone > 0 && !filling) filling = fillUp(backups);
      },
    });
    assert.ok(filling, 'the backup was under way when the disk filled');
    await filling;
    assert.ok(run.error, 'the sync failed');
    assert.equal(run.failure?.code, 'DUMP_OUTPUT_NOT_WRITABLE', run.failure?.message);
    assert.match(run.failure!.message, new RegExp(`^cannot write ${backups}/ftgt-[^ ]+: no space left on device$`));
    await assertUnchanged(target, before);
    assert.deepEqual(await readdir(backups), ['filler'], 'no partial backup, no manifest');
    await assertNoSessions([source.name, target.name]);
  });
});
