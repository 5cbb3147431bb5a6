import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enqueueJob, type JobProgressUpdate } from '@mbsync/jobs';
import { pgDumpToFile, type TestDatabase } from '@mbsync/testkit';
import { createSourceDatabase, createTargetDatabase } from './support/databases.js';
import { tableFingerprint } from './support/dump-files.js';
import { openTestQueue, waitForFinished, type TestQueue } from './support/queues.js';
import { PrivateRedis, freePort } from './support/redis-server.js';
import { startReadyWorker, testWorkerEnv, type WorkerProcess } from './support/worker-process.js';

// Uses its own redis-server: the shared one is not ours to stop.
describe('worker: Redis restarted under a running job', { timeout: 180_000 }, () => {
  let redis: PrivateRedis;
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  let worker: WorkerProcess | undefined;
  let q: TestQueue | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-worker-redis-'));
    await mkdir(join(dir, 'dumps'));
    await mkdir(join(dir, 'redis'));
    redis = new PrivateRedis(await freePort(), join(dir, 'redis'));
    await redis.start();
    [source, target] = await Promise.all([createSourceDatabase('wredis_src', 500_000), createTargetDatabase('wredis_tgt')]);
    pgDumpToFile(source.url, join(dir, 'dumps', 'big.sql'));
  });

  after(async () => {
    await worker?.kill();
    await q?.close().catch(() => {});
    await redis?.kill();
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the worker reconnects: the running job completes, and after a data-losing restart new jobs still run', async () => {
    q = await openTestQueue('redis', redis.url);
    worker = await startReadyWorker({
      ...testWorkerEnv({ redisUrl: redis.url, prefix: q.prefix, dumpDirectory: join(dir, 'dumps'), backupDirectory: join(dir, 'backups') }),
      WSRC_DATABASE_URL: source.url,
      WTGT_DATABASE_URL: target.url,
      WORKER_LOCK_DURATION_MS: '10000',
    });
    const id = await enqueueJob(q.queue, 'import', { target: 'wtgt', file: 'big.sql', noBackup: true });
    await new Promise<void>((resolve) => {
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === id && (data as JobProgressUpdate).phase === 'import') {
          q!.events.off('progress', onProgress);
          resolve();
        }
      };
      q!.events.on('progress', onProgress);
    });
    // a restart that keeps the data (SHUTDOWN SAVE → dump.rdb → start)
    await redis.shutdownSaving();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    const { state, job } = await waitForFinished(q.queue, id, 60_000);
    assert.equal(state, 'completed', job?.failedReason);
    assert.deepEqual(await tableFingerprint(target, 'public.items', 'id'), await tableFingerprint(source, 'public.items', 'id'));
    assert.equal(worker.child.exitCode, null, 'the worker is still running');

    // a restart that loses everything: the worker survives and takes new jobs
    await redis.kill();
    await rm(join(dir, 'redis', 'dump.rdb'), { force: true });
    await redis.start();
    const next = await enqueueJob(q.queue, 'reindex', { environment: 'wtgt' });
    const second = await waitForFinished(q.queue, next, 30_000);
    assert.equal(second.state, 'failed');
    assert.match(second.job!.failedReason, /^JOBS_INVALID_INPUT: environment "wtgt" has no Typesense/);
    assert.equal(worker.child.exitCode, null);
  });
});
