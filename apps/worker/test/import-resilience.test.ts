import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enqueueJob, type JobProgressUpdate, jobStatus, parseFailedReason, requestCancel } from '@mbsync/jobs';
import { pgDumpToFile, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { createSourceDatabase, createTargetDatabase, idleInTransaction } from './support/databases.js';
import { tableFingerprint } from './support/dump-files.js';
import { TEST_REDIS_URL, openTestQueue, waitForFinished, type TestQueue } from './support/queues.js';
import { startReadyWorker, testWorkerEnv, type WorkerProcess } from './support/worker-process.js';

/** ~100 MB dump (pg_dump plain format): its import takes a few seconds here. */
const ROWS = 800_000;

describe('worker: imports survive crashes, shutdowns and cancels; one writer per target', { timeout: 300_000 }, () => {
  let source: TestDatabase;
  let dir: string;
  const targets: TestDatabase[] = [];
  const queues: TestQueue[] = [];
  const workers: WorkerProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-worker-import-'));
    await mkdir(join(dir, 'dumps'));
    source = await createSourceDatabase('wimp_src', ROWS);
    // pg_dump output: the importer reads it too, and the test does not depend on the exporter
    pgDumpToFile(source.url, join(dir, 'dumps', 'big.sql'));
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await Promise.all(queues.map((q) => q.close()));
    await Promise.all([source?.drop(), ...targets.map((t) => t.drop())]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup(name: string) {
    const q = await openTestQueue(name);
    queues.push(q);
    const target = await createTargetDatabase(`wimp_${name}`);
    targets.push(target);
    const env = (extra: Record<string, string> = {}) => ({
      ...testWorkerEnv({ redisUrl: TEST_REDIS_URL, prefix: q.prefix, dumpDirectory: join(dir, 'dumps'), backupDirectory: join(dir, `backups-${name}`) }),
      WSRC_DATABASE_URL: source.url,
      WTGT_DATABASE_URL: target.url,
      ...extra,
    });
    const start = async (extra: Record<string, string> = {}) => {
      const w = await startReadyWorker(env(extra));
      workers.push(w);
      return w;
    };
    return { q, target, start };
  }

  /** Resolves when the job reports import progress with bytes done (the import transaction is writing). */
  function importing(q: TestQueue, jobId: string): Promise<void> {
    return progressed(q, jobId, (p) => p.phase === 'import' && p.bytesDone > 0);
  }

  function progressed(q: TestQueue, jobId: string, match: (p: JobProgressUpdate) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching progress')), timeoutMs);
      const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
        if (id === jobId && match(data as JobProgressUpdate)) {
          clearTimeout(timer);
          q.events.off('progress', onProgress);
          resolve();
        }
      };
      q.events.on('progress', onProgress);
    });
  }

  async function assertTargetUntouched(target: TestDatabase) {
    const snapshot = await snapshotDatabase(target.sql);
    assert.deepEqual(snapshot.tables, { 'public.old_stuff': ['(1,before)'] });
    for (let i = 0; i < 50 && (await idleInTransaction(target, target.name)) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await idleInTransaction(target, target.name), 0, 'a session was left idle in transaction');
  }

  async function assertTargetEqualsSource(target: TestDatabase) {
    assert.deepEqual(await tableFingerprint(target, 'public.items', 'id'), await tableFingerprint(source, 'public.items', 'id'));
    assert.deepEqual(await snapshotDatabase(target.sql, ['public']).then((s) => s.sequences), await snapshotDatabase(source.sql, ['public']).then((s) => s.sequences));
    assert.deepEqual((await snapshotDatabase(target.sql)).tables['public.kinds'], (await snapshotDatabase(source.sql)).tables['public.kinds']);
  }

  test('cancel: waiting and delayed jobs are removed; an active import is rolled back and ends CANCELLED', async () => {
    const { q, target, start } = await setup('cancel');
    await start({ WORKER_CONCURRENCY: '1' });
    const active = await enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql', noBackup: true });
    await importing(q, active);
    const waiting = await enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql', noBackup: true });
    const delayed = (await q.queue.add('import', { target: 'wtgt', file: 'big.sql' }, { delay: 60_000 })).id!;
    assert.equal(await (await q.queue.getJob(waiting))!.getState(), 'waiting');
    assert.equal(await requestCancel(q, waiting), 'removed');
    assert.equal(await requestCancel(q, delayed), 'removed');
    assert.equal(await q.queue.getJob(waiting), undefined);
    assert.equal(await q.queue.getJob(delayed), undefined);

    const requested = Date.now();
    assert.equal(await requestCancel(q, active), 'cancelling');
    const { state, job } = await waitForFinished(q.queue, active, 30_000);
    assert.equal(state, 'failed');
    assert.equal(parseFailedReason(job!.failedReason).code, 'CANCELLED', job!.failedReason);
    assert.equal(jobStatus(state, job!.failedReason), 'cancelled');
    assert.equal(job!.attemptsMade, 1, 'a cancelled job is not retried');
    assert.ok(Date.now() - requested < 5_000, `cancel took ${Date.now() - requested} ms`);
    assert.equal(await requestCancel(q, active), 'finished');
    await assertTargetUntouched(target);
  });

  test('cancel: an active export stops and leaves no partial file', async () => {
    const { q, start } = await setup('cancelexp');
    await start();
    const id = await enqueueJob(q.queue, 'export', { source: 'wsrc', file: 'cancelled.sql' });
    // cancel while the big table streams (the exporter does not yet honour a cancel while it waits for table locks)
    await progressed(q, id, (p) => p.phase === 'export' && p.bytesDone > 0);
    // the exporter writes `<name>.partial` (or `<name>.<random>.partial`) and renames it when complete
    const files = async () => (await readdir(join(dir, 'dumps'))).filter((f) => f.startsWith('cancelled.'));
    assert.ok((await files()).some((f) => f.endsWith('.partial')), `files: ${(await files()).join(', ')}`);
    assert.equal(await requestCancel(q, id), 'cancelling');
    const { state, job } = await waitForFinished(q.queue, id, 20_000);
    assert.equal(state, 'failed');
    assert.equal(parseFailedReason(job!.failedReason).code, 'CANCELLED', job!.failedReason);
    assert.deepEqual(await files(), []);
  });

  test('kill -9 mid-import: the target is untouched and a second worker finishes the job', async () => {
    const { q, target, start } = await setup('crash');
    const first = await start();
    const id = await enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql' });
    await importing(q, id);
    first.child.kill('SIGKILL');
    await first.exited;
    await assertTargetUntouched(target);
    const second = await start();
    const { state, job } = await waitForFinished(q.queue, id, 90_000);
    assert.equal(state, 'completed', job?.failedReason);
    assert.equal(job!.returnvalue.worker.split(':')[1], String(second.pid));
    assert.ok(second.logs.some((l) => l.jobId === id && l.msg === 'job started'));
    await assertTargetEqualsSource(target);
  });

  test('SIGTERM mid-import: the worker exits 0, the job goes back to the queue and completes later', async () => {
    const { q, target, start } = await setup('sigterm');
    const first = await start({ WORKER_SHUTDOWN_GRACE_MS: '300' });
    const id = await enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql', noBackup: true });
    await importing(q, id);
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, first.stderr());
    const job = await q.queue.getJob(id);
    assert.equal(await job!.getState(), 'waiting');
    assert.equal(job!.attemptsMade, 0, 'a shutdown is not a failed attempt');
    assert.ok(!job!.failedReason);
    await assertTargetUntouched(target);
    await start();
    const { state, job: done } = await waitForFinished(q.queue, id, 90_000);
    assert.equal(state, 'completed', done?.failedReason);
    await assertTargetEqualsSource(target);
  });

  test('two imports into one target submitted at once never overlap (advisory lock + DDL log)', async () => {
    const { q, target, start } = await setup('onewriter');
    // A DDL log outside the replaced schema: every import transaction's DDL, with its txid and time.
    await target.sql.unsafe(`
      CREATE SCHEMA audit;
      CREATE TABLE audit.ddl_log (txid bigint, at timestamptz);
      CREATE FUNCTION audit.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO audit.ddl_log VALUES (txid_current(), clock_timestamp()); END $$;
      CREATE EVENT TRIGGER mbsync_test_log_ddl ON ddl_command_end EXECUTE FUNCTION audit.log_ddl();`);
    const worker = await start({ WORKER_CONCURRENCY: '2' });
    let sampling = true;
    let maxHolders = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await source.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND l.granted AND d.datname = ${target.name}`;
        maxHolders = Math.max(maxHolders, row!.n);
        samples++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const ids = await Promise.all([1, 2].map(() => enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql', noBackup: true })));
      for (const id of ids) {
        const { state, job } = await waitForFinished(q.queue, id, 120_000);
        assert.equal(state, 'completed', job?.failedReason);
      }
    } finally {
      sampling = false;
      await sampler;
      await target.sql.unsafe('DROP EVENT TRIGGER mbsync_test_log_ddl');
    }
    assert.equal(maxHolders, 1, `advisory lock holders seen at once: ${maxHolders} (${samples} samples)`);
    const spans = await target.sql<{ txid: string; first: Date; last: Date }[]>`
      SELECT txid::text, min(at) AS first, max(at) AS last FROM audit.ddl_log GROUP BY txid ORDER BY 2`;
    assert.equal(spans.length, 2, 'two committed import transactions');
    assert.ok(spans[0]!.last < spans[1]!.first, `import transactions overlap: ${JSON.stringify(spans)}`);
    assert.ok(worker.logs.some((l) => l.msg === 'target busy with another import: job waits its turn'), 'the second import waited (delayed)');
    await assertTargetEqualsSource(target);
  });
});
