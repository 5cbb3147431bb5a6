import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DumpError } from '@mbsync/dump';
import { runSync, type SyncJobInput } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig, parsePayload, syncRequest } from '@mbsync/jobs';
import { createDatabase, pgDumpSchema, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

// Incremental re-sync: a target holding an earlier copy from the same source, with the same schema, gets only the
// key ranges whose checksums differ; every table is checked against the source before COMMIT.

const SCHEMA = `
CREATE TABLE public.parents (id bigint PRIMARY KEY, name text NOT NULL, born timestamptz NOT NULL, price numeric(12,2), blob bytea, tags text[]);
INSERT INTO public.parents SELECT g, 'parent ' || g, timestamptz '2020-01-01 00:00+00' + g * interval '1 minute', g / 7.0, decode(md5(g::text), 'hex'), ARRAY['a' || (g % 5)]
  FROM generate_series(1, 50000) g;
CREATE TABLE public.children (parent_id bigint NOT NULL REFERENCES public.parents (id) ON DELETE CASCADE, seq int NOT NULL, note text, PRIMARY KEY (parent_id, seq));
INSERT INTO public.children SELECT p, s, 'child ' || p || '/' || s FROM generate_series(1, 50000, 3) p, generate_series(1, 2) s;
CREATE TABLE public.labels (code text COLLATE "C" PRIMARY KEY, label text NOT NULL, parent_id bigint REFERENCES public.parents (id) ON DELETE SET NULL);
INSERT INTO public.labels SELECT 'code-' || lpad(g::text, 6, '0'), 'label ' || g, g FROM generate_series(1, 6000) g;
CREATE TABLE public.events (at timestamptz NOT NULL, kind text, amount double precision);
INSERT INTO public.events SELECT timestamptz '2024-01-01 00:00+00' + g * interval '1 second', 'k' || (g % 3), g * 0.1 FROM generate_series(1, 3000) g;
CREATE SEQUENCE public.tickets START 100;
SELECT setval('public.tickets', 4242);
CREATE MATERIALIZED VIEW public.child_counts AS SELECT parent_id, count(*) AS n FROM public.children GROUP BY parent_id;
CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trigger % fired on %', TG_NAME, TG_TABLE_NAME; END $$;
CREATE TRIGGER refuse_parents BEFORE INSERT OR UPDATE OR DELETE ON public.parents FOR EACH ROW EXECUTE FUNCTION public.refuse();
CREATE TRIGGER refuse_children BEFORE INSERT OR UPDATE OR DELETE ON public.children FOR EACH ROW EXECUTE FUNCTION public.refuse();
`;

/** Writes around the refusing triggers (the statement's own transaction disables and re-enables them). */
function change(db: TestDatabase, statements: string): void {
  psqlText(db.url, `ALTER TABLE public.parents DISABLE TRIGGER refuse_parents; ALTER TABLE public.children DISABLE TRIGGER refuse_children;
${statements}
ALTER TABLE public.parents ENABLE TRIGGER refuse_parents; ALTER TABLE public.children ENABLE TRIGGER refuse_children;`);
}

async function stateOf(db: TestDatabase) {
  return { schema: pgDumpSchema(db.url), data: await snapshotDatabase(db.sql) };
}

describe('incremental sync: only the differing rows move, and the target ends identical', { timeout: 900_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let target: TestDatabase;
  let fullBytes = 0;

  const sync = (options: Partial<SyncJobInput> = {}) => runSync({
    source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), config, noBackup: true, acceptDataLoss: true, ...options,
  });

  async function assertIdentical(): Promise<void> {
    const [want, got] = [await stateOf(source), await stateOf(target)];
    assert.equal(got.schema, want.schema);
    assert.deepEqual(got.data, want.data);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-incremental-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await createDatabase('incr_src');
    target = await createDatabase('incr_dst');
    psqlText(source.url, SCHEMA);
  });

  after(async () => {
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the contract takes `full`', () => {
    const request = syncRequest('a', 'b', { full: true });
    assert.deepEqual(parsePayload('sync', request), { source: 'a', target: 'b', full: true });
    assert.throws(() => parsePayload('sync', { source: 'a', target: 'b', full: 'yes' }), /full/);
  });

  test('a first sync is full and records what it copied in the target', async () => {
    const result = await sync({ jobs: 2 });
    assert.equal(result.incremental.mode, 'full');
    assert.match(result.incremental.reason ?? '', /no record/);
    assert.ok(result.incremental.bytesFromSource > 1_000_000, `full copy moved ${result.incremental.bytesFromSource} bytes`);
    fullBytes = result.incremental.bytesFromSource;
    const [record] = await target.sql<{ source_name: string; mode: string; n: string }[]>`SELECT source_name, mode, (tables->>'public.parents') AS n FROM mbsync_meta.copies`;
    assert.deepEqual(record, { source_name: 'src', mode: 'full', n: '50000' });
    await assertIdentical();
  });

  test('about 1 % changed on the source: incremental, the changed rows patched, the table without a key copied whole', async (t) => {
    change(source, `
      UPDATE public.parents SET name = name || ' (renamed)', price = price + 1 WHERE id BETWEEN 20001 AND 20300 OR id IN (3, 12345, 33333, 47000);
      DELETE FROM public.parents WHERE id BETWEEN 30001 AND 30040;
      INSERT INTO public.parents SELECT g, 'new ' || g, now(), 1.5, NULL, NULL FROM generate_series(50001, 50100) g;
      DELETE FROM public.children WHERE parent_id BETWEEN 10000 AND 10100;
      INSERT INTO public.children SELECT g, 1, 'new child' FROM generate_series(50001, 50100) g;
      UPDATE public.labels SET label = 'relabelled' WHERE code IN ('code-000500', 'code-004000');
      INSERT INTO public.labels VALUES ('code-999999', 'last', NULL);
      DELETE FROM public.labels WHERE code = 'code-002000';
      INSERT INTO public.events VALUES (now(), 'late', 1);
      SELECT nextval('public.tickets');
      REFRESH MATERIALIZED VIEW public.child_counts;`);
    const result = await sync({ jobs: 2 });
    const inc = result.incremental;
    t.diagnostic(`full copy: ${fullBytes} bytes; incremental: ${JSON.stringify(inc)}`);
    assert.equal(inc.mode, 'incremental', inc.reason);
    const patched = new Map(inc.tables.patched.map((p) => [p.table, p]));
    for (const table of ['public.parents', 'public.children', 'public.labels']) assert.ok(patched.has(table), `${table} patched: ${JSON.stringify(inc.tables)}`);
    assert.deepEqual(inc.tables.copied, ['public.events']);
    // the full copy fingerprinted every table: each is decided by the source's rows written since that copy
    assert.deepEqual([...(inc.tables.tracked ?? [])].sort(), ['public.children', 'public.events', 'public.labels', 'public.parents']);
    // parents: 304 updated + 100 inserted rows written since, 40 deleted (found by key buckets)
    assert.deepEqual(patched.get('public.parents'), { table: 'public.parents', buckets: patched.get('public.parents')!.buckets, rowsDeleted: 304 + 40, rowsInserted: 404 });
    assert.ok(patched.get('public.parents')!.buckets >= 3 && patched.get('public.parents')!.buckets <= 140, JSON.stringify(patched.get('public.parents')));
    // children: 68 + 28 (by the cascade) deleted, 100 inserted; labels: 2 updated, 1 inserted, 1 deleted
    assert.deepEqual({ deleted: patched.get('public.children')!.rowsDeleted, inserted: patched.get('public.children')!.rowsInserted }, { deleted: 96, inserted: 100 });
    assert.deepEqual({ deleted: patched.get('public.labels')!.rowsDeleted, inserted: patched.get('public.labels')!.rowsInserted }, { deleted: 3, inserted: 3 });
    assert.ok(inc.bytesFromSource * 4 < fullBytes, `incremental moved ${inc.bytesFromSource} bytes, the full copy ${fullBytes}`);
    const [record] = await target.sql<{ mode: string }[]>`SELECT mode FROM mbsync_meta.copies`;
    assert.equal(record?.mode, 'incremental');
    await assertIdentical();
  });

  test('nothing changed: every table skipped, nothing copied', async () => {
    const result = await sync({ jobs: 1 });
    const inc = result.incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.patched, []);
    assert.deepEqual(inc.tables.copied, []);
    assert.deepEqual([...inc.tables.skipped].sort(), ['public.children', 'public.events', 'public.labels', 'public.parents']);
    // the patch left fingerprints the target still matches: every table decided without reading a row
    assert.deepEqual([...(inc.tables.tracked ?? [])].sort(), ['public.children', 'public.events', 'public.labels', 'public.parents']);
    assert.equal(inc.bytesFromSource, 0);
    await assertIdentical();
    // the source's write counters are recorded (the next sync compares the tables they show unwritten whole first)
    const [record] = await target.sql<{ activity: Record<string, string> }[]>`SELECT activity FROM mbsync_meta.copies`;
    for (const table of ['public.children', 'public.events', 'public.labels', 'public.parents']) assert.ok(table in record!.activity, JSON.stringify(record!.activity));
    for (const n of Object.values(record!.activity)) assert.match(n, /^\d+$/);
  });

  test('rows of a transaction open during the last copy, committed after it (one in a savepoint): found and copied', async () => {
    const open = await source.sql.reserve();
    try {
      await open.unsafe('BEGIN');
      await open.unsafe(`INSERT INTO public.labels VALUES ('open-top', 'written before the copy, committed after', NULL)`);
      await open.unsafe('SAVEPOINT inner_work');
      // a subtransaction's xid is above its parent's: not in the snapshot's list of running transactions
      await open.unsafe(`UPDATE public.labels SET label = 'updated in a savepoint' WHERE code = 'code-000010'`);
      await open.unsafe('RELEASE SAVEPOINT inner_work');
      const during = (await sync()).incremental;
      assert.equal(during.mode, 'incremental', during.reason);
      assert.deepEqual(during.tables.patched, []);
      await open.unsafe('COMMIT');
    } finally {
      open.release();
    }
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.labels', rowsDeleted: 1, rowsInserted: 2 }]);
    await assertIdentical();
  });

  test('a transaction open in another database during the last copy: the rows written before it are not read again', async () => {
    const elsewhere = await target.sql.reserve();
    try {
      // the target's own database: in the same cluster, it cannot write the source's tables
      await elsewhere.unsafe('BEGIN');
      await elsewhere.unsafe('SELECT pg_catalog.txid_current()');
      change(source, `UPDATE public.parents SET name = name || '+' WHERE id = 77;`);
      const first = (await sync()).incremental;
      assert.deepEqual(first.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.parents', rowsDeleted: 1, rowsInserted: 1 }]);
      const again = (await sync()).incremental;
      assert.deepEqual(again.tables.patched, []);
      assert.equal(again.bytesFromSource, 0);
    } finally {
      await elsewhere.unsafe('ROLLBACK');
      elsewhere.release();
    }
    await assertIdentical();
  });

  test('a transaction open in the source database during the last copy: rows written while it ran are read again, found equal, kept', async () => {
    const open = await source.sql.reserve();
    try {
      await open.unsafe('BEGIN');
      await open.unsafe('SELECT pg_catalog.txid_current()');
      // committed before the copy, by a transaction younger than the open one: copied, but above the horizon
      change(source, `UPDATE public.parents SET name = name || '*' WHERE id IN (101, 202, 303);`);
      const first = (await sync()).incremental;
      assert.deepEqual(first.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.parents', rowsDeleted: 3, rowsInserted: 3 }]);
    } finally {
      await open.unsafe('ROLLBACK');
      open.release();
    }
    const again = (await sync()).incremental;
    assert.equal(again.mode, 'incremental', again.reason);
    // read again (keys and row hashes: bytes from the source), equal to the target's, so nothing is written
    assert.ok(again.bytesFromSource > 0, JSON.stringify(again));
    assert.deepEqual(again.tables.patched, []);
    assert.equal((await sync()).incremental.bytesFromSource, 0);
    await assertIdentical();
  });

  test('a horizon from another timeline of the source (a point-in-time recovery): compared by checksums', async () => {
    await target.sql`UPDATE mbsync_meta.copies SET horizon = jsonb_set(horizon, '{source,timeline}', '"0000000F"')`;
    change(source, `UPDATE public.labels SET label = label || '~' WHERE code = 'code-000020';`);
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.tracked, []);
    assert.deepEqual(inc.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.labels', rowsDeleted: 1, rowsInserted: 1 }]);
    await assertIdentical();
    assert.equal((await sync()).incremental.tables.tracked?.length, 4);
  });

  test('the target changed by hand: the re-sync undoes it', async () => {
    change(target, `
      UPDATE public.parents SET name = 'local edit' WHERE id IN (7, 25000, 49999);
      DELETE FROM public.children WHERE parent_id = 4;
      INSERT INTO public.parents VALUES (90000000, 'local only', now(), 0, NULL, NULL);
      DELETE FROM public.labels WHERE code = 'code-000001';
      UPDATE public.events SET amount = -1 WHERE kind = 'k1';
      SELECT setval('public.tickets', 1);`);
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    assert.ok(result.incremental.tables.patched.some((p) => p.table === 'public.parents' && p.rowsDeleted >= 4));
    // written in the target since the last copy: their fingerprints differ, so they are compared by checksums
    assert.deepEqual(result.incremental.tables.tracked, []);
    await assertIdentical();
    // and fingerprinted again: the next sync decides them by the source's writes
    assert.deepEqual([...((await sync()).incremental.tables.tracked ?? [])].sort(), ['public.children', 'public.events', 'public.labels', 'public.parents']);
  });

  test('a failure while patching rolls back: the target is unchanged', async () => {
    change(source, `UPDATE public.parents SET name = 'cancelled edit' WHERE id BETWEEN 1001 AND 1050;`);
    const before = await stateOf(target);
    const controller = new AbortController();
    await assert.rejects(
      sync({ signal: controller.signal, onProgress: (p) => { if (p.phase === 'import' && /^(copying|replacing)/.test(p.message ?? '')) controller.abort(); } }),
      (error: unknown) => error instanceof DumpError && error.code === 'DUMP_CANCELLED',
    );
    assert.deepEqual(await stateOf(target), before);
    const result = await sync();
    assert.equal(result.incremental.mode, 'incremental', result.incremental.reason);
    await assertIdentical();
  });

  test('1 % of rows changed at random: only those rows move, found by the source\'s writes since the last copy; identical', async () => {
    change(source, `UPDATE public.parents SET price = price - 3 WHERE id % 89 = 0;
      UPDATE public.children SET note = note || '?' WHERE (parent_id * 7 + seq) % 97 = 0;`);
    const inc = (await sync({ jobs: 2 })).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual([...(inc.tables.tracked ?? [])].sort(), ['public.children', 'public.events', 'public.labels', 'public.parents']);
    const [counts] = await source.sql<{ parents: number; children: number }[]>`
      SELECT (SELECT count(*)::int FROM public.parents WHERE id % 89 = 0) AS parents, (SELECT count(*)::int FROM public.children WHERE (parent_id * 7 + seq) % 97 = 0) AS children`;
    assert.deepEqual(inc.tables.patched.map(({ table, buckets, rowsDeleted, rowsInserted }) => ({ table, buckets, rowsDeleted, rowsInserted })), [
      { table: 'public.children', buckets: 0, rowsDeleted: counts!.children, rowsInserted: counts!.children },
      { table: 'public.parents', buckets: 0, rowsDeleted: counts!.parents, rowsInserted: counts!.parents },
    ]);
    assert.deepEqual(inc.tables.copied, []);
    // the changed rows' keys and hashes, then the rows: nothing else
    assert.ok(inc.bytesFromSource * 20 < fullBytes, `moved ${inc.bytesFromSource} bytes, the full copy ${fullBytes}`);
    await assertIdentical();
  });

  test('1 % of rows changed at random without a usable horizon: found by key buckets; identical', async () => {
    // a record without a horizon (as an earlier version wrote it): every table is compared by checksums
    await target.sql`UPDATE mbsync_meta.copies SET horizon = NULL`;
    change(source, `UPDATE public.parents SET price = price + 3 WHERE id % 97 = 0;
      UPDATE public.children SET note = note || '!' WHERE (parent_id * 7 + seq) % 89 = 0;`);
    const result = await sync({ jobs: 2 });
    const inc = result.incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.tracked, []);
    const [counts] = await source.sql<{ parents: number; children: number }[]>`
      SELECT (SELECT count(*)::int FROM public.parents WHERE id % 97 = 0) AS parents, (SELECT count(*)::int FROM public.children WHERE (parent_id * 7 + seq) % 89 = 0) AS children`;
    const patched = new Map(inc.tables.patched.map((p) => [p.table, p]));
    // about 1 % of each table changed, spread over all of it: exactly those rows are replaced, nothing else moves
    const parents = patched.get('public.parents');
    assert.deepEqual({ deleted: parents?.rowsDeleted, inserted: parents?.rowsInserted }, { deleted: counts!.parents, inserted: counts!.parents });
    // ~3,100 buckets of 16 rows: most changed rows fall in a bucket of their own
    assert.ok(parents!.buckets > counts!.parents / 2 && parents!.buckets <= counts!.parents, JSON.stringify(parents));
    const children = patched.get('public.children');
    assert.deepEqual({ deleted: children?.rowsDeleted, inserted: children?.rowsInserted }, { deleted: counts!.children, inserted: counts!.children });
    assert.deepEqual(inc.tables.copied, []);
    // the changed rows, and the keys and row hashes of the differing buckets' rows (compared in the target)
    assert.ok(inc.bytesFromSource * 10 < fullBytes, `moved ${inc.bytesFromSource} bytes, the full copy ${fullBytes}`);
    await assertIdentical();
  });

  test('most of one table changed: that table copied whole, the others patched; identical', async () => {
    change(source, `UPDATE public.labels SET label = label || ' (v2)' WHERE code < 'code-005000';
      UPDATE public.parents SET name = name || '.' WHERE id IN (10, 20000, 40000);`);
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.copied, ['public.labels']);
    assert.deepEqual(inc.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.parents', rowsDeleted: 3, rowsInserted: 3 }]);
    await assertIdentical();
  });

  test('changes over much of the data: a full copy instead of a patch, with the reason; identical', async () => {
    change(source, `UPDATE public.parents SET price = price + 2 WHERE id % 2 = 0;`);
    const result = await sync({ jobs: 2 });
    assert.equal(result.incremental.mode, 'full');
    assert.match(result.incremental.reason ?? '', /\d+ of the source's \d+ rows differ from the target's: a full copy is faster/);
    await assertIdentical();
    assert.equal((await sync()).incremental.mode, 'incremental');
  });

  test('the source schema changed: full copy, with the reason', async () => {
    psqlText(source.url, `ALTER TABLE public.labels ADD COLUMN weight int DEFAULT 3;`);
    const result = await sync({ jobs: 2 });
    assert.equal(result.incremental.mode, 'full');
    assert.match(result.incremental.reason ?? '', /schema/);
    await assertIdentical();
    // the record now names the new schema: the next sync is incremental again
    assert.equal((await sync()).incremental.mode, 'incremental');
  });

  test('full: true copies everything', async () => {
    const result = await sync({ full: true, jobs: 1 });
    assert.equal(result.incremental.mode, 'full');
    assert.match(result.incremental.reason ?? '', /full copy was asked/);
    assert.ok(result.incremental.bytesFromSource > 1_000_000);
    await assertIdentical();
  });
});
