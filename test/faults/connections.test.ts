// PostgreSQL connections failing under a sync: cut (FIN) and reset (RST) mid-COPY on either side, sessions
// terminated by the server, a slow link. Every failure must leave the target exactly as it was, no session of
// ours on either server and no partial file, and be classified as transient (the worker retries it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { ADMIN_URL, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { assertCopied, assertNoPartialFiles, assertNoSessions, assertUnchanged, createSource, createTarget, scratch, until } from './support/fixtures.js';
import { startTcpProxy, upstreamOf, type Direction, type FaultAction } from './support/tcp-proxy.js';
import { watchedSync, type WatchedSyncInput } from './support/watched-sync.js';

/** ~5 MB of COPY text: the cuts below land well inside the data. */
const ROWS = 40_000;
const MB = 1 << 20;

describe('faults: PostgreSQL connections cut, reset, terminated and throttled under a sync', { timeout: 120_000 }, () => {
  let source: TestDatabase;
  let dirs: Awaited<ReturnType<typeof scratch>>;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    [source, dirs] = await Promise.all([createSource('faults_conn_src', ROWS), scratch('conn')]);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await source?.drop();
    await dirs?.remove();
  });

  async function setup(name: string) {
    const target = await createTarget(`faults_conn_${name}`);
    const [sourceProxy, targetProxy] = await Promise.all([startTcpProxy(upstreamOf(source.url)), startTcpProxy(upstreamOf(target.url))]);
    cleanup.push(() => target.drop(), () => sourceProxy.close(), () => targetProxy.close());
    const before = await snapshotDatabase(target.sql);
    const input = (extra: Partial<WatchedSyncInput> = {}): WatchedSyncInput => ({
      sourceUrl: sourceProxy.url(source.url),
      targetUrl: targetProxy.url(target.url),
      dumps: dirs.dumps,
      backups: dirs.backups,
      ...extra,
    });
    return { target, sourceProxy, targetProxy, before, input };
  }

  /** The end state every failed run must leave. */
  async function assertCleanFailure(target: TestDatabase, before: Awaited<ReturnType<typeof snapshotDatabase>>): Promise<void> {
    await assertUnchanged(target, before);
    await assertNoSessions([source.name, target.name]);
    await assertNoPartialFiles(dirs.dumps, dirs.backups);
  }

  const cases: { what: string; side: 'source' | 'target'; direction: Direction; action: FaultAction; keepDump?: boolean }[] = [
    { what: 'source connection cut mid-COPY (streaming sync)', side: 'source', direction: 'down', action: { kind: 'cut' } },
    { what: 'source connection reset mid-COPY (streaming sync)', side: 'source', direction: 'down', action: { kind: 'reset' } },
    { what: 'source connection cut mid-COPY (sync through a dump file)', side: 'source', direction: 'down', action: { kind: 'cut' }, keepDump: true },
    { what: 'target connection cut mid-COPY', side: 'target', direction: 'up', action: { kind: 'cut' } },
    { what: 'target connection reset mid-COPY', side: 'target', direction: 'up', action: { kind: 'reset' } },
  ];
  for (const c of cases) {
    test(`${c.what}: fails as a transient connection error, target unchanged, no session, no partial file`, async (t) => {
      const { target, sourceProxy, targetProxy, before, input } = await setup(c.what.split(' ')[1]! + c.action.kind + (c.keepDump ? 'file' : ''));
      const proxy = c.side === 'source' ? sourceProxy : targetProxy;
      const fired = proxy.after(1.5 * MB, c.direction, c.action);
      const run = await watchedSync(input({ keepDump: c.keepDump }));
      await fired;
      t.diagnostic(`${run.ms} ms: ${run.failure?.code}: ${run.failure?.message}`);
      assert.ok(run.error, 'the sync failed');
      assert.equal(run.failure?.action, 'retry', `${run.failure?.code}: ${run.failure?.message}`);
      assert.match(run.failure!.code, /^(DUMP_CONNECTION_FAILED|JOBS_CONNECTION_FAILED|DUMP_IMPORT_FAILED)$/);
      // names the environment (a parallel sync names the target for a cut source lane: see docs/reliability.md)
      assert.match(run.failure!.message, /"(fsrc|ftgt)"/);
      assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
      await assertCleanFailure(target, before);
      if (c.keepDump) assert.deepEqual((await import('node:fs/promises').then((fs) => fs.readdir(dirs.dumps))).filter((f) => f.startsWith('fsrc')), [], 'no dump file');
    });
  }

  for (const side of ['source', 'target'] as const) {
    test(`pg_terminate_backend of the ${side} session mid-sync: transient failure, target unchanged; the retry completes`, async () => {
      const { target, targetProxy, before, input } = await setup(`term_${side}`);
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      cleanup.push(() => admin.end());
      const datname = side === 'source' ? source.name : target.name;
      const running = watchedSync(input({ noBackup: true }));
      // rows are flowing into the target: both sides are mid-COPY
      await until(() => targetProxy.forwarded.up > 1.5 * MB, 20_000, 'the COPY into the target started');
      // every session of the sync on that side (the coordinator and, in a parallel sync, its lanes)
      const [row] = await admin<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = ${datname} AND application_name LIKE 'mbsync sync %'`;
      const run = await running;
      assert.ok((row?.n ?? 0) >= 1, 'sessions terminated');
      assert.equal(run.failure?.action, 'retry', `${run.failure?.code}: ${run.failure?.message}`);
      assert.match(run.failure!.message, /terminat|cannot reach|connection/i);
      await assertCleanFailure(target, before);
      // the worker retries it: the same sync now completes
      const retry = await watchedSync(input({ noBackup: true }));
      assert.equal(retry.error, null, String(retry.error));
      await assertCopied(target, source);
      await assertNoSessions([source.name, target.name]);
    });
  }

  test('throttled source (slow link, 2 MB/s): slow, but the watchdog (1 s) stays quiet and the copy is complete', async (t) => {
    const { target, sourceProxy, input } = await setup('throttle');
    sourceProxy.apply({ kind: 'throttle', bytesPerSecond: 2 * MB }, { direction: 'down' });
    const run = await watchedSync(input({ stallSeconds: 1 }));
    t.diagnostic(`${run.ms} ms, phases ${run.phases.join(' → ')}`);
    assert.equal(run.error, null, String(run.error));
    assert.ok(run.ms >= 2_000, `5 MB at 2 MB/s took only ${run.ms} ms`);
    assert.equal(run.result?.verify?.rows, ROWS + 10);
    await assertCopied(target, source);
    await assertNoSessions([source.name, target.name]);
    await until(async () => (await import('node:fs/promises').then((fs) => fs.readdir(dirs.backups))).length > 0, 1_000, 'a backup was taken');
    await assertNoPartialFiles(dirs.dumps, dirs.backups);
  });
});
