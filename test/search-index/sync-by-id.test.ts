// After an incremental re-sync, the target's collections are updated by document id in the collection their alias
// points at, and end exactly as a rebuild from the same rows would leave them; when that cannot be known, rebuilt.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSync, type SyncJobInput } from '@mbsync/execution';
import { describeEnvironment, loadCoreConfig, type CoreConfig } from '@mbsync/jobs';
import { DEFAULT_COLLECTION_SPECS, openTypesense, reindexCollections, type TypesenseConnection } from '@mbsync/search-index';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';
import { localOnly } from '../typesense-server/target-server.js';
import { aliasTarget, collectionNames, demoDatabase, documentsById } from './demo-data.js';

const NAMES = ['components', 'parts', 'attributes'] as const;

/** Enough rows around the demo data that a few changes stay an incremental patch (not 20 % of the rows). */
const BULK = `
INSERT INTO public.components (id, slug, name, description, category_id, tags, price, is_published, created_at, updated_at)
  SELECT g, 'bulk-' || g, 'Bulk ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'bulk component ' || g END, CASE WHEN g % 100 = 0 THEN 1 END, ARRAY['t' || (g % 7)], g / 100.0, g % 5 <> 0,
    timestamptz '2025-01-01 00:00+00' + g * interval '1 minute', timestamptz '2025-06-01 00:00+00' + g * interval '1 second'
  FROM generate_series(1000, 5999) g;
INSERT INTO public.parts (id, component_id, sku, name, material, width_mm, downloads, created_at)
  SELECT 100000 + g, 1000 + g % 5000, 'BULK-' || g, 'Bulk part ' || g, CASE WHEN g % 2 = 0 THEN 'PLA' END, g / 10.0, g, timestamptz '2025-02-01 00:00+00' + g * interval '1 second'
  FROM generate_series(0, 5999) g;
INSERT INTO public.part_attributes (part_id, attribute_id, value) SELECT 100000 + g, 1 + g % 2, 'v' || g FROM generate_series(0, 999) g;
`;

describe('sync: a re-sync updates the search collections by id', localOnly, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let target: TestDatabase;
  let server: TypesenseServer;
  let ts: TypesenseConnection;
  /** the physical collection behind each alias after the first sync */
  const physical = new Map<string, string>();

  const sync = (options: Partial<SyncJobInput> = {}) => runSync({
    source: describeEnvironment('src', source.url),
    target: describeEnvironment('local', target.url, server.url, server.apiKey),
    config, noBackup: true, acceptDataLoss: true, jobs: 1, ...options,
  });

  /** Rebuilds every spec from the target under other names, and compares each collection with its rebuild, document by document. */
  async function assertAsRebuilt(round: string): Promise<void> {
    const specs = DEFAULT_COLLECTION_SPECS.map((spec) => ({ ...spec, name: `check_${round}_${spec.name}` }));
    await reindexCollections({ sql: target.sql, client: ts.client, specs });
    for (const name of NAMES) {
      const [got, want] = [await documentsById(ts.client, name), await documentsById(ts.client, `check_${round}_${name}`)];
      assert.equal(got.size, want.size, `${name}: ${got.size} documents, a rebuild has ${want.size}`);
      for (const [id, doc] of want) assert.deepEqual(got.get(id), doc, `${name} document ${id}`);
      await ts.client.collections((await aliasTarget(ts.client, `check_${round}_${name}`))!).delete();
      await ts.client.aliases(`check_${round}_${name}`).delete();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-by-id-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await demoDatabase('byid_src');
    await source.sql.unsafe(BULK);
    target = await createDatabase('byid_dst');
    server = await createTypesenseServer();
    ts = openTypesense({ url: server.url, apiKey: server.apiKey });
  });

  after(async () => {
    ts?.close();
    await server?.close();
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a first sync copies everything, rebuilds, and records what each collection was built from', async () => {
    const result = await sync();
    assert.equal(result.incremental.mode, 'full');
    assert.equal(result.reindex?.status, 'completed', JSON.stringify(result.reindex));
    assert.deepEqual(result.reindex?.byCollection?.map((c) => [c.name, c.mode]), NAMES.map((n) => [n, 'rebuilt']));
    for (const name of NAMES) physical.set(name, (await aliasTarget(ts.client, name))!);
    const records = [...await target.sql<{ name: string; collection: string; rows: string }[]>`SELECT name, collection, rows::text AS rows FROM mbsync_meta.search_collections ORDER BY name`];
    assert.deepEqual(records, [
      { name: 'attributes', collection: physical.get('attributes'), rows: '3' },
      { name: 'components', collection: physical.get('components'), rows: '5003' },
      { name: 'parts', collection: physical.get('parts'), rows: '6003' },
    ]);
  });

  test('an update, an insert and a delete (some reached through joins): upserted and deleted by id, aliases unchanged', async () => {
    await source.sql.unsafe(`
      UPDATE public.components SET name = 'Small bracket v2' WHERE id = 1;          -- components 1; parts 10 and 11 join it
      INSERT INTO public.parts (id, component_id, sku, name, created_at) VALUES (13, 2, 'HK-1', 'Hook part', '2026-03-01 00:00+00');  -- parts 13; components 2 counts it
      DELETE FROM public.part_attributes WHERE part_id = 12;
      DELETE FROM public.parts WHERE id = 12;                                        -- parts 12 gone; components 9007199254740993 and attributes 1 count one less
      UPDATE public.categories SET name = 'Hooks & more' WHERE slug = 'hooks';      -- components 9007199254740993 (a joined row only)
      UPDATE public.components SET price = price + 1 WHERE id = 4242;              -- components 4242
    `);
    const before = await collectionNames(ts.client, '');
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    assert.equal(result.reindex?.status, 'completed', JSON.stringify(result.reindex));
    assert.deepEqual(result.reindex?.byCollection, [
      { name: 'components', mode: 'updated', upserted: 4, deleted: 0, documents: 5003 },
      { name: 'parts', mode: 'updated', upserted: 3, deleted: 1, documents: 6003 },
      { name: 'attributes', mode: 'updated', upserted: 1, deleted: 0, documents: 3 },
    ]);
    for (const name of NAMES) assert.equal(await aliasTarget(ts.client, name), physical.get(name), `${name}: the alias did not move`);
    assert.deepEqual(await collectionNames(ts.client, ''), before, 'no collection created or dropped');
    const components = await documentsById(ts.client, 'components');
    assert.equal(components.get('1')?.name, 'Small bracket v2');
    assert.equal(components.get('9007199254740993')?.category, 'Hooks & more');
    assert.equal(components.get('2')?.part_count, 1);
    const parts = await documentsById(ts.client, 'parts');
    assert.equal(parts.get('12'), undefined);
    assert.equal(parts.get('10')?.component_name, 'Small bracket v2');
    await assertAsRebuilt('a');
  });

  test('nothing changed: every collection checked against its record, nothing written', async () => {
    const imports = server.requests.length;
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    assert.deepEqual(result.reindex?.byCollection?.map((c) => [c.name, c.mode, c.upserted, c.deleted]), NAMES.map((n) => [n, 'updated', 0, 0]));
    assert.equal(server.requests.slice(imports).filter((r) => r.method !== 'GET').length, 0, 'only reads');
    for (const name of NAMES) assert.equal(await aliasTarget(ts.client, name), physical.get(name));
  });

  test('an alias moved since (another reindex): that collection is rebuilt, the others updated by id', async () => {
    // a standalone reindex of parts moves its alias to a collection the target's record does not name
    await reindexCollections({ sql: target.sql, client: ts.client, collections: ['parts'] });
    const moved = (await aliasTarget(ts.client, 'parts'))!;
    assert.notEqual(moved, physical.get('parts'));
    await source.sql.unsafe(`UPDATE public.parts SET name = 'Renamed part' WHERE id = 100005; UPDATE public.components SET slug = 'hook-2' WHERE id = 2;`);
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    const outcome = new Map(result.reindex?.byCollection?.map((c) => [c.name, c]));
    assert.equal(outcome.get('parts')?.mode, 'rebuilt');
    assert.match(outcome.get('parts')?.reason ?? '', /alias points at/);
    assert.deepEqual(outcome.get('components'), { name: 'components', mode: 'updated', upserted: 1, deleted: 0, documents: 5003 });
    const rebuilt = (await aliasTarget(ts.client, 'parts'))!;
    assert.notEqual(rebuilt, moved);
    physical.set('parts', rebuilt);
    assert.equal(await aliasTarget(ts.client, 'components'), physical.get('components'));
    await assertAsRebuilt('b');
  });

  test('more changed documents than the limit: rebuilt, and the next re-sync updates by id again', async () => {
    await source.sql.unsafe(`UPDATE public.components SET description = 'changed ' || id WHERE id BETWEEN 1000 AND 1002; UPDATE public.attributes SET unit = 'cm' WHERE id = 2;`);
    const result = await sync({ documentLimits: { maxDocuments: 2, minDocuments: 0, maxShare: 1 } });
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    const outcome = new Map(result.reindex?.byCollection?.map((c) => [c.name, c]));
    assert.equal(outcome.get('components')?.mode, 'rebuilt');
    assert.match(outcome.get('components')?.reason ?? '', /3 of its 5003 documents changed/);
    assert.equal(outcome.get('attributes')?.mode, 'updated');
    assert.equal(outcome.get('parts')?.mode, 'updated');
    assert.notEqual(await aliasTarget(ts.client, 'components'), physical.get('components'));
    physical.set('components', (await aliasTarget(ts.client, 'components'))!);
    await assertAsRebuilt('c');

    await source.sql.unsafe(`UPDATE public.components SET description = NULL WHERE id = 1001`);
    const next = await sync();
    assert.deepEqual(next.reindex?.byCollection?.find((c) => c.name === 'components'), { name: 'components', mode: 'updated', upserted: 1, deleted: 0, documents: 5003 });
    assert.equal(await aliasTarget(ts.client, 'components'), physical.get('components'));
    await assertAsRebuilt('d');
  });

  test('the target edited by hand since its collections were built: they no longer match its rows, rebuilt', async () => {
    // the collection was built from rows the target no longer held when the sync began: a by-id update starts from the
    // rows before the patch, so it is rebuilt (whatever the sync then writes)
    await target.sql.unsafe(`UPDATE public.attributes SET name = 'Colour' WHERE id = 1`);
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    const outcome = new Map(result.reindex?.byCollection?.map((c) => [c.name, c]));
    assert.equal(outcome.get('attributes')?.mode, 'rebuilt', JSON.stringify(result.reindex));
    assert.match(outcome.get('attributes')?.reason ?? '', /built from other rows/);
    await assertAsRebuilt('e');
  });
});
