// Full reindex against the test server (or a real Typesense when TYPESENSE_URL is set): documents field by
// field, the alias swap, searches during the swap, the first-run migration from a plain collection, leftovers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestDatabase } from '@mbsync/testkit';
import { reindexCollections, type ReindexProgress } from '@mbsync/search-index';
import { REAL_TYPESENSE } from '../typesense-server/target-server.js';
import { aliasTarget, collectionNames, demoDatabase, documentsById, EXPECTED, searchTarget, type SearchTarget } from './demo-data.js';

const TIMESTAMPED = /_\d{8}T\d{9}Z$/;

describe('reindexCollections', () => {
  let db: TestDatabase;
  let ts: SearchTarget;
  before(async () => {
    db = await demoDatabase('search_reindex');
    ts = await searchTarget();
  });
  after(async () => {
    await ts?.close();
    await db?.drop();
  });

  test('a full reindex builds every document of the three collections, field by field', async () => {
    const progress: ReindexProgress[] = [];
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, batchSize: 2, onProgress: (p) => progress.push(p) });
    assert.deepEqual(result.collections.map((c) => [c.name, c.rows, c.documents, c.failedCount, c.migrated]), [
      [ts.spec('components').name, 3, 3, 0, false],
      [ts.spec('parts').name, 3, 3, 0, false],
      [ts.spec('attributes').name, 3, 3, 0, false],
    ]);
    for (const kind of ['components', 'parts', 'attributes'] as const) {
      const alias = ts.spec(kind).name;
      const target = await aliasTarget(ts.client, alias);
      assert.ok(target !== undefined && target.startsWith(`${alias}_`) && TIMESTAMPED.test(target), `alias ${alias} → ${target}`);
      const docs = await documentsById(ts.client, alias);
      assert.deepEqual([...docs.keys()].sort(), Object.keys(EXPECTED[kind]).sort(), `${kind} ids`);
      for (const [id, expected] of Object.entries(EXPECTED[kind])) {
        const actual = docs.get(id) as Record<string, unknown>;
        // field by field first, for a readable failure, then the whole document (no extra fields)
        for (const [field, value] of Object.entries(expected)) assert.deepEqual(actual[field], value, `${kind} ${id}.${field}`);
        assert.deepEqual(actual, expected, `${kind} ${id}: no other fields (NULL optional fields are left out)`);
      }
      const retrieved = await ts.client.collections(target).retrieve();
      assert.equal(retrieved.num_documents, 3);
      assert.equal(retrieved.default_sorting_field, ts.spec(kind).defaultSortingField);
    }
    if (REAL_TYPESENSE) {
      // a real server keeps int64 digits beyond 2^53 exactly; JSON.parse above cannot show it
      const text = (await ts.target.request('GET', `/collections/${ts.spec('parts').name}/documents/export`)).text;
      assert.match(text, /"downloads":9007199254740993\b/);
      assert.match(text, /"downloads":9223372036854775807\b/);
    }
    // progress: documents of the current collection in the byte fields; the percent is the whole reindex's and
    // never goes back when the next collection starts (each collection's end is its third of the way)
    const percents = progress.map((p) => p.percent);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, `percent went back: ${percents.join(', ')}`);
    const finals = progress.filter((p) => p.table !== null && p.bytesDone === p.bytesTotal && /documents ready in/.test(p.message ?? ''));
    assert.deepEqual([...new Set(finals.map((p) => p.table))], ts.specs.map((s) => s.name));
    assert.deepEqual(finals.map((p) => p.percent), [33.3, 66.7, 100]);
    for (const p of finals) assert.equal(p.bytesTotal, 3);
    assert.equal(progress.at(-1)?.percent, 100);
    assert.match(progress.at(-1)?.message ?? '', /^3 aliases moved: /);
    assert.ok(progress.every((p) => p.tablesTotal === 3 && p.bytesDone <= p.bytesTotal && p.rowsDone === p.bytesDone));
    assert.equal(progress.at(-1)?.tablesDone, 3);
  });

  test('the second run swaps the alias atomically and drops the previous collection by its real name', async () => {
    const alias = ts.spec('attributes').name;
    const before = await aliasTarget(ts.client, alias);
    assert.ok(before);
    await db.sql`INSERT INTO public.attributes (id, slug, name, data_type) VALUES (4, 'finish', 'Finish', 'text')`;
    try {
      const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, collections: [alias] });
      const [only] = result.collections;
      assert.equal(only?.documents, 4);
      assert.deepEqual(only?.previous, [before]);
      assert.equal(await aliasTarget(ts.client, alias), only?.collection);
      assert.deepEqual(await collectionNames(ts.client, alias), [only?.collection], 'the previous collection is gone, nothing else left');
      assert.equal((await documentsById(ts.client, alias)).get('4')?.slug, 'finish');
    } finally {
      await db.sql`DELETE FROM public.attributes WHERE id = 4`;
    }
  });

  test('searches through the alias keep answering from the old collection during a reindex, and from the new one after', async () => {
    const alias = ts.spec('components').name;
    await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, collections: [alias] });
    const oldTarget = await aliasTarget(ts.client, alias);
    // 60 more components: the new collection differs from the old one in size
    await db.sql`INSERT INTO public.components (id, slug, name) SELECT g, 'extra-' || g, 'Extra ' || g FROM generate_series(100, 159) g`;
    ts.target.local?.faults.inject({ kind: 'latency', ms: 40, count: Infinity, match: { method: 'POST', pathPrefix: `/collections/${alias}_` } });
    try {
      const seen: number[] = [];
      let done = false;
      const searching = (async () => {
        while (!done) {
          const answer = await ts.client.collections(alias).documents().search({ q: '*', per_page: 1 });
          assert.ok(answer.hits !== undefined && answer.hits.length === 1, 'every search returns hits');
          seen.push(answer.found);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      const reindex = reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, collections: [alias], batchSize: 5 });
      const result = await reindex.finally(() => {
        done = true;
      });
      await searching;
      const during = seen.filter((found) => found === 3).length;
      assert.ok(during >= 5, `searches answered from the old collection during the reindex (${during} of ${seen.length})`);
      assert.ok(seen.every((found) => found === 3 || found === 63), `only old or new counts were seen: ${[...new Set(seen)].join(',')}`);
      const firstNew = seen.indexOf(63);
      assert.ok(firstNew === -1 || seen.slice(firstNew).every((found) => found === 63), 'never back to the old collection after the swap');
      const answer = await ts.client.collections(alias).documents().search({ q: '*', per_page: 1 });
      assert.equal(answer.found, 63);
      assert.equal(result.collections[0]?.previous[0], oldTarget);
    } finally {
      ts.target.local?.faults.clear();
      await db.sql`DELETE FROM public.components WHERE id BETWEEN 100 AND 159`;
    }
  });

  test('first run over a plain collection of the same name migrates it to an alias', async (t) => {
    const name = ts.target.name('migrate_parts');
    const spec = { ...ts.spec('parts'), name };
    await ts.client.collections().create({ name, fields: [{ name: 'sku', type: 'string' }] });
    await ts.client.collections(name).documents().import([{ id: 'old-1', sku: 'OLD' }], { action: 'create' });

    const statuses: (number | 'ok')[] = [];
    let done = false;
    const searching = (async () => {
      while (!done) {
        try {
          const answer = await ts.client.collections(name).documents().search({ q: '*' });
          assert.ok(answer.found === 1 || answer.found === 3);
          statuses.push('ok');
        } catch (error) {
          statuses.push((error as { httpStatus?: number }).httpStatus ?? 0);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: [spec] }).finally(() => {
      done = true;
    });
    await searching;
    const [only] = result.collections;
    assert.equal(only?.migrated, true);
    assert.deepEqual(only?.previous, [name]);
    assert.equal(await aliasTarget(ts.client, name), only?.collection, 'the name is now an alias to the new collection');
    assert.deepEqual(await collectionNames(ts.client, name), [only?.collection], 'the plain collection is gone');
    const docs = await documentsById(ts.client, name);
    assert.deepEqual([...docs.keys()].sort(), ['10', '11', '12']);
    const misses = statuses.filter((s) => s !== 'ok');
    assert.ok(misses.every((s) => s === 404), `only 404s in the gap: ${misses.join(',')}`);
    assert.ok(statuses.filter((s) => s === 'ok').length > misses.length, 'searches answered before and after the gap');
    assert.ok(only?.migrationGapMs !== undefined && only.migrationGapMs < 1000);
    t.diagnostic(`migration gap: at most ${only?.migrationGapMs} ms; ${misses.length} of ${statuses.length} back-to-back searches got 404`);
  });

  test('leftover <name>_<timestamp> collections of a crashed run are dropped; the live one and other names are kept', async () => {
    const alias = ts.spec('attributes').name;
    const live = await aliasTarget(ts.client, alias);
    assert.ok(live);
    const crashed = `${alias}_20200101T000000000Z`;
    const unrelated = `${alias}_archive`;
    for (const name of [crashed, unrelated]) await ts.client.collections().create({ name, fields: [{ name: 'slug', type: 'string' }] });
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, collections: [alias] });
    const [only] = result.collections;
    assert.deepEqual(only?.leftoversDropped, [crashed]);
    assert.deepEqual(only?.previous, [live]);
    assert.deepEqual(await collectionNames(ts.client, alias), [only?.collection, unrelated].sort());
    await ts.client.collections(unrelated).delete();
  });

  test('an empty query result gives an empty collection behind the alias', async () => {
    const name = ts.target.name('empty_components');
    const spec = { ...ts.spec('components'), name, query: `${ts.spec('components').query} WHERE false` };
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: [spec] });
    assert.equal(result.collections[0]?.documents, 0);
    assert.equal((await ts.client.collections(name).retrieve()).num_documents, 0);
  });
});
