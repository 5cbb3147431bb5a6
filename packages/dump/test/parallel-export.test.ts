import assert from 'node:assert/strict';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createDatabase, pgDumpSchema, psqlFile, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { DumpError, exportDatabase, readSourceSnapshot, writeDumpFrom } from '@mbsync/dump';
import { importFile, loadPagila, loadTricky, stateOf } from './support/databases.js';

/** COPY blocks per table in a dump file: `schema.table` → how many `COPY … FROM stdin;` lines name it. */
function copyBlocks(file: string): Map<string, number> {
  const blocks = new Map<string, number>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^COPY ([^ ]+) .*FROM stdin;$/gm)) {
    const name = m[1]!.replace(/"/g, '');
    blocks.set(name, (blocks.get(name) ?? 0) + 1);
  }
  return blocks;
}

/**
 * Sessions still working, or export lanes still connected, on a database, once those that are closing have
 * gone (a backend leaves pg_stat_activity a moment after its client disconnects): none may be left behind.
 */
async function otherSessions(db: TestDatabase): Promise<number> {
  let n = 0;
  for (let i = 0; i < 50; i++) {
    [{ n }] = await db.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${db.name} AND pid <> pg_backend_pid() AND (state <> 'idle' OR application_name LIKE 'mbsync%')`;
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}

describe('parallel export (several connections in one snapshot)', () => {
  let dir: string;
  const cleanup: TestDatabase[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-pexport-'));
  });

  after(async () => {
    for (const db of cleanup) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function database(name: string, settings?: Record<string, string>): Promise<TestDatabase> {
    const db = await createDatabase(name, settings ? { sessionSettings: settings } : {});
    cleanup.push(db);
    return db;
  }

  /** ~100 MB of COPY text in two tables, one for each of two lanes */
  async function twoBigTables(name: string): Promise<TestDatabase> {
    const db = await database(name);
    await db.sql.unsafe(`
      CREATE TABLE big1 AS SELECT g AS id, repeat(md5(g::text), 20) AS body FROM generate_series(1, 150000) g;
      CREATE TABLE big2 AS SELECT g AS id, repeat(md5(g::text), 20) AS body FROM generate_series(1, 140000) g`);
    return db;
  }

  test('tricky types, 3 lanes, tables split into many blocks: psql and the importer restore identical databases', async () => {
    // the source's own defaults differ from the dump's: every lane must print values the same way
    const source = await database('pexp_tricky', { DateStyle: 'SQL, DMY', TimeZone: 'Pacific/Chatham', IntervalStyle: 'sql_standard', extra_float_digits: '0', bytea_output: 'escape' });
    loadTricky(source);
    const out = join(dir, 'tricky.sql');
    const result = await exportDatabase({ sql: source.sql, sourceName: 'tricky', out, jobs: 3, blockBytes: 256 });
    const blocks = copyBlocks(out);
    assert.ok([...blocks.values()].some((n) => n > 1), `some table should span several COPY blocks: ${JSON.stringify([...blocks])}`);
    // the manifest counts rows per table, whatever the blocks
    for (const t of result.manifest.tables) {
      const [{ n }] = await source.sql.unsafe<[{ n: number }]>(`SELECT count(*)::int AS n FROM ONLY "${t.schema}"."${t.name}"`);
      assert.equal(t.rows, n, `${t.schema}.${t.name}`);
    }
    const expected = await stateOf(source);

    const viaPsql = await database('pexp_tricky_psql', { DateStyle: 'German, DMY', TimeZone: 'Asia/Kathmandu', IntervalStyle: 'iso_8601' });
    psqlFile(viaPsql.url, out);
    assert.deepEqual(await stateOf(viaPsql), expected);

    const viaImporter = await database('pexp_tricky_import');
    const imported = await importFile(viaImporter, out);
    assert.deepEqual(await stateOf(viaImporter), expected);
    // one entry per table with its rows summed over the blocks (the importer checked them against the manifest)
    assert.equal(imported.tables.length, result.manifest.tables.length);
    assert.equal(imported.rows, result.manifest.rows);
  });

  test('pagila, 2 lanes with the default block size: round trip value by value', async () => {
    const source = await database('pexp_pagila');
    loadPagila(source);
    const out = join(dir, 'pagila.sql');
    const result = await exportDatabase({ sql: source.sql, sourceName: 'pagila', out, jobs: 2, blockBytes: 64 * 1024 });
    assert.ok((copyBlocks(out).get('public.rental') ?? 0) > 1, 'rental (1 MB of COPY text) spans several 64 KiB blocks');
    const copy = await database('pexp_pagila_copy');
    await importFile(copy, out);
    assert.equal(pgDumpSchema(copy.url), pgDumpSchema(source.url));
    assert.deepEqual(await snapshotDatabase(copy.sql), await snapshotDatabase(source.sql));
    assert.ok(result.manifest.rows > 40_000);
    assert.equal(await otherSessions(source), 0, 'the helper lane closed its connection');
  });

  test('every lane reads the same snapshot: rows committed during the export are not in the file', async () => {
    const source = await database('pexp_snapshot');
    await source.sql.unsafe(`
      CREATE TABLE a AS SELECT g AS id, repeat(md5(g::text), 8) AS body FROM generate_series(1, 40000) g;
      CREATE TABLE b AS SELECT g AS id, repeat(md5(g::text), 4) AS body FROM generate_series(1, 30000) g;
      CREATE TABLE c (id int)`);
    const writer = postgres(source.url, { max: 1, onnotice: () => {} });
    let inserted = false;
    try {
      const out = join(dir, 'snapshot.sql');
      const options = { sourceName: 'snapshot', jobs: 2, blockBytes: 64 * 1024 };
      const stats = await source.sql.begin('isolation level repeatable read read only', async (tx) => {
        const snapshot = await readSourceSnapshot(tx, source.sql, options);
        // after the snapshot is taken, before any lane reads: these rows must not appear anywhere
        await writer.unsafe('INSERT INTO b SELECT g, $$late$$ FROM generate_series(1, 500) g; INSERT INTO c VALUES (1)');
        inserted = true;
        const sink = createWriteStream(out);
        try {
          return await writeDumpFrom(source.sql, tx, snapshot, sink, options);
        } finally {
          await new Promise((resolve) => sink.end(resolve));
        }
      });
      assert.ok(inserted);
      assert.deepEqual(stats.tables.map((t) => [t.name, t.rows]).sort(), [['a', 40000], ['b', 30000], ['c', 0]]);
      assert.doesNotMatch(readFileSync(out, 'utf8'), /\tlate$/m);
    } finally {
      await writer.end();
    }
  });

  test('abort with 2 lanes: both COPYs stop, no file, no session left', async () => {
    const source = await twoBigTables('pexp_abort');
    const out = join(dir, 'aborted.sql');
    const controller = new AbortController();
    const promise = exportDatabase({
      sql: source.sql, sourceName: 'abort', out, jobs: 2, signal: controller.signal,
      onProgress: (p) => { if (p.rowsDone > 10_000) controller.abort(); },
    });
    await assert.rejects(promise, (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CANCELLED');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('aborted')), []);
    assert.equal(await otherSessions(source), 0);
  });

  test('a helper lane never queues behind a waiting ACCESS EXCLUSIVE request: DUMP_LOCK_TIMEOUT, no deadlock, locks released', async () => {
    const source = await database('pexp_lock');
    // the largest table goes to the exporting connection, the next one to the helper lane
    await source.sql.unsafe(`
      CREATE TABLE first_big AS SELECT g AS id, repeat('x', 200) AS body FROM generate_series(1, 20000) g;
      CREATE TABLE second AS SELECT g AS id FROM generate_series(1, 1000) g;
      ANALYZE`);
    const waiter = postgres(source.url, { max: 1, onnotice: () => {} });
    let altered: Promise<unknown> | null = null;
    try {
      const options = { sourceName: 'lock', jobs: 2 };
      const exporter = postgres(source.url, { max: 3, onnotice: () => {} });
      const promise = exporter.begin('isolation level repeatable read read only', async (tx) => {
        const snapshot = await readSourceSnapshot(tx, exporter, options);
        // the export holds ACCESS SHARE on every table now; an ALTER TABLE queues behind it
        altered = waiter.unsafe('ALTER TABLE second ADD COLUMN extra int').execute();
        let queued = false;
        for (let i = 0; i < 100 && !queued; i++) {
          const [{ n }] = await source.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'second' AND NOT l.granted`;
          queued = n > 0;
          if (!queued) await new Promise((r) => setTimeout(r, 50));
        }
        if (!queued) throw new Error('the ALTER TABLE never queued');
        return await writeDumpFrom(exporter, tx, snapshot, new Writable({ write: (_chunk, _encoding, done) => done() }), options);
      }).finally(() => exporter.end({ timeout: 1 }));
      await assert.rejects(promise, (e: unknown) => e instanceof DumpError && e.code === 'DUMP_LOCK_TIMEOUT' && /public\.second/.test(e.message) && /"lock"/.test(e.message));
      // the export let go of its locks: the waiting ALTER TABLE went through
      await altered;
      const [{ n }] = await source.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'second' AND column_name = 'extra'`;
      assert.equal(n, 1);
    } finally {
      await waiter.end();
    }
    assert.equal(await otherSessions(source), 0);
  });

  test('a helper lane killed mid-COPY fails the export with the connection error, the other lane is stopped, no file', async () => {
    const source = await twoBigTables('pexp_kill');
    const out = join(dir, 'killed.sql');
    let killed: string | null = null;
    const promise = exportDatabase({
      sql: source.sql, sourceName: 'kill', out, jobs: 2, blockBytes: 64 * 1024,
      onProgress: (p) => {
        // synchronous (psql): nothing is read meanwhile, so the helper's server process dies mid-COPY
        if (killed === null && p.rowsDone > 5_000) {
          killed = psqlText(source.url, `COPY (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'mbsync export lane 2' AND datname = current_database()) TO STDOUT`).trim();
        }
      },
    });
    await assert.rejects(promise, (e: unknown) => e instanceof DumpError && /^DUMP_CONNECTION_FAILED$|^DUMP_QUERY_FAILED$/.test(e.code));
    assert.equal(killed, '1', 'the helper lane was found by its application_name and terminated');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('killed')), []);
    assert.equal(await otherSessions(source), 0);
  });
});
