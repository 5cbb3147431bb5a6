// The aliases of one reindex move together or not at all: every new collection is built and checked before the
// first alias moves, and an alias that cannot be moved puts back those already moved (local test server only:
// the failures are injected).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { TestDatabase } from '@mbsync/testkit';
import { reindexCollections, SearchIndexError } from '@mbsync/search-index';
import { localOnly } from '../typesense-server/target-server.js';
import type { TypesenseServer } from '../typesense-server/index.js';
import { aliasTarget, collectionNames, demoDatabase, FAST_RETRY, searchTarget, type SearchTarget } from './demo-data.js';

describe('aliases move together', localOnly, () => {
  let db: TestDatabase;
  let ts: SearchTarget;
  let server: TypesenseServer;
  /** alias → the collection it served before each test */
  let live: Map<string, string>;

  before(async () => {
    db = await demoDatabase('search_alias_swap');
    ts = await searchTarget();
    server = ts.target.local as TypesenseServer;
    await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs });
  });
  afterEach(() => server.faults.clear());
  after(async () => {
    await ts?.close();
    await db?.drop();
  });

  async function aliases(): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    for (const spec of ts.specs) map.set(spec.name, (await aliasTarget(ts.client, spec.name)) ?? '(none)');
    return map;
  }

  async function assertUnchanged(): Promise<void> {
    assert.deepEqual(await aliases(), live, 'every alias still serves its previous collection');
    for (const spec of ts.specs) assert.deepEqual(await collectionNames(ts.client, `${spec.name}_`), [live.get(spec.name)], `no new ${spec.name} collection is left`);
  }

  test('the last collection fails to build: no alias has moved, the new collections are dropped', async () => {
    live = await aliases();
    const seen: string[] = [];
    server.faults.inject({ kind: '503', count: Infinity, match: { method: 'POST', pathPrefix: `/collections/${ts.spec('attributes').name}_` } });
    await assert.rejects(
      reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, retry: FAST_RETRY, onProgress: (p) => p.table && !seen.includes(p.table) && seen.push(p.table) }),
      { code: 'SEARCH_INDEX_UNAVAILABLE' },
    );
    assert.deepEqual(seen, ts.specs.map((s) => s.name), 'the first two were built before the third failed');
    await assertUnchanged();
  });

  test('the second alias cannot be moved: the first is put back, every new collection dropped, SEARCH_INDEX_SWAP_FAILED', async () => {
    live = await aliases();
    const parts = ts.spec('parts').name;
    server.faults.inject({ kind: '503', count: Infinity, match: { method: 'PUT', pathPrefix: `/aliases/${parts}` } });
    await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, retry: FAST_RETRY }), (error: unknown) => {
      assert.ok(error instanceof SearchIndexError);
      assert.equal(error.code, 'SEARCH_INDEX_SWAP_FAILED');
      assert.equal(error.details?.collection, parts);
      assert.equal(error.details?.rolledBack, true);
      assert.deepEqual(error.details?.movedBack, [ts.spec('components').name]);
      assert.match(error.message, /every alias still serves its previous collection/);
      return true;
    });
    const puts = server.requests.filter((r) => r.method === 'PUT' && r.url === `/aliases/${ts.spec('components').name}`);
    assert.ok(puts.length >= 2, 'the first alias was moved, then moved back');
    await assertUnchanged();
  });

  test('cancelled while building: nothing moves; once every collection is built the swap is not interrupted', async () => {
    live = await aliases();
    const controller = new AbortController();
    await assert.rejects(
      reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, signal: controller.signal, onProgress: (p) => p.table === ts.spec('attributes').name && controller.abort() }),
      { code: 'SEARCH_INDEX_CANCELLED' },
    );
    await assertUnchanged();

    // aborted as the swap begins: every alias moves all the same
    const late = new AbortController();
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, signal: late.signal, onProgress: (p) => /^moving 3 aliases together/.test(p.message ?? '') && late.abort() });
    assert.ok(late.signal.aborted);
    const moved = await aliases();
    for (const c of result.collections) assert.equal(moved.get(c.name), c.collection);
    for (const [name, previous] of live) assert.notEqual(moved.get(name), previous);
  });
});
