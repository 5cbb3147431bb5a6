// Transient Typesense failures (local test server only: they need fault injection): 503s, dropped and reset
// connections and stalled imports are retried to a complete collection; Typesense down throughout fails
// clearly with the old alias still serving; cancellation leaves nothing behind.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { TestDatabase } from '@mbsync/testkit';
import { reindexCollections, SearchIndexError, type CollectionSpec } from '@mbsync/search-index';
import { localOnly } from '../typesense-server/target-server.js';
import type { TypesenseServer } from '../typesense-server/index.js';
import { aliasTarget, collectionNames, demoDatabase, documentsById, FAST_RETRY, searchTarget, type SearchTarget } from './demo-data.js';

const PARTS = 300;

describe('reindex under Typesense faults', localOnly, () => {
  let db: TestDatabase;
  let ts: SearchTarget;
  let server: TypesenseServer;
  let spec: CollectionSpec;
  /** POST …/documents/import into any new `<parts>_<timestamp>` collection */
  let importMatch: { method: string; pathPrefix: string };

  before(async () => {
    db = await demoDatabase('search_faults');
    await db.sql`INSERT INTO public.parts (id, component_id, sku, name, downloads) SELECT g, 1, 'GEN-' || g, 'Generated ' || g, g FROM generate_series(1000, ${999 + PARTS - 3}) g`;
    ts = await searchTarget();
    server = ts.target.local as TypesenseServer;
    spec = ts.spec('parts');
    importMatch = { method: 'POST', pathPrefix: `/collections/${spec.name}_` };
    // a first, clean reindex: the alias serves a complete collection the fault tests must leave alone
    await reindexCollections({ sql: db.sql, client: ts.client, specs: [spec] });
  });
  afterEach(() => server.faults.clear());
  after(async () => {
    await ts?.close();
    await db?.drop();
  });

  async function assertUntouched(live: string | undefined): Promise<void> {
    assert.ok(live);
    assert.equal(await aliasTarget(ts.client, spec.name), live, 'the alias still points to the old collection');
    assert.equal((await ts.client.collections(spec.name).documents().search({ q: '*' })).found, PARTS, 'and it still answers in full');
    assert.deepEqual(await collectionNames(ts.client, spec.name), [live], 'the new collection was dropped');
  }

  test('503s, dropped connections and lost answers mid-import still end in a complete collection', async () => {
    // faults are taken in injection order: the first four imports go through (a 1 ms delay), then the faults
    server.faults.inject({ kind: 'latency', ms: 1, count: 4, match: importMatch });
    server.faults.inject({ kind: '503', count: 3, match: importMatch });
    server.faults.inject({ kind: 'drop', count: 2, match: importMatch });
    // applied by the server, answer lost: the retry meets 409s for its own documents
    server.faults.inject({ kind: 'reset', count: 1, match: importMatch });
    server.faults.inject({ kind: '503', count: 1, match: { method: 'PUT', pathPrefix: '/aliases/' } });
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: [spec], batchSize: 25, retry: { ...FAST_RETRY, maxAttempts: 8 } });
    const [only] = result.collections;
    assert.equal(server.faults.pending, 0, 'every fault was hit');
    assert.equal(only?.rows, PARTS);
    assert.equal(only?.documents, PARTS);
    assert.equal(only?.failedCount, 0);
    assert.ok((only?.retries ?? 0) >= 7, `retries: ${only?.retries}`);
    assert.equal((await ts.client.collections(only?.collection as string).retrieve()).num_documents, PARTS);
    assert.equal((await documentsById(ts.client, spec.name)).size, PARTS);
    assert.equal(await aliasTarget(ts.client, spec.name), only?.collection);
  });

  test('a stalled import is abandoned at its deadline and retried', async () => {
    server.faults.inject({ kind: 'latency', ms: 60_000, count: 1, match: importMatch });
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: [spec], batchSize: 100, importTimeoutMs: 300, retry: FAST_RETRY });
    assert.equal(result.collections[0]?.documents, PARTS);
    assert.ok((result.collections[0]?.retries ?? 0) >= 1);
  });

  test('Typesense down throughout: a clear SEARCH_INDEX_UNAVAILABLE, and the alias keeps serving', async () => {
    const live = await aliasTarget(ts.client, spec.name);
    await server.down();
    const started = Date.now();
    try {
      await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: [spec], retry: FAST_RETRY }), (error: unknown) => {
        assert.ok(error instanceof SearchIndexError);
        assert.equal(error.code, 'SEARCH_INDEX_UNAVAILABLE');
        assert.match(error.message, /Typesense unavailable after 4 attempts/);
        assert.equal(error.details?.attempts, 4);
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'bounded by the retry policy');
    } finally {
      await server.up();
    }
    await assertUntouched(live);
  });

  test('Typesense refusing imports for good mid-run: the new collection is dropped, the alias is unchanged', async () => {
    const live = await aliasTarget(ts.client, spec.name);
    server.faults.inject({ kind: 'drop', count: Infinity, match: importMatch });
    try {
      await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: [spec], batchSize: 50, retry: FAST_RETRY }), { code: 'SEARCH_INDEX_UNAVAILABLE' });
    } finally {
      server.faults.clear();
    }
    await assertUntouched(live);
  });

  test('503 on every write: no collection is created, the alias is unchanged', async () => {
    const live = await aliasTarget(ts.client, spec.name);
    server.faults.inject({ kind: '503', count: Infinity, match: { method: 'POST' } });
    try {
      await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: [spec], retry: FAST_RETRY }), { code: 'SEARCH_INDEX_UNAVAILABLE' });
    } finally {
      server.faults.clear();
    }
    await assertUntouched(live);
  });

  test('an AbortSignal cancels mid-import: SEARCH_INDEX_CANCELLED, new collection dropped, alias unchanged', async () => {
    const live = await aliasTarget(ts.client, spec.name);
    const controller = new AbortController();
    server.faults.inject({ kind: 'latency', ms: 30, count: Infinity, match: importMatch });
    try {
      await assert.rejects(
        reindexCollections({
          sql: db.sql,
          client: ts.client,
          specs: [spec],
          batchSize: 10,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.bytesDone >= 50) controller.abort();
          },
        }),
        { code: 'SEARCH_INDEX_CANCELLED' },
      );
    } finally {
      server.faults.clear();
    }
    await assertUntouched(live);
    // the connection is usable afterwards: the cursor and its transaction were closed
    assert.equal((await db.sql`SELECT 1 AS one`)[0]?.one, 1);
  });
});
