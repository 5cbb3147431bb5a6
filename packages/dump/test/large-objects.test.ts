// Large objects (pg_largeobject) are copied: every object byte for byte, with owner, grants and comment, streamed in
// pieces; a pg_dump file's large objects load too, and its BEGIN/COMMIT around them never split the one transaction.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type postgres from 'postgres';
import { DumpError, exportDatabase, openDumpFile, readSqlStatements, scanDumpSchemas } from '@mbsync/dump';
import { pgDumpToFile, scratchDatabases, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { importFile } from './support/databases.js';

/** Roles are cluster-wide: created once, never dropped. */
const OWNER = 'mbsync_test_lo_owner';
const READER = 'mbsync_test_lo_reader';
const CHUNK = 256 * 1024;

interface LargeObject {
  oid: string;
  owner: string;
  acl: string | null;
  comment: string | null;
  data: Buffer;
}

/** Every large object, whole (the test's own objects are a few MB at most). */
async function largeObjects(sql: postgres.Sql): Promise<LargeObject[]> {
  return [...(await sql<LargeObject[]>`
    SELECT m.oid::text AS oid, pg_get_userbyid(m.lomowner) AS owner, m.lomacl::text AS acl,
      obj_description(m.oid, 'pg_largeobject') AS comment, lo_get(m.oid) AS data
    FROM pg_largeobject_metadata m ORDER BY m.oid`)];
}

/** Byte-for-byte equality of two sets of large objects, with a readable message. */
function assertSameObjects(actual: LargeObject[], expected: LargeObject[], what: string): void {
  assert.deepEqual(actual.map((o) => o.oid), expected.map((o) => o.oid), `${what}: the same OIDs`);
  for (const [i, e] of expected.entries()) {
    const a = actual[i]!;
    assert.equal(a.data.length, e.data.length, `${what}: large object ${e.oid} length`);
    assert.ok(a.data.equals(e.data), `${what}: large object ${e.oid} differs`);
    assert.equal(a.comment, e.comment, `${what}: comment of ${e.oid}`);
  }
}

describe('large objects', { timeout: 180_000 }, () => {
  let dir: string;
  let source: TestDatabase;
  let objects: LargeObject[];
  const { fresh, dropAll } = scratchDatabases();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-lo-'));
    source = await fresh('lo_src');
    await source.sql.unsafe(`
      DO $$ BEGIN CREATE ROLE ${OWNER}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
      DO $$ BEGIN CREATE ROLE ${READER}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
      CREATE TABLE public.documents (id int PRIMARY KEY, title text NOT NULL, body oid);
      -- 6.4 MB of bytes of every value (md5 digests), an empty object, a small one with a comment, one owned by
      -- another role and readable by a third
      INSERT INTO public.documents VALUES
        (1, 'big', lo_from_bytea(0, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea) FROM generate_series(1, 400000) g))),
        (2, 'empty', lo_create(0)),
        (3, 'small', lo_from_bytea(0, convert_to(E'hello\\nworld \\u00e9 \\t', 'UTF8'))),
        (4, 'owned', lo_from_bytea(0, '\\x00ff00ff'::bytea)),
        (5, 'exactly one piece', lo_from_bytea(0, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea) FROM generate_series(1, ${CHUNK / 16}) g)));
      SELECT lo_unlink(lo_from_bytea(0, '\\x01'::bytea)); -- a gap in the OIDs`);
    const [small, owned] = await source.sql<[{ oid: string }, { oid: string }]>`SELECT body::text AS oid FROM public.documents WHERE id IN (3, 4) ORDER BY id`;
    await source.sql.unsafe(`COMMENT ON LARGE OBJECT ${small.oid} IS 'says hello';
      ALTER LARGE OBJECT ${owned.oid} OWNER TO ${OWNER}; GRANT SELECT ON LARGE OBJECT ${owned.oid} TO ${READER}`);
    objects = await largeObjects(source.sql);
    assert.equal(objects.length, 5);
    assert.equal(objects[0]!.data.length, 6_400_000);
  });
  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  test('our export → our import: every large object byte for byte, with owner, grant and comment; streamed in pieces', async () => {
    const file = join(dir, 'lo.sql');
    const { manifest } = await exportDatabase({ sql: source.sql, sourceName: 'src', out: file, owners: true, privileges: true });
    assert.equal(manifest.largeObjects, 5);
    const text = await readFile(file, 'utf8');
    const big = objects[0]!.oid;
    const pieces = text.split('\n').filter((l) => l.startsWith(`SELECT pg_catalog.lo_put('${big}', `));
    assert.equal(pieces.length, Math.ceil(6_400_000 / CHUNK), 'the 6.4 MB object is written in pieces');
    assert.ok(pieces.every((l) => l.length < 2 * CHUNK + 100), 'no piece is larger than the chunk');

    const target = await fresh('lo_dst');
    const result = await importFile(target, file);
    assert.equal(result.largeObjects, 5);
    const copied = await largeObjects(target.sql);
    assertSameObjects(copied, objects, 'import');
    assert.deepEqual(copied.map((o) => [o.owner, o.acl]), objects.map((o) => [o.owner, o.acl]), 'owners and grants');
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql), 'the table that names them');
  });

  test('replace: the dump\'s objects replace the target\'s of the same OID, the target\'s others stay; data-only copies them too', async () => {
    const file = join(dir, 'lo-plain.sql');
    await exportDatabase({ sql: source.sql, sourceName: 'src', out: file });
    const target = await fresh('lo_replace');
    const small = objects[2]!.oid;
    await target.sql.unsafe(`SELECT lo_from_bytea(${small}, '\\xdeadbeef'::bytea); SELECT lo_from_bytea(999999, '\\x42'::bytea);
      COMMENT ON LARGE OBJECT ${small} IS 'old'`);
    await importFile(target, file);
    const after = await largeObjects(target.sql);
    assertSameObjects(after.filter((o) => o.oid !== '999999'), objects, 'replace');
    assert.deepEqual(after.find((o) => o.oid === '999999')?.data, Buffer.from([0x42]), 'an object the dump does not name is kept');

    // data-only: the same, without touching the schema
    await target.sql.unsafe(`SELECT lo_unlink(${small}); SELECT lo_from_bytea(${small}, '\\x00'::bytea)`);
    const result = await importFile(target, file, { mode: 'data-only' });
    assert.equal(result.largeObjects, 5);
    assertSameObjects((await largeObjects(target.sql)).filter((o) => o.oid !== '999999'), objects, 'data-only');
  });

  test('a dump limited to some schemas leaves large objects out (pg_dump\'s rule)', async () => {
    const file = join(dir, 'lo-public.sql');
    const { manifest } = await exportDatabase({ sql: source.sql, sourceName: 'src', out: file, schemas: ['public'] });
    assert.equal(manifest.largeObjects, 0);
    assert.doesNotMatch(await readFile(file, 'utf8'), /lo_create|lo_put/);
  });

  test('pg_dump\'s large objects load byte for byte; its BEGIN/COMMIT around them do not split the import\'s one transaction', async () => {
    const file = join(dir, 'lo-pgdump.sql');
    pgDumpToFile(source.url, file, ['--no-owner', '--no-privileges']);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^COMMIT;$/m, 'pg_dump brackets its large objects with BEGIN/COMMIT');
    assert.match(text, /lowrite/);
    const schemas = await scanDumpSchemas(readSqlStatements((await openDumpFile(file)).chunks));
    const target = await fresh('lo_pgdump');
    await importFile(target, file, { schemas });
    assertSameObjects(await largeObjects(target.sql), objects, 'pg_dump file');

    // a failure after pg_dump's COMMIT must still roll everything back: that COMMIT was not run
    const broken = join(dir, 'lo-pgdump-broken.sql');
    await writeFile(broken, text.replace(/^COMMIT;$/m, 'COMMIT;\n\nSELECT 1 / 0;'));
    const untouched = await fresh('lo_pgdump_broken');
    await assert.rejects(importFile(untouched, broken, { schemas }), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_IMPORT_FAILED' && /division by zero/.test(e.message));
    assert.deepEqual(await largeObjects(untouched.sql), [], 'no large object was committed');
    assert.deepEqual((await snapshotDatabase(untouched.sql)).tables, {}, 'no table was committed');
  });

  test('a ROLLBACK or SAVEPOINT in a dump is refused, naming its line', async () => {
    const file = join(dir, 'rollback.sql');
    await writeFile(file, 'CREATE TABLE public.t (id int);\nROLLBACK;\n-- PostgreSQL database dump complete\n');
    const target = await fresh('lo_rollback');
    await assert.rejects(importFile(target, file, { schemas: ['public'] }), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_SQL_SYNTAX' && /rollback\.sql:2: ROLLBACK is not allowed in a dump/.test(e.message));
    assert.deepEqual((await snapshotDatabase(target.sql)).tables, {});
  });
});
