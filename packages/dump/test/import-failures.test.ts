import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { DumpError, importDump, withTargetSession, manifestPath, openDumpFile } from '@mbsync/dump';
import { ADMIN_URL, createDatabase, psqlText, type TestDatabase } from '@mbsync/testkit';
import { exportTo, importFile, stateOf, type DatabaseState } from './support/databases.js';

const importChild = new URL('./support/import-child.ts', import.meta.url).pathname;

/** A small seeded PRNG so "random" cut offsets are the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('a failed import leaves the target exactly as it was', () => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;
  let dump: string;
  let text: string;
  let before_: DatabaseState;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-fail-'));
    source = await createDatabase('fail_src');
    psqlText(source.url, `
      CREATE TABLE public.small (id int PRIMARY KEY, label text);
      INSERT INTO public.small SELECT g, 'label ' || g FROM generate_series(1, 100) g;
      CREATE TABLE public.big (id bigint PRIMARY KEY, n int NOT NULL, body text);
      INSERT INTO public.big SELECT g, g % 1000, repeat(md5(g::text), 2) FROM generate_series(1, 600000) g;
      CREATE INDEX big_n ON public.big (n);`);
    dump = join(dir, 'source.sql');
    await exportTo(source, dump);
    text = await readFile(dump, 'utf8');
    target = await createDatabase('fail_dst');
    // the target already holds data the failed imports must not disturb
    psqlText(target.url, `CREATE TABLE public.small (id int, label text); INSERT INTO public.small VALUES (1, 'target row');
      CREATE TABLE public.keep (x int); INSERT INTO public.keep VALUES (42); CREATE SEQUENCE public.s; SELECT setval('public.s', 77);`);
    before_ = await stateOf(target);
  });

  after(async () => {
    await source.drop();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function expectUnchanged(): Promise<void> {
    assert.deepEqual(await stateOf(target), before_);
  }

  /** Writes a variant of the dump; without a manifest unless asked, so the importer must find the damage itself. */
  async function variant(name: string, content: string | Buffer): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  test('a file cut at random offsets (mid COPY row, between statements, before the trailer) is refused', async () => {
    const copyStart = text.indexOf('COPY public.big');
    const dataStart = text.indexOf('\n', copyStart) + 1;
    const random = seeded(7);
    const cuts = [
      text.indexOf(';\n', 200) + 2, // between two pre-data statements
      dataStart + Math.floor(random() * 1_000_000) + 3, // inside a COPY row
      dataStart + Math.floor(random() * (text.length - dataStart - 2000)),
      text.lastIndexOf('\n-- multiboard-sync dump complete'), // everything but the trailer
      ...Array.from({ length: 3 }, () => Math.floor(random() * text.length)),
    ];
    for (const cut of cuts) {
      const file = await variant(`cut-${cut}.sql`, text.slice(0, cut));
      await assert.rejects(importFile(target, file, { schemas: ['public'] }), (e: unknown) => e instanceof DumpError, `cut at ${cut}`);
      await expectUnchanged();
    }
    // with its manifest, a cut file is refused before the target is touched at all
    const withManifest = join(dir, 'cut-with-manifest.sql');
    await writeFile(withManifest, text.slice(0, text.length - 100));
    await copyFile(manifestPath(dump), manifestPath(withManifest));
    await assert.rejects(importFile(target, withManifest), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CORRUPT' && /truncated/.test(e.message));
    await expectUnchanged();
  });

  test('a flipped byte is caught by the manifest sha256', async () => {
    const bytes = Buffer.from(text);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    const file = await variant('flipped.sql', bytes);
    await copyFile(manifestPath(dump), manifestPath(file));
    await assert.rejects(importFile(target, file), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CORRUPT' && /sha256/.test(e.message));
    await expectUnchanged();
  });

  test('rows loaded that differ from the manifest are caught before COMMIT', async () => {
    const file = await variant('miscounted.sql', text);
    const manifest = JSON.parse(await readFile(manifestPath(dump), 'utf8')) as { tables: { name: string; rows: number }[] };
    manifest.tables.find((t) => t.name === 'big')!.rows += 1;
    await writeFile(manifestPath(file), JSON.stringify(manifest));
    await assert.rejects(importFile(target, file), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_VERIFY_FAILED' && /public\.big: dump has 600001, loaded 600000/.test(e.message));
    await expectUnchanged();
  });

  test('a bad row in the middle of a large COPY fails with its file line and rolls back', async () => {
    const lines = text.split('\n');
    const copyLine = lines.findIndex((l) => l.startsWith('COPY public.big'));
    const badLine = copyLine + 300_000; // 0-based index of a data row half-way through the table
    lines[badLine] = lines[badLine]!.replace(/^(\d+)\t\d+\t/, '$1\tnot-a-number\t');
    const file = await variant('bad-row.sql', lines.join('\n'));
    await assert.rejects(importFile(target, file, { schemas: ['public'] }), (e: unknown) => {
      assert.ok(e instanceof DumpError);
      assert.equal(e.code, 'DUMP_IMPORT_FAILED');
      assert.match(e.message, new RegExp(`bad-row\\.sql:${badLine + 1}: invalid input syntax for type integer`));
      assert.match(e.message, /COPY public\.big/);
      return true;
    });
    await expectUnchanged();
  });

  test('a statement error in post-data fails with its line and rolls back the data already loaded', async () => {
    const marker = '\n-- multiboard-sync dump complete';
    const at = text.lastIndexOf(marker);
    const bad = 'ALTER TABLE public.big ADD CONSTRAINT no_such CHECK (no_such_column > 0);\n';
    const file = await variant('post-data-error.sql', text.slice(0, at) + '\n' + bad + text.slice(at));
    const line = text.slice(0, at).split('\n').length + 1;
    await assert.rejects(importFile(target, file, { schemas: ['public'] }), (e: unknown) =>
      e instanceof DumpError && e.code === 'DUMP_IMPORT_FAILED' && e.message.includes(`post-data-error.sql:${line}: column "no_such_column" does not exist`));
    await expectUnchanged();
  });

  test('the connection killed mid-import (pg_terminate_backend)', async () => {
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    let killed = false;
    try {
      await assert.rejects(
        importFile(target, dump, {
          onProgress: (p) => {
            if (killed || p.table !== 'public.big') return;
            killed = true;
            // the importing session is the one inside a transaction
            admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${target.name} AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`.execute();
          },
        }),
        (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CONNECTION_FAILED',
      );
    } finally {
      await admin.end();
    }
    assert.ok(killed);
    await expectUnchanged();
  });

  test('the import process killed with SIGKILL mid-COPY', async () => {
    const childProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', importChild, target.url, dump], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => childProcess.on('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? -9 : _code)));
    for await (const line of createInterface({ input: childProcess.stdout! })) {
      const p = JSON.parse(line) as { table?: string; done?: boolean };
      assert.ok(!p.done, 'the import finished before it could be killed');
      if (p.table === 'public.big') {
        childProcess.kill('SIGKILL');
        break;
      }
    }
    assert.equal(await exited, -9);
    // the server rolls back once it notices the client is gone
    for (let i = 0; i < 100; i++) {
      const [{ n }] = await target.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${target.name} AND application_name = 'mbsync-import-child'`;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await expectUnchanged();
  });

  test('cancel while the import waits for a lock held on the target: stops at once, nothing changed', async () => {
    const holder = postgres(target.url, { max: 1, onnotice: () => {} });
    const controller = new AbortController();
    try {
      await holder.begin(async (tx) => {
        await tx.unsafe('LOCK TABLE public.keep IN ACCESS EXCLUSIVE MODE');
        const started = Date.now();
        const importing = importFile(target, dump, { signal: controller.signal });
        setTimeout(() => controller.abort(), 500);
        await assert.rejects(importing, (e: unknown) => e instanceof DumpError && e.code === 'DUMP_CANCELLED');
        assert.ok(Date.now() - started < 30_000, 'the lock wait itself was cancelled');
      });
    } finally {
      await holder.end();
    }
    await expectUnchanged();
  });

  test('one writer per target: a second import fails clearly, or waits its turn, never interleaves', async () => {
    const second = await createDatabase('fail_lock_src');
    try {
      psqlText(second.url, 'CREATE TABLE public.small (id int PRIMARY KEY, label text); INSERT INTO public.small VALUES (1, $$second$$);');
      const secondDump = join(dir, 'second.sql');
      await exportTo(second, secondDump);
      let started!: () => void;
      const firstRunning = new Promise<void>((r) => (started = r));
      const first = importFile(target, dump, { onProgress: (p) => p.table === 'public.big' && started() });
      await firstRunning;
      await assert.rejects(importFile(target, secondDump), (e: unknown) => e instanceof DumpError && e.code === 'DUMP_TARGET_BUSY' && /another import/.test(e.message));
      // The waiting import gets the lock only after the first COMMITs: proved by what the database shows it
      // at that moment (the first import's table, fully loaded; before that commit it does not exist).
      let seenByWaiter = -1;
      // a runner's way: its own transaction, the lock, a look at the target, then the import through that session
      const waiterSql = postgres(target.url, { max: 1, onnotice: () => {} });
      const waiting = withTargetSession(waiterSql, { targetName: 'test-target', lockWaitMs: 60_000 }, async (session) => {
        const [row] = await session.tx<[{ n: number }]>`SELECT count(*)::int AS n FROM public.big`;
        seenByWaiter = row.n;
        return await importDump({ sql: waiterSql, session, targetName: 'test-target', source: await openDumpFile(secondDump) });
      }).finally(() => waiterSql.end({ timeout: 1 }));
      await Promise.all([first, waiting]);
      assert.equal(seenByWaiter, 600_000);
      const after = await stateOf(target);
      assert.deepEqual(after.data.tables['public.small'], ['(1,second)']);
    } finally {
      await second.drop();
    }
  });
});
