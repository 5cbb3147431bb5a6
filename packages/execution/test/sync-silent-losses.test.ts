// What a sync used to lose or break without saying so (issue 16, point 6), on the default parallel sync (jobs 2) and
// the one-transaction streaming sync (jobs 1): large objects copied byte for byte, an invalid index left out instead
// of failing the sync, an excluded table's serial sequence copied without its OWNED BY.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type postgres from 'postgres';
import { openDumpFile } from '@mbsync/dump';
import { runSync } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import { diffSchemas, introspect } from '@mbsync/schema-diff';
import { scratchDatabases, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

/** OID, comment and the whole content of every large object. */
/** The OID of the target's own large object (kept by the sync). */
const KEPT_OID = 4_000_000_000;

async function largeObjects(sql: postgres.Sql): Promise<{ oid: string; comment: string | null; data: Buffer }[]> {
  return [...(await sql<{ oid: string; comment: string | null; data: Buffer }[]>`
    SELECT m.oid::text AS oid, obj_description(m.oid, 'pg_largeobject') AS comment, lo_get(m.oid) AS data FROM pg_largeobject_metadata m ORDER BY m.oid`)];
}

describe('runSync: large objects, invalid indexes, excluded serial tables', { timeout: 300_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  const { fresh, dropAll } = scratchDatabases();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-sync-losses-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups'), DISK_RESERVE_MB: '0' });
    source = await fresh('losses_src');
    await source.sql.unsafe(`
      CREATE TABLE public.files (id int PRIMARY KEY, name text NOT NULL, content oid, tag int);
      INSERT INTO public.files VALUES
        (1, 'big', lo_from_bytea(0, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea) FROM generate_series(1, 250000) g)), 1),
        (2, 'empty', lo_create(0), 1),
        (3, 'note', lo_from_bytea(0, convert_to('a note', 'UTF8')), 2);
      CREATE TABLE public.audit (id serial PRIMARY KEY, what text);
      INSERT INTO public.audit (what) SELECT 'event ' || g FROM generate_series(1, 12) g;`);
    const [note] = await source.sql<[{ oid: string }]>`SELECT content::text AS oid FROM public.files WHERE id = 3`;
    await source.sql.unsafe(`COMMENT ON LARGE OBJECT ${note.oid} IS 'the note'`);
    // a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index that cannot be built from these rows
    await assert.rejects(source.sql.unsafe('CREATE UNIQUE INDEX CONCURRENTLY files_tag ON public.files (tag)'), /could not create unique index/);
  });

  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  for (const jobs of [2, 1]) {
    test(`jobs ${jobs}: large objects byte for byte, the invalid index left out, the excluded table's sequence unowned; the target's own large object replaced`, async () => {
      const target = await fresh(`losses_dst_${jobs}`);
      const expected = await largeObjects(source.sql);
      assert.equal(expected.length, 3);
      // the target holds an object with the OID of the source's note (replaced) and one of its own (kept), whose OID is
      // far above any the server hands out, so that it sorts last however far the cluster's OID counter has gone
      await target.sql.unsafe(`SELECT lo_from_bytea(${expected[2]!.oid}, '\\xdead'::bytea); SELECT lo_from_bytea(${KEPT_OID}, '\\x01'::bytea)`);
      const result = await runSync({
        source: describeEnvironment('src', source.url),
        target: describeEnvironment('dst', target.url),
        jobs,
        excludeTables: ['public.audit'],
        acceptDataLoss: true,
        config,
      });
      const copied = await largeObjects(target.sql);
      assert.deepEqual(copied.map((o) => o.oid), [...expected.map((o) => o.oid), String(KEPT_OID)]);
      for (const [i, e] of expected.entries()) {
        assert.ok(copied[i]!.data.equals(e.data), `large object ${e.oid} copied byte for byte`);
        assert.equal(copied[i]!.comment, e.comment);
      }
      assert.equal(copied[0]!.data.length, 4_000_000);

      const indexes = await target.sql<{ name: string }[]>`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'public.files'::regclass ORDER BY 1`;
      assert.deepEqual(indexes.map((i) => i.name), ['files_pkey'], 'the invalid index is not rebuilt');

      const after = await snapshotDatabase(target.sql);
      assert.deepEqual(after.tables['public.files'], (await snapshotDatabase(source.sql)).tables['public.files']);
      assert.equal(after.tables['public.audit'], undefined);
      assert.equal(after.sequences['public.audit_id_seq'], '12,true');
      assert.deepEqual(diffSchemas(await introspect(source.sql, { excludeTables: ['public.audit'] }), await introspect(target.sql)), []);

      // the backup holds the target's large objects as they were (its own and the one replaced)
      assert.ok(result.backup);
      assert.equal((await openDumpFile(result.backup.file)).manifest?.largeObjects, 2);
    });
  }
});
