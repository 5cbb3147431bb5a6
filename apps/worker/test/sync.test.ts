import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enqueueJob, type JobProgressUpdate, parseFailedReason, SyncJobOutputSchema } from '@mbsync/jobs';
import { snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { Value } from 'typebox/value';
import { createSourceDatabase, createTargetDatabase } from './support/databases.js';
import { TEST_REDIS_URL, openTestQueue, waitForFinished, type TestQueue } from './support/queues.js';
import { startReadyWorker, testWorkerEnv, type WorkerProcess } from './support/worker-process.js';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 'p';

// Small tables only (each COPY < 16 kB): see the postgres.js CopyDone note in the report.
describe('worker: sync job end to end, payload errors, retries', { timeout: 120_000 }, () => {
  let q: TestQueue;
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  let worker: WorkerProcess;

  before(async () => {
    q = await openTestQueue('sync');
    [source, target] = await Promise.all([createSourceDatabase('wsync_src', 100), createTargetDatabase('wsync_tgt')]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-worker-sync-'));
    worker = await startReadyWorker({
      ...testWorkerEnv({ redisUrl: TEST_REDIS_URL, prefix: q.prefix, dumpDirectory: join(dir, 'dumps'), backupDirectory: join(dir, 'backups') }),
      WSRC_DATABASE_URL: source.url,
      WTGT_DATABASE_URL: target.url,
      WBROKEN_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing',
      STAGING_DATABASE_URL: target.url,
    });
  });

  after(async () => {
    await worker?.kill();
    await q?.close();
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a sync job through a dump file copies source to target; progress arrives in order through QueueEvents', async () => {
    const progress: JobProgressUpdate[] = [];
    let jobId = '';
    const early: { jobId: string; data: unknown }[] = [];
    q.events.on('progress', (event) => (jobId ? event.jobId === jobId && progress.push(event.data as JobProgressUpdate) : early.push(event)));
    jobId = await enqueueJob(q.queue, 'sync', { source: 'wsrc', target: 'wtgt', keepDump: true, acceptDataLoss: true });
    for (const e of early) if (e.jobId === jobId) progress.push(e.data as JobProgressUpdate);
    const { state, job } = await waitForFinished(q.queue, jobId, 60_000);
    assert.equal(state, 'completed', job?.failedReason);
    assert.ok(Value.Check(SyncJobOutputSchema, job!.returnvalue), JSON.stringify(job!.returnvalue));
    assert.equal(job!.returnvalue.import.rows, 110);
    assert.match(job!.returnvalue.dumpFile ?? '', /^wsrc-.*\.sql$/);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));

    await new Promise((r) => setTimeout(r, 300)); // the last progress events may trail the completion
    assert.ok(progress.length >= 4, `only ${progress.length} progress events`);
    const phases = progress[0]!.phases;
    assert.deepEqual(phases, ['export', 'validate', 'backup', 'import', 'verify']);
    let last = { phase: -1, percent: 0 };
    for (const p of progress) {
      assert.equal(p.attempt, 1);
      const index = phases.indexOf(p.phase);
      assert.ok(index >= last.phase, `phase ${p.phase} after ${phases[last.phase]}`);
      if (index === last.phase) assert.ok(p.percent >= last.percent, `percent went back in ${p.phase}: ${last.percent} → ${p.percent}`);
      last = { phase: index, percent: p.percent };
    }
    assert.deepEqual([...new Set(progress.map((p) => p.phase))], ['export', 'validate', 'backup', 'import', 'verify']);
  });

  test('a streaming sync job (no dump file) copies source to target', async () => {
    await target.sql.unsafe('DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE TABLE public.other (x int); INSERT INTO public.other VALUES (1)');
    const id = await enqueueJob(q.queue, 'sync', { source: 'wsrc', target: 'wtgt', acceptDataLoss: true });
    const { state, job } = await waitForFinished(q.queue, id, 60_000);
    assert.equal(state, 'completed', job?.failedReason);
    assert.ok(Value.Check(SyncJobOutputSchema, job!.returnvalue), JSON.stringify(job!.returnvalue));
    assert.equal(job!.returnvalue.dumpFile, null);
    assert.notEqual(job!.returnvalue.import.backupId, null);
    // the source is on loopback: auto measured it near and sent binary
    assert.equal(job!.returnvalue.copyFormat?.chosen, 'binary', JSON.stringify(job!.returnvalue.copyFormat));
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });

  const permanent: [string, string, Record<string, unknown>, string][] = [
    ['a payload with a URL in it', 'sync', { source: 'wsrc', target: 'wtgt', url: `postgres://u:${FAKE_PASSWORD}@h/db` }, 'JOBS_PAYLOAD_INVALID'],
    ['a payload with a missing field', 'import', { target: 'wtgt' }, 'JOBS_PAYLOAD_INVALID'],
    ['a path instead of a dump file name', 'import', { target: 'wtgt', file: '../../etc/passwd.sql' }, 'JOBS_PAYLOAD_INVALID'],
    ['an unknown environment', 'sync', { source: 'wsrc', target: 'nowhere' }, 'JOBS_UNKNOWN_ENVIRONMENT'],
    ['a protected target', 'sync', { source: 'wsrc', target: 'staging' }, 'JOBS_PROTECTED_TARGET'],
    ['a reindex of an environment without Typesense', 'reindex', { environment: 'wtgt' }, 'JOBS_INVALID_INPUT'],
    ['an unknown job type', 'compact', { target: 'wtgt' }, 'JOBS_UNKNOWN_JOB_TYPE'],
  ];
  for (const [what, type, data, code] of permanent) {
    test(`${what} fails at once with ${code}, not retried`, async () => {
      const job = await q.queue.add(type, data, { attempts: 3, backoff: { type: 'exponential', delay: 100 } });
      const { state, job: done } = await waitForFinished(q.queue, job.id!, 20_000);
      assert.equal(state, 'failed');
      assert.equal(parseFailedReason(done!.failedReason).code, code, done!.failedReason + ' ' + done!.stacktrace?.join('|'));
      assert.equal(done!.attemptsMade, 1);
      assert.doesNotMatch(done!.failedReason, /postgres:\/\/[^*]/);
    });
  }

  test('a transient error (connection refused) is retried with backoff until attempts run out', async () => {
    const started = Date.now();
    const id = await enqueueJob(q.queue, 'export', { source: 'wbroken' }, { attempts: 3, backoffMs: 200 });
    const { state, job } = await waitForFinished(q.queue, id, 30_000);
    assert.equal(state, 'failed');
    assert.equal(parseFailedReason(job!.failedReason).code, 'DUMP_CONNECTION_FAILED', job!.failedReason);
    assert.equal(job!.attemptsMade, 3);
    // backoff 200 ms then 400 ms
    assert.ok(Date.now() - started >= 600, `retries came after ${Date.now() - started} ms`);
  });
});
