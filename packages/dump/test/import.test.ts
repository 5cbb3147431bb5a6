import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { DumpError, scanDumpSchemas, readSqlStatements, openDumpFile } from '@mbsync/dump';
import { diffSchemas, introspect } from '@mbsync/schema-diff';
import { createDatabase, pgDumpToFile, psqlText, type TestDatabase } from '@mbsync/testkit';
import { exportTo, importFile, loadPagila, loadTricky, stateOf } from './support/databases.js';

describe('importDump round trips', () => {
  let dir: string;
  const dbs: TestDatabase[] = [];
  const fresh = async (prefix: string, settings?: Record<string, string>) => {
    const db = await createDatabase(prefix, settings ? { sessionSettings: settings } : {});
    dbs.push(db);
    return db;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-import-'));
  });
  after(async () => {
    for (const db of dbs) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('tricky database: our export → our import, source and target with different session defaults', async () => {
    const source = await fresh('imp_src', { DateStyle: 'SQL, DMY', TimeZone: 'America/St_Johns', IntervalStyle: 'sql_standard', extra_float_digits: '0' });
    loadTricky(source);
    const file = join(dir, 'tricky.sql.gz');
    const { manifest } = await exportTo(source, file);
    const target = await fresh('imp_dst', { DateStyle: 'German, DMY', TimeZone: 'Pacific/Chatham', IntervalStyle: 'iso_8601', extra_float_digits: '1' });
    const result = await importFile(target, file);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    // schema-diff sees the copy restored from our own dump as identical
    assert.deepEqual(diffSchemas(await introspect(source.sql), await introspect(target.sql)), []);
    assert.equal(result.rows, manifest.rows);
    assert.deepEqual(result.tables.map((t) => t.rows), manifest.tables.map((t) => t.rows));
  });

  test('tricky database: our import of pg_dump plain output gives an identical copy', async () => {
    const source = await fresh('imp_pgd_src');
    loadTricky(source);
    const file = join(dir, 'tricky-pgdump.sql');
    pgDumpToFile(source.url, file);
    const target = await fresh('imp_pgd_dst');
    await importFile(target, file, { schemas: await scanDumpSchemas(readSqlStatements((await openDumpFile(file)).chunks)) });
    assert.deepEqual(await stateOf(target), await stateOf(source));
  });

  test('pagila: our export → our import, and pg_dump output → our import, both identical', async () => {
    const source = await fresh('pagila_src');
    loadPagila(source);
    const expected = await stateOf(source);
    const ours = join(dir, 'pagila.sql');
    await exportTo(source, ours);
    const t1 = await fresh('pagila_ours');
    await importFile(t1, ours);
    assert.deepEqual(await stateOf(t1), expected);

    const theirs = join(dir, 'pagila-pgdump.sql');
    pgDumpToFile(source.url, theirs);
    const t2 = await fresh('pagila_pgdump');
    await importFile(t2, theirs, { schemas: await scanDumpSchemas(readSqlStatements((await openDumpFile(theirs)).chunks)) });
    assert.deepEqual(await stateOf(t2), expected);
  });

  test('rows are loaded frozen (COPY FREEZE into tables the import created)', async () => {
    const source = await fresh('freeze_src');
    psqlText(source.url, `CREATE TABLE public.t (id int, body text); INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;`);
    const file = join(dir, 'freeze.sql');
    await exportTo(source, file);
    const target = await fresh('freeze_dst');
    await importFile(target, file);
    await target.sql.unsafe('CREATE EXTENSION pg_visibility');
    const [summary] = await target.sql<[{ all_frozen: string; pages: string }]>`
      SELECT all_frozen::text, pg_relation_size('public.t') / current_setting('block_size')::int AS pages FROM pg_visibility_map_summary('public.t')`;
    assert.ok(Number(summary.pages) > 10);
    assert.equal(summary.all_frozen, String(summary.pages), 'every page of the loaded table is all-frozen');
  });

  test('replace mode: the dumped schemas are replaced, other schemas are left alone', async () => {
    const source = await fresh('repl_src');
    psqlText(source.url, `CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, name text); INSERT INTO app.items VALUES (1, 'new');
      CREATE TABLE public.shared (id int); INSERT INTO public.shared VALUES (42);`);
    const file = join(dir, 'repl.sql');
    await exportTo(source, file);
    const target = await fresh('repl_dst');
    psqlText(target.url, `CREATE SCHEMA app; CREATE TABLE app.items (id bigint, old_column text); INSERT INTO app.items VALUES (9, 'old');
      CREATE TABLE app.stale (x int); CREATE TABLE public.local_only (y int); INSERT INTO public.local_only VALUES (1);
      CREATE SCHEMA keep; CREATE TABLE keep.mine (z int); INSERT INTO keep.mine VALUES (7);`);
    await importFile(target, file);
    const after = await stateOf(target);
    assert.deepEqual(after.data.tables['app.items'], ['(1,new)']);
    assert.deepEqual(after.data.tables['public.shared'], ['(42)']);
    assert.equal(after.data.tables['app.stale'], undefined, 'objects of a replaced schema are gone');
    assert.equal(after.data.tables['public.local_only'], undefined);
    assert.deepEqual(after.data.tables['keep.mine'], ['(7)'], 'a schema the dump does not hold is untouched');
  });

  test('data-only mode: tables truncated and reloaded through foreign keys and triggers, sequences set, schema kept', async () => {
    const ddl = `CREATE TABLE public.parent (id serial PRIMARY KEY, name text);
      CREATE TABLE public.child (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES public.parent (id), note text);
      CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := upper(NEW.note); RETURN NEW; END$$;
      CREATE TRIGGER child_shout BEFORE INSERT ON public.child FOR EACH ROW EXECUTE FUNCTION public.shout();`;
    const source = await fresh('donly_src');
    psqlText(source.url, `${ddl} INSERT INTO public.parent (name) SELECT 'p' || g FROM generate_series(1, 50) g;
      INSERT INTO public.child (parent_id, note) SELECT g, 'note ' || g FROM generate_series(1, 50) g;
      UPDATE public.child SET note = 'MiXeD ' || id;`);
    const file = join(dir, 'donly.sql');
    await exportTo(source, file);
    const target = await fresh('donly_dst');
    psqlText(target.url, `${ddl} CREATE INDEX child_note ON public.child (note); INSERT INTO public.parent (name) VALUES ('old'); INSERT INTO public.child (parent_id, note) VALUES (1, 'old');`);
    const schemaBefore = (await stateOf(target)).schema;
    await importFile(target, file, { mode: 'data-only' });
    const after = await stateOf(target);
    const expected = await stateOf(source);
    assert.deepEqual(after.data, expected.data, 'rows and sequences equal the source: the trigger did not rewrite notes');
    assert.equal(after.schema, schemaBefore, 'data-only keeps the target schema (its extra index, FK and trigger)');
  });
});

describe('importDump refuses bad input with the line it failed on', () => {
  test('a psql backslash command other than \\restrict is refused with its line number, target untouched', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mbsync-bs-'));
    const target = await createDatabase('imp_bs');
    t.after(async () => {
      await target.drop();
      await rm(dir, { recursive: true, force: true });
    });
    psqlText(target.url, 'CREATE TABLE public.t (id int); INSERT INTO public.t VALUES (1);');
    const before = await stateOf(target);
    const file = join(dir, 'bad.sql');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, 'CREATE TABLE public.u (id int);\n\\connect other\n-- PostgreSQL database dump complete\n');
    await assert.rejects(importFile(target, file, { schemas: ['public'] }), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_BACKSLASH_COMMAND' && /bad\.sql:2: /.test(e.message) && /connect/.test(e.message));
    assert.deepEqual(await stateOf(target), before);
  });

  test('an unknown file is a clear error', async () => {
    await assert.rejects(openDumpFile('/nonexistent/dump.sql'), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CORRUPT' && /no such file/.test(e.message));
  });
});
