// postgres.js hazards the fault suite found or relies on, each fixed in patches/postgres@3.4.9.patch (described for
// upstream in docs/driver-patch.md). The COPY hazards (porsager/postgres #1016 paused socket, #1173 rejected COPY FROM
// STDIN, large rows) are covered by packages/dump/test/driver-patches.test.ts; here: the write-after-close crash
// (porsager/postgres#1208), a COPY TO stream its consumer destroys, the socket's read buffers left untouched, and the
// start-up check that the patch is applied. Each test fails (or hits its hang guard) without its hunk of the patch.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { assertDriverPatched, DRIVER_PATCH_LEVEL, DumpError } from '@mbsync/dump';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { startTcpProxy, upstreamOf, type TcpProxy } from './support/tcp-proxy.js';

/** Rejects instead of hanging, so a regression fails the test rather than stalling the suite (not a timing assertion). */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (driver hang)`)), ms);
    }),
  ]);
}

/** ~24 MB of COPY text, far more than the socket and the stream buffer: the server is still sending when we stop. */
const BIG_COPY = `COPY (SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 200000) g) TO STDOUT`;

let db: TestDatabase;
let proxy: TcpProxy;
before(async () => {
  db = await createDatabase('faults_driver');
  proxy = await startTcpProxy(upstreamOf(db.url));
});
after(async () => {
  await proxy?.close();
  await db?.drop();
});

test('a transaction whose connection is closed (FIN) mid-statement rejects with CONNECTION_CLOSED; its ROLLBACK does not crash the process (postgres.js#1208)', async () => {
  // unpatched, begin() writes ROLLBACK on the closed connection from a setImmediate: an uncaught TypeError
  // ("Cannot read properties of null (reading 'write')") that node:test reports as a failure of this test
  const sql = postgres(proxy.url(db.url), { max: 1, onnotice: () => {}, prepare: false });
  try {
    const failed = sql.begin(async (tx) => {
      await tx`SELECT 1`;
      setTimeout(() => proxy.apply({ kind: 'cut' }), 200);
      await tx`SELECT pg_sleep(2)`;
    });
    await assert.rejects(failed, (e: { code?: string }) => e.code === 'CONNECTION_CLOSED');
    // the late ROLLBACK write would fire here
    await new Promise((r) => setTimeout(r, 300));
    // and the pool is usable again (a new connection)
    const [row] = await sql<[{ ok: number }]>`SELECT 1 AS ok`;
    assert.equal(row.ok, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('a COPY TO STDOUT stream its consumer destroys mid-copy leaves the connection usable: the rest is read and dropped', async () => {
  // unpatched: the destroyed stream stays the connection's COPY stream, so the next query is refused with
  // COPY_IN_PROGRESS (and the paused socket is never resumed); the transaction could not even roll back
  const sql = postgres(db.url, { max: 1, onnotice: () => {}, prepare: false });
  try {
    const result = await within(60_000, 'query after a destroyed COPY stream', sql.begin(async (tx) => {
      const stream = (await tx.unsafe(BIG_COPY).readable()) as Readable;
      let first = 0;
      // leaving a for-await loop early destroys the stream: the consumer gave up on the COPY
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        first = chunk.length;
        break;
      }
      assert.ok(stream.destroyed);
      assert.ok(first > 0);
      const [row] = await tx<[{ n: number }]>`SELECT count(*)::int AS n FROM generate_series(1, 3)`;
      return row.n;
    }));
    assert.equal(result, 3);
    // the same connection serves the pool afterwards, outside any transaction
    const [again] = await within(30_000, 'next query on the pool', sql<[{ ok: number }]>`SELECT 1 AS ok`);
    assert.equal(again.ok, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('a COPY TO STDOUT stream destroyed with an error mid-copy: the transaction rolls back on the same connection', async () => {
  const sql = postgres(db.url, { max: 1, onnotice: () => {}, prepare: false });
  try {
    await sql`CREATE TABLE IF NOT EXISTS hazard_marks (id int)`;
    const failed = within(60_000, 'rollback after a destroyed COPY stream', sql.begin(async (tx) => {
      await tx`INSERT INTO hazard_marks VALUES (1)`;
      const stream = (await tx.unsafe(BIG_COPY).readable()) as Readable;
      stream.on('error', () => {});
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.destroy(new Error('the consumer failed'));
      throw new Error('the consumer failed');
    }));
    await assert.rejects(failed, /the consumer failed/);
    const [row] = await within(30_000, 'query after the rollback', sql<[{ n: number }]>`SELECT count(*)::int AS n FROM hazard_marks`);
    assert.equal(row.n, 0, 'the insert was rolled back');
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('the driver never writes into the buffers its socket hands out (COPY rows are gathered into a buffer of its own)', async () => {
  // unpatched, consecutive CopyData rows were compacted in place, over the message headers of the very buffer the
  // socket emitted: every other 'data' listener (a byte tap, a proxy, a custom socket that keeps its reads) saw
  // its bytes change under it. Here a tap keeps each chunk and a copy taken before the driver saw it.
  const seen: { chunk: Buffer; copy: Buffer }[] = [];
  const url = new URL(db.url);
  const socket = (): Socket => {
    const s = connect(Number(url.port || 5432), url.hostname);
    s.on('data', (chunk: Buffer) => seen.push({ chunk, copy: Buffer.from(chunk) }));
    return s;
  };
  const sql = postgres(db.url, { max: 1, onnotice: () => {}, prepare: false, ...({ socket } as object) });
  try {
    let bytes = 0;
    let lines = 0;
    await within(60_000, 'COPY through a tapped socket', sql.begin(async (tx) => {
      const stream = (await tx.unsafe(BIG_COPY).readable()) as Readable;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      }
    }));
    assert.equal(lines, 200000);
    assert.ok(bytes > 20_000_000);
    const changed = seen.filter((s) => !s.chunk.equals(s.copy)).length;
    assert.equal(changed, 0, `${changed} of ${seen.length} socket reads were written into by the driver`);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('start-up check: the patched driver passes; a driver without the patch is refused with a clear error', () => {
  assert.equal((postgres as unknown as { mbsyncPatch?: unknown }).mbsyncPatch, DRIVER_PATCH_LEVEL);
  assert.doesNotThrow(() => assertDriverPatched());
  const unpatched = Object.assign(() => {}, { PostgresError: Error });
  assert.throws(() => assertDriverPatched(unpatched), (e: unknown) => {
    assert.ok(e instanceof DumpError);
    assert.equal(e.code, 'DUMP_DRIVER_UNPATCHED');
    assert.match(e.message, /postgres\.js 3\.4\.9 is not patched.*patches\/postgres@3\.4\.9\.patch.*pnpm install/);
    return true;
  });
  const older = Object.assign(() => {}, { mbsyncPatch: DRIVER_PATCH_LEVEL - 1 });
  assert.throws(() => assertDriverPatched(older), /patch level 5, this build needs 6/);
});
