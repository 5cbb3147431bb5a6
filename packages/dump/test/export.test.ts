import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import postgres from 'postgres';
import { createDatabase, databaseUrl, pgDumpSchema, psqlFile, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { DumpError, exportDatabase, readManifest, TRAILER_MARK, type TransferProgress } from '@mbsync/dump';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 's3cret';

const fixtures = new URL('../../../test/fixtures/', import.meta.url).pathname;

async function loadTricky(db: TestDatabase): Promise<void> {
  psqlFile(db.url, join(fixtures, 'tricky/schema.sql'));
  psqlFile(db.url, join(fixtures, 'tricky/data.sql'));
}

describe('exportDatabase', () => {
  let dir: string;
  let source: TestDatabase;
  const cleanup: TestDatabase[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-export-'));
    // A source whose own defaults differ from everything the dump uses must still dump exactly.
    source = await createDatabase('export_src', {
      sessionSettings: { DateStyle: 'SQL, DMY', TimeZone: 'Pacific/Chatham', IntervalStyle: 'sql_standard', extra_float_digits: '0', bytea_output: 'escape' },
    });
    cleanup.push(source);
    await loadTricky(source);
  });

  after(async () => {
    for (const db of cleanup) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function restoreInto(file: string, settings?: Record<string, string>): Promise<TestDatabase> {
    const copy = await createDatabase('export_copy', settings ? { sessionSettings: settings } : {});
    cleanup.push(copy);
    psqlFile(copy.url, file);
    return copy;
  }

  test('round trip: psql restores the file into an identical database (schema, rows, sequences)', async () => {
    const out = join(dir, 'tricky.sql');
    const progress: TransferProgress[] = [];
    const result = await exportDatabase({ sql: source.sql, sourceName: 'tricky', out, onProgress: (p) => progress.push(p) });
    assert.equal(result.file, out);
    const copy = await restoreInto(out, { DateStyle: 'German, DMY', TimeZone: 'Asia/Kathmandu', IntervalStyle: 'iso_8601' });
    assert.equal(pgDumpSchema(copy.url), pgDumpSchema(source.url));
    assert.deepEqual(await snapshotDatabase(copy.sql), await snapshotDatabase(source.sql));

    // progress: tables counted up to the total, bytes never go backwards, ends at 100 %
    const last = progress.at(-1)!;
    assert.equal(last.tablesDone, last.tablesTotal);
    assert.ok(last.tablesTotal >= 10, `expected the fixture's tables, got ${last.tablesTotal}`);
    assert.equal(last.percent, 100);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.bytesDone >= progress[i - 1]!.bytesDone);
  });

  test('manifest: sha256 and size of the file, rows per table equal to the source, source name not URL', async () => {
    const out = join(dir, 'manifest.sql');
    await exportDatabase({ sql: source.sql, sourceName: 'tricky', out });
    const manifest = await readManifest(out);
    assert.ok(manifest);
    const bytes = readFileSync(out);
    assert.equal(manifest.fileBytes, bytes.length);
    assert.equal(manifest.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(manifest.source, 'tricky');
    assert.ok(!JSON.stringify(manifest).includes('postgres://'));
    for (const t of manifest.tables) {
      const [{ n }] = await source.sql.unsafe<[{ n: number }]>(`SELECT count(*)::int AS n FROM ONLY "${t.schema.replace(/"/g, '""')}"."${t.name.replace(/"/g, '""')}"`);
      assert.equal(t.rows, n, `${t.schema}.${t.name}`);
    }
    assert.ok(manifest.schema.tables.length > 0);
    const text = bytes.toString('utf8');
    assert.match(text.trimEnd().split('\n').at(-1)!, new RegExp(`^${TRAILER_MARK}`));
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.partial')));
  });

  test('.sql.gz is gzipped on the fly and restores to the same data', async () => {
    const out = join(dir, 'tricky.sql.gz');
    const { manifest } = await exportDatabase({ sql: source.sql, sourceName: 'tricky', out });
    assert.equal(manifest.compression, 'gzip');
    const raw = readFileSync(out);
    assert.equal(raw[0], 0x1f);
    assert.equal(manifest.sha256, createHash('sha256').update(raw).digest('hex'));
    const plain = join(dir, 'from-gz.sql');
    await writeFile(plain, gunzipSync(raw));
    const copy = await restoreInto(plain);
    assert.deepEqual(await snapshotDatabase(copy.sql), await snapshotDatabase(source.sql));
  });

  test('selection: --schema, --exclude-table and --exclude-table-data', async () => {
    const db = await createDatabase('export_sel');
    cleanup.push(db);
    psqlText(db.url, `
      CREATE SCHEMA keep; CREATE SCHEMA skip; CREATE SCHEMA auth;
      CREATE TABLE keep.a (id int primary key); INSERT INTO keep.a VALUES (1), (2);
      CREATE TABLE keep.nodata (id int); INSERT INTO keep.nodata VALUES (7);
      CREATE TABLE keep.gone (id int); CREATE TABLE skip.b (id int); CREATE TABLE auth.users (id int);`);
    const out = join(dir, 'sel.sql');
    const { manifest } = await exportDatabase({ sql: db.sql, sourceName: 'sel', out, excludeSchemas: ['skip'], excludeTables: ['keep.gone'], excludeTableData: ['keep.nodata'] });
    const names = manifest.tables.map((t) => `${t.schema}.${t.name}`).sort();
    // auth is an ordinary schema to a copy (as to pg_dump): in, unless left out
    assert.deepEqual(names, ['auth.users', 'keep.a']);
    const copy = await restoreInto(out);
    const snap = await snapshotDatabase(copy.sql);
    assert.deepEqual(Object.keys(snap.tables).sort(), ['auth.users', 'keep.a', 'keep.nodata']);
    assert.deepEqual(snap.tables['keep.nodata'], []);
    assert.deepEqual(snap.tables['keep.a'], ['(1)', '(2)']);

    const only = join(dir, 'only.sql');
    const r2 = await exportDatabase({ sql: db.sql, sourceName: 'sel', out: only, schemas: ['skip'] });
    assert.deepEqual(r2.manifest.tables.map((t) => `${t.schema}.${t.name}`), ['skip.b']);
  });

  test('abort: stops the export and leaves no file behind', async () => {
    const db = await createDatabase('export_abort');
    cleanup.push(db);
    await db.sql.unsafe(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 20) AS body FROM generate_series(1, 200000) g`);
    const out = join(dir, 'aborted.sql');
    const controller = new AbortController();
    const promise = exportDatabase({
      sql: db.sql, sourceName: 'abort', out, signal: controller.signal,
      onProgress: (p) => { if (p.table !== null) controller.abort(); },
    });
    await assert.rejects(promise, (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CANCELLED');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('aborted')), []);
    // the cancelled COPY left no session behind on the source
    const [{ n }] = await db.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${db.name} AND state <> 'idle' AND pid <> pg_backend_pid()`;
    assert.equal(n, 0);
  });

  test('abort while waiting for a table lock held elsewhere cancels the wait', async () => {
    const db = await createDatabase('export_lockwait');
    cleanup.push(db);
    await db.sql.unsafe('CREATE TABLE held (id int)');
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    const controller = new AbortController();
    try {
      await holder.begin(async (tx) => {
        await tx.unsafe('LOCK TABLE held IN ACCESS EXCLUSIVE MODE');
        const started = Date.now();
        const promise = exportDatabase({ sql: db.sql, sourceName: 'lockwait', out: join(dir, 'lockwait.sql'), signal: controller.signal, lockTimeoutMs: 120_000 });
        setTimeout(() => controller.abort(), 500);
        await assert.rejects(promise, (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CANCELLED');
        // far below the 120 s lock timeout: the LOCK itself was cancelled
        assert.ok(Date.now() - started < 60_000);
      });
    } finally {
      await holder.end();
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('lockwait')), []);
  });

  describe('bad input gets one clear line and no file', () => {
    async function expectFailure(url: string, out: string, code: string, pattern: RegExp): Promise<void> {
      const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
      try {
        await assert.rejects(exportDatabase({ sql, sourceName: 'bad', out }), (e: unknown) => {
          assert.ok(e instanceof DumpError, String(e));
          assert.equal(e.code, code);
          assert.match(e.message, pattern);
          assert.ok(!e.message.includes('\n'));
          assert.ok(!e.message.includes('s3cret'), 'no password in the message');
          return true;
        });
      } finally {
        await sql.end({ timeout: 1 });
      }
      assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
    }

    test('unreachable host', async () => {
      await expectFailure(`postgres://postgres:${FAKE_PASSWORD}@127.0.0.1:1/postgres`, join(dir, 'x1.sql'), 'DUMP_CONNECTION_FAILED', /cannot reach source "bad"/);
    });
    test('unknown role', async () => {
      await expectFailure(`postgres://no_such_role_mbsync:${FAKE_PASSWORD}@127.0.0.1:5432/postgres`, join(dir, 'x2.sql'), 'DUMP_AUTHENTICATION_FAILED', /authentication failed/);
    });
    test('unknown database', async () => {
      await expectFailure(databaseUrl('no_such_database_mbsync'), join(dir, 'x3.sql'), 'DUMP_DATABASE_NOT_FOUND', /does not exist/);
    });
    test('unwritable output path', async () => {
      await expectFailure(source.url, '/dev/null/out.sql', 'DUMP_OUTPUT_NOT_WRITABLE', /cannot write \/dev\/null\/out\.sql/);
    });
    test('a role that cannot bypass row-level security', async () => {
      const db = await createDatabase('export_rls');
      cleanup.push(db);
      const role = `mbsync_reader_${db.name.slice(-8)}`;
      await db.sql.unsafe(`CREATE ROLE ${role} LOGIN NOBYPASSRLS`);
      try {
        await db.sql.unsafe(`CREATE TABLE secrets (id int, owner text); ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
          CREATE POLICY mine ON secrets USING (owner = current_user); GRANT SELECT ON secrets TO ${role}; INSERT INTO secrets VALUES (1, 'x')`);
        const url = new URL(db.url);
        url.username = role;
        await expectFailure(url.toString(), join(dir, 'x4.sql'), 'DUMP_PERMISSION_DENIED', /row-level security|secrets/);
      } finally {
        await db.sql.unsafe(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
      }
    });
  });
});
