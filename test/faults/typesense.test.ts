// A Typesense 503 storm during a sync's reindex (the project's Typesense test server injects the faults): the
// imports are retried, each retry counts as progress for the stall watchdog, and the sync completes with every
// collection complete and its alias moved. (Typesense down for longer than the retry policy, 2 minutes, fails with
// SEARCH_INDEX_UNAVAILABLE and the old alias serving: test/search-index/faults.test.ts, at the library level.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTypesense } from '@mbsync/search-index';
import { createDatabase, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';
import { EXPECTED, aliasTarget, demoDatabase, documentsById } from '../search-index/demo-data.js';
import { assertNoSessions, scratch } from './support/fixtures.js';
import { watchedSync } from './support/watched-sync.js';

let source: TestDatabase;
let target: TestDatabase;
let server: TypesenseServer;
let dirs: Awaited<ReturnType<typeof scratch>>;

before(async () => {
  [source, target, server, dirs] = await Promise.all([demoDatabase('faults_ts_src'), createDatabase('faults_ts_tgt'), createTypesenseServer(), scratch('ts')]);
});
after(async () => {
  await server?.close();
  await Promise.all([source?.drop(), target?.drop()]);
  await dirs?.remove();
});

test('Typesense 503 storm during the reindex of a sync: retried (the watchdog, 5 s, sees each retry as progress), then complete; aliases moved', async (t) => {
  const connection = openTypesense({ url: server.url, apiKey: server.apiKey });
  t.after(() => connection.close());
  // full copies: a re-sync of unchanged data would update the collections by id (none changed) instead of rebuilding
  const sync = () =>
    watchedSync({ sourceUrl: source.url, targetUrl: target.url, dumps: dirs.dumps, backups: dirs.backups, noBackup: true, stallSeconds: 5, full: true, target: { typesenseUrl: server.url, typesenseKey: server.apiKey } });
  // a first sync: the aliases serve complete collections
  const first = await sync();
  assert.equal(first.error, null, String(first.error));
  const before = await aliasTarget(connection.client, 'parts');
  assert.ok(before);

  // every import request of the next run gets 503 "Not Ready or Lagging" four times, then a collection creation twice
  server.faults.inject({ kind: '503', count: 4, match: { method: 'POST', pathPrefix: '/collections/parts_' } });
  server.faults.inject({ kind: '503', count: 2, match: { method: 'POST', pathPrefix: '/collections' } });
  await new Promise((r) => setTimeout(r, 5)); // distinct <name>_<timestamp> collection names
  const run = await sync();
  t.diagnostic(`${run.ms} ms, phases ${run.phases.join(' → ')}`);
  assert.equal(run.error, null, String(run.error));
  assert.equal(server.faults.pending, 0, 'every injected 503 was hit');
  assert.deepEqual(run.result?.reindex?.collections, ['components', 'parts', 'attributes']);
  const after = await aliasTarget(connection.client, 'parts');
  assert.ok(after && after !== before, `the alias moved (${before} → ${after})`);
  for (const name of ['components', 'parts', 'attributes'] as const) {
    assert.deepEqual([...(await documentsById(connection.client, name)).keys()].sort(), Object.keys(EXPECTED[name]).sort(), name);
  }
  assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  await assertNoSessions([source.name, target.name]);
});
