// Objects a dump used to lose or break without saying so (issue 16, point 6): each test fails on the code before
// the fix. Round trips through a dump file (export → import) compared value by value; large objects have their own
// file (large-objects.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportDatabase, openDumpFile, readSqlStatements, scanDumpSchemas } from '@mbsync/dump';
import { diffSchemas, introspect } from '@mbsync/schema-diff';
import { pgDumpToFile, scratchDatabases, snapshotDatabase } from '@mbsync/testkit';
import { exportTo, importFile, stateOf } from './support/databases.js';

/** A role for owners and grants; roles are cluster-wide, so it is created once and never dropped. */
const READER = 'mbsync_test_silent_reader';

describe('silent losses: invalid indexes, stale materialized views, partition-root COPY, excluded serials, foreign tables', () => {
  let dir: string;
  const { fresh, dropAll } = scratchDatabases();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-silent-'));
    const admin = await fresh('silent_roles');
    await admin.sql.unsafe(`DO $$ BEGIN CREATE ROLE ${READER}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
  });
  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  test('an invalid index (a failed CREATE UNIQUE INDEX CONCURRENTLY) is not copied: the import succeeds and diff sees no difference', async () => {
    const source = await fresh('silent_invalid_src');
    await source.sql.unsafe(`CREATE TABLE public.t (id int PRIMARY KEY, v int); INSERT INTO public.t SELECT g, g % 10 FROM generate_series(1, 100) g;
      CREATE INDEX t_v_plain ON public.t (v)`);
    // fails on the duplicates and leaves the index behind, invalid (indisvalid = false)
    await assert.rejects(source.sql.unsafe('CREATE UNIQUE INDEX CONCURRENTLY t_v_unique ON public.t (v)'), /could not create unique index/);
    const [invalid] = await source.sql<[{ valid: boolean }]>`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.t_v_unique'::regclass`;
    assert.equal(invalid.valid, false);

    const file = join(dir, 'invalid-index.sql');
    await exportTo(source, file);
    assert.doesNotMatch(await readFile(file, 'utf8'), /t_v_unique/);
    const target = await fresh('silent_invalid_dst');
    await importFile(target, file);
    assert.deepEqual((await stateOf(target)).data, (await stateOf(source)).data);
    const indexes = await target.sql<{ name: string }[]>`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'public.t'::regclass ORDER BY 1`;
    assert.deepEqual(indexes.map((i) => i.name), ['t_pkey', 't_v_plain']);
    assert.deepEqual(diffSchemas(await introspect(source.sql), await introspect(target.sql)), []);
  });

  test('data-only import refreshes the populated materialized views over the reloaded tables, in dependency order', async () => {
    const ddl = `CREATE TABLE public.sales (id int PRIMARY KEY, region text NOT NULL, amount numeric NOT NULL);
      CREATE MATERIALIZED VIEW public.by_region AS SELECT region, sum(amount) AS total, count(*) AS n FROM public.sales GROUP BY region;
      CREATE VIEW public.big_regions AS SELECT region, total FROM public.by_region WHERE n > 1;
      CREATE MATERIALIZED VIEW public.big_count AS SELECT count(*) AS regions FROM public.big_regions;
      CREATE MATERIALIZED VIEW public.never_filled AS SELECT max(amount) AS top FROM public.sales WITH NO DATA;`;
    const source = await fresh('silent_mv_src');
    await source.sql.unsafe(`${ddl} INSERT INTO public.sales SELECT g, 'r' || (g % 4), g FROM generate_series(1, 40) g;
      REFRESH MATERIALIZED VIEW public.by_region; REFRESH MATERIALIZED VIEW public.big_count;`);
    const first = join(dir, 'mv-1.sql');
    await exportTo(source, first);
    const target = await fresh('silent_mv_dst');
    await importFile(target, first);
    assert.deepEqual((await stateOf(target)).data, (await stateOf(source)).data);

    // the source changes (and refreshes its views); a data-only import brings the rows, and the views with them
    await source.sql.unsafe(`DELETE FROM public.sales WHERE id > 30; INSERT INTO public.sales VALUES (100, 'solo', 7), (101, 'r1', 1000);
      REFRESH MATERIALIZED VIEW public.by_region; REFRESH MATERIALIZED VIEW public.big_count;`);
    const second = join(dir, 'mv-2.sql');
    await exportTo(source, second);
    await importFile(target, second, { mode: 'data-only' });
    const after = await snapshotDatabase(target.sql);
    assert.deepEqual(after, await snapshotDatabase(source.sql));
    assert.deepEqual(after.tables['public.big_count'], ['(4)'], 'refreshed after by_region, which it reads through a view');
    assert.deepEqual(after.tables['public.never_filled'], ['<unpopulated>'], 'a view WITH NO DATA stays so');
  });

  test('a pg_dump --load-via-partition-root file loads (no COPY FREEZE into the partitioned root)', async () => {
    const source = await fresh('silent_root_src');
    await source.sql.unsafe(`CREATE TABLE public.events (id int NOT NULL, at date NOT NULL, body text) PARTITION BY RANGE (at);
      CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
        PARTITION BY HASH (id);
      CREATE TABLE public.events_2025_a PARTITION OF public.events_2025 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
      CREATE TABLE public.events_2025_b PARTITION OF public.events_2025 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
      CREATE TABLE public.plain (id int PRIMARY KEY);
      INSERT INTO public.events SELECT g, date '2024-06-01' + g, 'e' || g FROM generate_series(1, 500) g;
      INSERT INTO public.plain SELECT generate_series(1, 10);`);
    const file = join(dir, 'root.sql');
    pgDumpToFile(source.url, file, ['--load-via-partition-root']);
    assert.match(await readFile(file, 'utf8'), /^COPY public\.events \(/m, 'pg_dump loads the partitions through the root');
    const target = await fresh('silent_root_dst');
    await importFile(target, file, { schemas: await scanDumpSchemas(readSqlStatements((await openDumpFile(file)).chunks)) });
    assert.deepEqual(await stateOf(target), await stateOf(source));
  });

  test('--exclude-table of a table with a serial column: its sequence is dumped without OWNED BY, and the dump loads', async () => {
    const source = await fresh('silent_serial_src');
    await source.sql.unsafe(`CREATE TABLE public.keep (id serial PRIMARY KEY, v text); CREATE TABLE public.skip (id serial PRIMARY KEY, v text);
      INSERT INTO public.keep (v) SELECT 'k' || g FROM generate_series(1, 5) g; INSERT INTO public.skip (v) SELECT 's' || g FROM generate_series(1, 9) g;`);
    const file = join(dir, 'serial.sql');
    await exportDatabase({ sql: source.sql, sourceName: 'src', out: file, excludeTables: ['public.skip'] });
    const text = await readFile(file, 'utf8');
    assert.match(text, /ALTER SEQUENCE public\.keep_id_seq OWNED BY public\.keep\.id;/);
    assert.doesNotMatch(text, /OWNED BY public\.skip/);
    const target = await fresh('silent_serial_dst');
    await importFile(target, file);
    const after = await snapshotDatabase(target.sql);
    assert.equal(after.tables['public.skip'], undefined);
    assert.deepEqual(after.tables['public.keep'], (await snapshotDatabase(source.sql)).tables['public.keep']);
    assert.equal(after.sequences['public.skip_id_seq'], '9,true', 'the sequence and its value are copied');
    const [owned] = await target.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM pg_depend WHERE objid = 'public.skip_id_seq'::regclass AND deptype = 'a'`;
    assert.equal(owned.n, 0, 'unowned, as pg_dump leaves it');
  });

  test('a foreign table is skipped whole: no comment, owner or grant about it is emitted, and the dump loads', async () => {
    const source = await fresh('silent_foreign_src');
    await source.sql.unsafe(`CREATE FOREIGN DATA WRAPPER silent_fdw; CREATE SERVER silent_server FOREIGN DATA WRAPPER silent_fdw;
      CREATE FOREIGN TABLE public.remote_things (id int, label text) SERVER silent_server;
      COMMENT ON FOREIGN TABLE public.remote_things IS 'lives elsewhere'; COMMENT ON COLUMN public.remote_things.label IS 'a label';
      GRANT SELECT ON public.remote_things TO ${READER}; GRANT SELECT (label) ON public.remote_things TO PUBLIC;
      CREATE SEQUENCE public.remote_seq OWNED BY public.remote_things.id;
      CREATE TABLE public.local_things (id int PRIMARY KEY); INSERT INTO public.local_things VALUES (1), (2);
      COMMENT ON TABLE public.local_things IS 'stays'; GRANT SELECT ON public.local_things TO ${READER};`);
    const file = join(dir, 'foreign.sql');
    // a copy refuses a foreign table (the census, see catalog-coverage); a backup, which keeps what the model
    // carries, skips it: census off, as backups run
    await exportDatabase({ sql: source.sql, sourceName: 'src', out: file, owners: true, privileges: true, census: false });
    const text = await readFile(file, 'utf8');
    assert.doesNotMatch(text, /remote_things/, 'nothing names the skipped foreign table');
    assert.match(text, /COMMENT ON TABLE public\.local_things IS 'stays';/);
    assert.match(text, new RegExp(`GRANT SELECT ON TABLE public\\.local_things TO ${READER};`));
    const target = await fresh('silent_foreign_dst');
    await importFile(target, file);
    const after = await snapshotDatabase(target.sql);
    assert.deepEqual(after.tables['public.local_things'], ['(1)', '(2)']);
    assert.equal(after.sequences['public.remote_seq'], '1,false');
  });
});
