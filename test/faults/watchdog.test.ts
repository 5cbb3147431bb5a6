// The stall watchdog (STALL_TIMEOUT_SECONDS): a black-holed connection fails the job within about the timeout
// instead of hanging it, with the target untouched and no session left; a server busy for us, a lock wait, a slow
// link or local work is not a stall.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { openDatabase, watchForStalls } from '@mbsync/execution';
import { describeEnvironment, JobsError } from '@mbsync/jobs';
import { snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { assertCopied, assertNoPartialFiles, assertNoSessions, assertUnchanged, createSource, createTarget, ourSessions, scratch } from './support/fixtures.js';
import { startTcpProxy, upstreamOf, type Direction, type FaultScope, type TcpProxy } from './support/tcp-proxy.js';
import { watchedSync } from './support/watched-sync.js';

const ROWS = 40_000;
const MB = 1 << 20;
const STALL_SECONDS = 2;
/** timeout + probe (≤ 2 s at this timeout) + grace (1 s) + the run winding down, on a loaded machine */
const FAIL_WITHIN_MS = STALL_SECONDS * 1000 + 8_000;

describe('faults: the stall watchdog', { timeout: 120_000 }, () => {
  let source: TestDatabase;
  let dirs: Awaited<ReturnType<typeof scratch>>;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    [source, dirs] = await Promise.all([createSource('faults_stall_src', ROWS), scratch('stall')]);
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await source?.drop();
    await dirs?.remove();
  });

  async function setup(name: string) {
    const target = await createTarget(`faults_stall_${name}`);
    const [sourceProxy, targetProxy] = await Promise.all([startTcpProxy(upstreamOf(source.url)), startTcpProxy(upstreamOf(target.url))]);
    cleanup.push(() => target.drop(), () => sourceProxy.close(), () => targetProxy.close());
    return { target, sourceProxy, targetProxy, before: await snapshotDatabase(target.sql) };
  }

  const blackHoles: { what: string; side: 'source' | 'target'; direction: Direction; scope: FaultScope; message: RegExp }[] = [
    // the whole path to the source is dead: the probe cannot connect either
    { what: 'source black-holed mid-COPY (network dead)', side: 'source', direction: 'down', scope: 'all', message: /cannot reach source "fsrc"/ },
    // only the open connections hang (a NAT entry dropped): the probe connects and sees our sessions waiting on us
    { what: 'source connections black-holed mid-COPY (server reachable)', side: 'source', direction: 'down', scope: 'existing', message: /connections stalled, no session is working on the server: .*"fsrc"/ },
    { what: 'target connections black-holed mid-COPY (server reachable)', side: 'target', direction: 'up', scope: 'existing', message: /connections stalled, no session is working on the server: .*"ftgt"/ },
  ];
  for (const c of blackHoles) {
    test(`${c.what}: JOBS_STALLED within the timeout, retried by the worker; target unchanged, no session, no partial file`, async (t) => {
      const { target, sourceProxy, targetProxy, before } = await setup(`${c.side}_${c.scope}`);
      const proxy = c.side === 'source' ? sourceProxy : targetProxy;
      let firedAt = 0;
      const fired = proxy.after(1.5 * MB, c.direction, { kind: 'blackhole' }, c.scope).then(() => (firedAt = Date.now()));
      const run = await watchedSync({ sourceUrl: sourceProxy.url(source.url), targetUrl: targetProxy.url(target.url), dumps: dirs.dumps, backups: dirs.backups, stallSeconds: STALL_SECONDS });
      await fired;
      const sinceFault = Date.now() - firedAt;
      t.diagnostic(`failed ${sinceFault} ms after the black hole: ${run.failure?.message}`);
      assert.ok(run.error instanceof JobsError, String(run.error));
      assert.equal(run.failure?.code, 'JOBS_STALLED');
      assert.equal(run.failure?.action, 'retry');
      assert.match(run.failure!.message, /^no progress for \d+ s/);
      assert.match(run.failure!.message, c.message);
      assert.doesNotMatch(run.failure!.message, /postgres:\/\//, 'no URL in the message');
      assert.ok(firedAt > 0 && sinceFault < FAIL_WITHIN_MS, `failed ${sinceFault} ms after the fault (limit ${FAIL_WITHIN_MS})`);
      await assertUnchanged(target, before);
      await assertNoPartialFiles(dirs.dumps, dirs.backups);
      if (c.scope === 'all') {
        // the target's sessions were ended by the watchdog; the source's stay until its server sees the dead
        // connection (here: until the path is closed), as they would behind a real dead network
        await assertNoSessions([target.name]);
        await sourceProxy.close();
      }
      await assertNoSessions([source.name, target.name]);
    });
  }

  test('a statement waiting on a lock longer than the timeout is not a stall: the sync completes', async () => {
    const { target, sourceProxy, targetProxy } = await setup('lockwait');
    // the replace must drop public.old_stuff: it waits (active, wait_event_type Lock) while the test holds it
    const holder = await target.sql.reserve();
    await holder.unsafe('BEGIN; LOCK TABLE public.old_stuff IN ACCESS SHARE MODE');
    const running = watchedSync({ sourceUrl: sourceProxy.url(source.url), targetUrl: targetProxy.url(target.url), dumps: dirs.dumps, backups: dirs.backups, stallSeconds: 1, noBackup: true });
    let waited = false;
    for (let i = 0; i < 100 && !waited; i++) {
      await new Promise((r) => setTimeout(r, 50));
      waited = (await ourSessions([target.name])).some((s) => s.state === 'active') && (await target.sql`SELECT 1 FROM pg_stat_activity WHERE datname = ${target.name} AND wait_event_type = 'Lock'`).length > 0;
    }
    assert.ok(waited, 'the import waited for the lock');
    await new Promise((r) => setTimeout(r, 3_500));
    await holder.unsafe('ROLLBACK');
    holder.release();
    const run = await running;
    assert.equal(run.error, null, String(run.error));
    await assertCopied(target, source);
    await assertNoSessions([source.name, target.name]);
  });

  test('one long statement (pg_sleep 3 s) under a 1 s timeout is not a stall', async () => {
    const env = describeEnvironment('fsrc', source.url);
    const started = Date.now();
    const rows = await watchForStalls({ timeoutMs: 1_000 }, async ({ scope }) => {
      const sql = openDatabase(env, { role: 'source', applicationName: 'mbsync export', scope });
      try {
        return await sql`SELECT pg_sleep(3), 1 AS ok`;
      } finally {
        await sql.end({ timeout: 1 });
      }
    });
    assert.equal(rows[0]?.ok, 1);
    assert.ok(Date.now() - started >= 3_000);
  });

  test('local work with no database connection open (a file being hashed) is not a stall', async () => {
    const value = await watchForStalls({ timeoutMs: 300 }, () => new Promise((r) => setTimeout(() => r('done'), 1_500)));
    assert.equal(value, 'done');
  });

  test('a query black-holed outside any job step: every await is bounded, sockets destroyed, the session terminated', async () => {
    const proxy: TcpProxy = await startTcpProxy(upstreamOf(source.url));
    cleanup.push(() => proxy.close());
    const env = describeEnvironment('fsrc', proxy.url(source.url));
    let pool: postgres.Sql | null = null;
    const started = Date.now();
    await assert.rejects(
      watchForStalls({ timeoutMs: 1_000 }, async ({ scope }) => {
        pool = openDatabase(env, { role: 'source', applicationName: 'mbsync export', scope });
        await pool`SELECT 1`;
        proxy.apply({ kind: 'blackhole' }, { scope: 'existing' });
        // the answer never comes back
        await pool.begin(async (tx) => tx`SELECT count(*) FROM generate_series(1, 1000)`);
      }),
      (e: unknown) => e instanceof JobsError && e.code === 'JOBS_STALLED' && /connections stalled.*source "fsrc": idle/.test(e.message),
    );
    assert.ok(Date.now() - started < 6_000, `took ${Date.now() - started} ms`);
    await assertNoSessions([source.name]);
  });
});
