import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enqueueJob } from '@mbsync/jobs';
import type { TestDatabase } from '@mbsync/testkit';
import { createSourceDatabase } from './support/databases.js';
import { TEST_REDIS_URL, openTestQueue, waitForFinished, type TestQueue } from './support/queues.js';
import { startReadyWorker, testWorkerEnv, type WorkerProcess } from './support/worker-process.js';

describe('worker: two worker processes on one queue', { timeout: 120_000 }, () => {
  let q: TestQueue;
  let sources: TestDatabase[] = [];
  let dir: string;
  const workers: WorkerProcess[] = [];

  before(async () => {
    q = await openTestQueue('scale');
    sources = await Promise.all([createSourceDatabase('wscale_a', 100), createSourceDatabase('wscale_b', 100)]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-worker-scale-'));
    const env = {
      ...testWorkerEnv({ redisUrl: TEST_REDIS_URL, prefix: q.prefix, dumpDirectory: join(dir, 'dumps'), backupDirectory: join(dir, 'backups') }),
      WORKER_CONCURRENCY: '1',
      WSRCA_DATABASE_URL: sources[0]!.url,
      WSRCB_DATABASE_URL: sources[1]!.url,
    };
    workers.push(...(await Promise.all([startReadyWorker(env), startReadyWorker(env)])));
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await q?.close();
    await Promise.all(sources.map((s) => s.drop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('two exports from different sources run at the same time in different processes', async () => {
    // Each source's table is locked by the test, so each export waits in LOCK TABLE: seeing both waiting at
    // once in pg_stat_activity proves they run concurrently (each worker takes one job: concurrency 1).
    const holds: Awaited<ReturnType<TestDatabase['sql']['reserve']>>[] = [];
    for (const s of sources) {
      const r = await s.sql.reserve();
      await r.unsafe('BEGIN');
      await r.unsafe('LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE');
      holds.push(r);
    }
    let ids: string[];
    try {
      ids = await Promise.all([enqueueJob(q.queue, 'export', { source: 'wsrca' }), enqueueJob(q.queue, 'export', { source: 'wsrcb' })]);
      let waiting = 0;
      for (let i = 0; i < 200 && waiting < 2; i++) {
        const [row] = await sources[0]!.sql<{ n: number }[]>`
          SELECT count(DISTINCT datname)::int AS n FROM pg_stat_activity
          WHERE application_name LIKE 'mbsync export [%' AND wait_event_type = 'Lock' AND datname IN ${sources[0]!.sql(sources.map((s) => s.name))}`;
        waiting = row!.n;
        if (waiting < 2) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(waiting, 2, 'both exports were waiting for their source at the same moment');
    } finally {
      for (const r of holds) {
        await r.unsafe('ROLLBACK');
        r.release();
      }
    }
    const results = [];
    for (const id of ids) {
      const { state, job } = await waitForFinished(q.queue, id, 30_000);
      assert.equal(state, 'completed', job?.failedReason);
      results.push(job!.returnvalue as { worker: string; startedAt: string; finishedAt: string; rows: number });
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    assert.notEqual(a.worker, b.worker, 'processed by two processes');
    assert.ok(a.startedAt < b.finishedAt && b.startedAt < a.finishedAt, `no overlap: ${JSON.stringify(results)}`);
    assert.deepEqual(results.map((r) => r.rows), [110, 110]);
  });
});
