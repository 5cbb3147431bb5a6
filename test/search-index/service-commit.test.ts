// The commit point of a write, over HTTP against the real api and worker processes (Typesense: the project's
// contract test server, whose faults these tests inject): a cancel after the import committed answers 409 and the
// job's record says the target was written; a Typesense outage during the reindex completes the sync with a
// warning and queues one reindex job, never a second copy; collection specs are checked against the dump before
// any write; imports and restores reindex too, unless skipReindex; reindex progress only rises.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTypesense, type TypesenseConnection } from '@mbsync/search-index';
import { createDatabase, createItemsDatabase, snapshotDatabase, startServices, type RunningServices, type TestDatabase } from '@mbsync/testkit';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';
import { localOnly } from '../typesense-server/target-server.js';
import { aliasTarget, demoDatabase, documentsById, EXPECTED } from './demo-data.js';
import { API_KEY, REDIS_URL, dropPrefix, openFeed, servicePrefix, type FeedClient, type Message } from './service-support.js';

const COLLECTIONS = ['components', 'parts', 'attributes'] as const;

describe('writes and their search index, over HTTP', { ...localOnly, timeout: 300_000 }, () => {
  let source: TestDatabase;
  let items: TestDatabase;
  let target: TestDatabase;
  let server: TypesenseServer;
  let connection: TypesenseConnection;
  let services: RunningServices;
  let feed: FeedClient;
  let dir: string;
  const prefix = servicePrefix('commit');

  before(async () => {
    [source, items, target, server] = await Promise.all([demoDatabase('svc_commit_src'), createItemsDatabase('svc_commit_items', 50), createDatabase('svc_commit_tgt'), createTypesenseServer()]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-svc-commit-'));
    connection = openTypesense({ url: server.url, apiKey: server.apiKey });
    services = await startServices({
      apiKey: API_KEY,
      apiEnv: { API_KEYS: API_KEY },
      env: {
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        DUMP_DIRECTORY: join(dir, 'dumps'),
        BACKUP_DIRECTORY: join(dir, 'backups'),
        SOURCE_DATABASE_URL: source.url,
        ITEMS_DATABASE_URL: items.url,
        LOCAL_DATABASE_URL: target.url,
        LOCAL_TYPESENSE_URL: server.url,
        LOCAL_TYPESENSE_API_KEY: server.apiKey,
        // a Typesense outage is given up on after 2 s (the default rides out 2 minutes)
        TYPESENSE_RETRY_SECONDS: '2',
      },
      workerEnv: { WORKER_CONCURRENCY: '1' },
    });
    feed = await openFeed(services.base);
    feed.send({ type: 'subscribe', all: true });
  });

  after(async () => {
    feed?.close();
    await services?.stop();
    connection?.close();
    await server?.close();
    await dropPrefix(prefix);
    await Promise.all([source?.drop(), items?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const aliases = async () => Object.fromEntries(await Promise.all(COLLECTIONS.map(async (c) => [c, await aliasTarget(connection.client, c)] as const)));
  const backups = async () => (await readdir(join(dir, 'backups')).catch(() => [] as string[])).filter((f) => f.endsWith('.sql.gz')).length;

  async function assertIndexed(): Promise<void> {
    for (const name of COLLECTIONS) assert.deepEqual([...(await documentsById(connection.client, name)).keys()].sort(), Object.keys(EXPECTED[name]).sort(), name);
  }

  test('a sync reindexes last: the job records the commit and its backup; its progress rises across the three collections', async () => {
    const started = await services.request('POST', '/api/sync/sync', { from: 'source', to: 'local' });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const id = started.json.id as string;
    const done = await services.waitForJob(id);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    assert.equal(done.targetWritten, true);
    assert.ok(done.backupId && done.backupId === done.result.import.backupId, `backup ${done.backupId}`);
    assert.ok(Date.parse(done.committedAt) <= Date.parse(done.finishedAt));
    assert.equal(done.result.targetWritten, true);
    assert.deepEqual(done.result.reindex, {
      status: 'completed', collections: [...COLLECTIONS], documents: 9, followUpJobId: null,
      // a first copy: every collection built anew
      byCollection: COLLECTIONS.map((name) => ({ name, mode: 'rebuilt', upserted: 3, deleted: 0, documents: 3 })),
    });
    assert.deepEqual(done.result.warnings, []);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    await assertIndexed();

    // what a WebSocket client saw: the percent never went back, and the reindex reported every collection
    const progress = feed.messages.filter((m: Message) => m.jobId === id && m.type === 'progress');
    const percents = progress.map((m) => m.percent as number);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, `percent went back: ${percents.join(', ')}`);
    const reindexing = progress.filter((m) => m.progress.phase === 'reindex');
    assert.deepEqual([...new Set(reindexing.map((m) => m.progress.table).filter((t) => t !== null))], [...COLLECTIONS], 'progress of every collection reached the socket');
    assert.equal(reindexing.at(-1)?.progress.percent, 100);
  });

  test('a cancel after the commit answers 409 API_JOB_COMMITTED; the job completes and every alias moves', async () => {
    const before = await aliases();
    // the first collection's import is slow: the job sits in its reindex, after the commit
    server.faults.inject({ kind: 'latency', ms: 3000, count: 1, match: { method: 'POST', pathPrefix: '/collections/components_' } });
    // a full copy: a re-sync of unchanged data would update the collections by id (none changed) instead of rebuilding
    const id = (await services.request('POST', '/api/sync/sync', { from: 'source', to: 'local', full: true })).json.id as string;
    const committed = await services.waitForJob(id, (v) => v.targetWritten === true || v.state !== 'waiting' && v.state !== 'active', 60_000);
    assert.equal(committed.state, 'active', JSON.stringify(committed));
    const cancel = await services.request('DELETE', `/api/jobs/${id}`);
    assert.equal(cancel.status, 409, JSON.stringify(cancel.json));
    assert.equal(cancel.json.error.code, 'API_JOB_COMMITTED');
    assert.equal(cancel.json.error.details.targetWritten, true);
    assert.equal(cancel.json.error.details.backupId, committed.backupId);
    assert.match(cancel.json.error.message, /already committed its import .*the target is written/);

    const done = await services.waitForJob(id);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    assert.equal(done.result.reindex.status, 'completed');
    const moved = await aliases();
    for (const name of COLLECTIONS) assert.ok(moved[name] && moved[name] !== before[name], `${name}: ${before[name]} → ${moved[name]}`);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });

  test('Typesense down during the reindex: the sync completes with a warning, one reindex job follows; nothing is copied again', async () => {
    const before = await aliases();
    const backupsBefore = await backups();
    // nothing of a sync talks to Typesense before its commit
    await server.down();
    let up = false;
    try {
      const id = (await services.request('POST', '/api/sync/sync', { from: 'source', to: 'local' })).json.id as string;
      const done = await services.waitForJob(id);
      assert.equal(done.state, 'completed', JSON.stringify(done));
      assert.equal(done.attempts, 1, 'one attempt, never retried');
      assert.equal(done.targetWritten, true);
      const reindex = done.result.reindex;
      assert.equal(reindex.status, 'failed');
      assert.equal(reindex.error.code, 'SEARCH_INDEX_UNAVAILABLE');
      assert.ok(reindex.followUpJobId, 'a reindex job was queued');
      assert.equal(done.related.reindexJobId, reindex.followUpJobId);
      assert.ok(done.result.warnings.some((w: string) => /search index was not rebuilt \(SEARCH_INDEX_UNAVAILABLE/.test(w)), done.result.warnings.join('\n'));
      assert.ok(done.result.warnings.some((w: string) => w.includes(`reindex job ${reindex.followUpJobId} was queued`)));
      assert.equal(await backups(), backupsBefore + 1, 'one backup for the one copy');
      // (read from the server's memory: it answers no request while down)
      assert.deepEqual(Object.fromEntries(COLLECTIONS.map((c) => [c, server.state.aliases.get(c)])), before, 'the old collections still serve');

      // the follow-up fails while Typesense is down, and waits for its next attempt showing why
      const waiting = await services.waitForJob(reindex.followUpJobId, (v) => v.state === 'delayed', 60_000);
      assert.equal(waiting.type, 'reindex');
      assert.deepEqual(waiting.payload, { environment: 'local' });
      assert.equal(waiting.related.reindexFor, id);
      assert.equal(waiting.lastError.code, 'SEARCH_INDEX_UNAVAILABLE');
      await server.up();
      up = true;
      const followed = await services.waitForJob(reindex.followUpJobId);
      assert.equal(followed.state, 'completed', JSON.stringify(followed));
      assert.deepEqual(followed.result.collections, [...COLLECTIONS]);
      const moved = await aliases();
      for (const name of COLLECTIONS) assert.ok(moved[name] && moved[name] !== before[name]);
      await assertIndexed();
      // the sync itself ran once: its backup is still the only one taken
      assert.equal(await backups(), backupsBefore + 1);
      assert.equal((await services.request('GET', `/api/jobs/${id}`)).json.attempts, 1);
    } finally {
      if (!up) await server.up();
    }
  });

  test("collection specs are checked against the dump before any write: a source without the specs' tables changes nothing", async () => {
    const before = await snapshotDatabase(target.sql);
    const backupsBefore = await backups();
    const id = (await services.request('POST', '/api/sync/sync', { from: 'items', to: 'local', acceptDataLoss: true })).json.id as string;
    const failed = await services.waitForJob(id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error.code, 'JOBS_SEARCH_SPEC_MISMATCH');
    assert.match(failed.error.message, /reads public\.components, which the dump does not have/);
    assert.equal(failed.targetWritten, false);
    assert.equal(failed.attempts, 1, 'refused for good, not retried');
    assert.deepEqual(await snapshotDatabase(target.sql), before, 'the target is as it was');
    assert.equal(await backups(), backupsBefore, 'not even a backup was written');
  });

  test('imports and restores reindex too; skipReindex leaves the search index alone', async () => {
    const exported = await services.request('POST', '/api/sync/export', { from: 'source', file: 'source.sql' });
    assert.equal((await services.waitForJob(exported.json.id)).state, 'completed');

    let before = await aliases();
    const imported = await services.waitForJob((await services.request('POST', '/api/sync/import', { to: 'local', file: 'source.sql' })).json.id);
    assert.equal(imported.state, 'completed', JSON.stringify(imported));
    assert.equal(imported.result.reindex.status, 'completed');
    assert.equal(imported.targetWritten, true);
    let moved = await aliases();
    for (const name of COLLECTIONS) assert.notEqual(moved[name], before[name], `the import moved ${name}`);

    before = moved;
    const restored = await services.request('POST', `/api/backups/${imported.backupId}/restore`, { skipReindex: true });
    assert.equal(restored.status, 202, JSON.stringify(restored.json));
    const skipped = await services.waitForJob(restored.json.id);
    assert.equal(skipped.state, 'completed', JSON.stringify(skipped));
    assert.deepEqual(skipped.payload, { backupId: imported.backupId, target: 'local', skipReindex: true });
    assert.equal(skipped.result.reindex, null);
    assert.deepEqual(await aliases(), before, 'skipReindex: no alias moved');

    const again = await services.waitForJob((await services.request('POST', `/api/backups/${imported.backupId}/restore`, {})).json.id);
    assert.equal(again.state, 'completed', JSON.stringify(again));
    assert.equal(again.result.reindex.status, 'completed');
    moved = await aliases();
    for (const name of COLLECTIONS) assert.notEqual(moved[name], before[name], `the restore moved ${name}`);
    await assertIndexed();
  });
});
