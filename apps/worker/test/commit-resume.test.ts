// A worker that dies after its sync committed (kill -9 during the reindex): the worker that takes the job over
// finds the commit in the job's record and never copies again: no second export, backup or import; the job
// completes as resumed, and the reindex it still owed is queued as a job of its own.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enqueueJob, readJobRecord } from '@mbsync/jobs';
import { freePort, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { createSourceDatabase, createTargetDatabase } from './support/databases.js';
import { TEST_REDIS_URL, openTestQueue, waitForFinished, type TestQueue } from './support/queues.js';
import { startReadyWorker, testWorkerEnv, type WorkerProcess } from './support/worker-process.js';

describe('worker: the commit point survives the worker', { timeout: 120_000 }, () => {
  let q: TestQueue;
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  /** a "Typesense" that accepts connections and never answers: the reindex after the commit hangs there */
  let silent: Server;
  const sockets = new Set<Socket>();
  const workers: WorkerProcess[] = [];

  before(async () => {
    q = await openTestQueue('resume');
    [source, target] = await Promise.all([createSourceDatabase('wresume_src', 500), createTargetDatabase('wresume_tgt')]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-worker-resume-'));
    const port = await freePort();
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    // a collection of the items source (the built-in specs read the Multiboard schema, which it has not)
    const specs = join(dir, 'specs.json');
    await writeFile(specs, JSON.stringify({ collections: [{ name: 'items', query: 'SELECT i.id, i.name FROM public.items i', fields: [{ name: 'name', type: 'string' }] }] }));
    env = {
      TYPESENSE_SPECS_FILE: specs,
      ...testWorkerEnv({ redisUrl: TEST_REDIS_URL, prefix: q.prefix, dumpDirectory: join(dir, 'dumps'), backupDirectory: join(dir, 'backups') }),
      WORKER_CONCURRENCY: '1',
      WSRC_DATABASE_URL: source.url,
      WTGT_DATABASE_URL: target.url,
      WTGT_TYPESENSE_URL: `http://127.0.0.1:${port}`,
      WTGT_TYPESENSE_API_KEY: 'never-asked',
    };
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await q?.close();
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('kill -9 after the commit: the job is taken over, completes as resumed, one backup, a reindex job queued', async () => {
    const first = await startReadyWorker(env);
    workers.push(first);
    const id = await enqueueJob(q.queue, 'sync', { source: 'wsrc', target: 'wtgt', acceptDataLoss: true });
    await first.waitForLog((l) => l.jobId === id && l.msg === 'import committed: the target is written', 60_000);
    // the record is written before the runner goes on: it is there when the log line is
    const record = await readJobRecord(q.redis, q.queue, id);
    assert.equal(record.targetWritten, true);
    assert.ok(record.backupId);
    assert.equal(record.reindexPending, 'wtgt');
    await first.waitForLog((l) => l.jobId === id && l.phase === 'reindex', 30_000);
    await first.kill();

    const second = await startReadyWorker(env);
    workers.push(second);
    const { state, job } = await waitForFinished(q.queue, id, 60_000);
    assert.equal(state, 'completed', job?.failedReason);
    const output = job?.returnvalue as { resumed?: boolean; targetWritten: boolean; import: { backupId: string | null; rows: number }; reindex: { status: string; followUpJobId: string | null }; warnings: string[] };
    assert.equal(output.resumed, true);
    assert.equal(output.targetWritten, true);
    assert.equal(output.import.backupId, record.backupId);
    assert.equal(output.import.rows, 510);
    assert.equal(output.reindex.status, 'failed');
    assert.ok(output.reindex.followUpJobId, 'the reindex it owed is a job of its own');
    assert.ok(output.warnings.some((w) => /an earlier attempt committed the import/.test(w)));
    assert.ok(second.logs.some((l) => l.jobId === id && l.msg === 'the import committed in an earlier attempt: not copying again'));
    assert.ok(!second.logs.some((l) => l.jobId === id && l.phase === 'export'), 'the second worker exported nothing');

    const backups = (await readdir(join(dir, 'backups'))).filter((f) => f.endsWith('.sql.gz'));
    assert.deepEqual(backups, [record.backupId], 'one backup: the copy ran once');
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    const followUp = await q.queue.getJob(output.reindex.followUpJobId!);
    assert.equal(followUp?.name, 'reindex');
    assert.deepEqual(followUp?.data, { environment: 'wtgt' });
    assert.equal((await readJobRecord(q.redis, q.queue, followUp!.id!)).reindexFor, id);
    assert.equal((await readJobRecord(q.redis, q.queue, id)).reindexJobId, followUp?.id);
  });
});
