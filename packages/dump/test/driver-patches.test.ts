// Regression tests for patches/postgres@3.4.9.patch. Each fails (or hangs into its timeout) on the
// unpatched driver: run them with the patch reverted to see it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { CopyFrames, pipeCopy } from '../src/parallel/copy-pipe.js';

/** Rejects instead of hanging, so a regression fails the suite rather than stalling it. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (driver hang)`)), ms);
    }),
  ]);
}

describe('postgres.js patches', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createDatabase('driver');
    await db.sql.unsafe(`CREATE TABLE wide AS SELECT g AS id, repeat('x', 2000) AS body FROM generate_series(1, 200) g;
      CREATE TABLE small (id int PRIMARY KEY, n int NOT NULL)`);
  });
  after(() => db.drop());

  test('the connection is not left paused after a COPY TO STDOUT that hit backpressure (postgres.js#1016)', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await within(20_000, 'COPY then next query', sql.begin(async (tx) => {
        const stream = (await tx.unsafe('COPY wide TO STDOUT').readable()) as Readable;
        // a slow consumer: the driver pauses its socket whenever the stream's buffer is full
        for await (const _chunk of stream) await sleep(1);
        const [row] = await tx.unsafe<[{ ok: number }]>('SELECT 1 AS ok');
        assert.equal(row.ok, 1);
      }));
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test('a COPY FROM STDIN the server rejects after the stream ended fails the stream and frees the connection (postgres.js#1173)', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await within(20_000, 'rejected COPY FROM STDIN', sql.begin(async (tx) => {
        await tx.unsafe('SAVEPOINT before_copy');
        const writable = (await tx.unsafe('COPY small (id, n) FROM STDIN').writable()) as Writable;
        writable.on('error', () => {});
        writable.write('1\t1\n2\tnot-a-number\n');
        writable.end();
        await assert.rejects(finished(writable), /invalid input syntax for type integer/);
        await tx.unsafe('ROLLBACK TO SAVEPOINT before_copy');
        const [row] = await tx.unsafe<[{ n: number }]>('SELECT count(*)::int AS n FROM small');
        assert.equal(row.n, 0);
      }));
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test('a large COPY row reaches the stream in pieces as it arrives, not buffered whole', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`CREATE TABLE big_row AS SELECT string_agg(md5(g::text), '') AS body FROM generate_series(1, ${(20 * 1024 * 1024) / 32}) g`);
      const sizes: number[] = [];
      await within(60_000, 'large row COPY', sql.begin(async (tx) => {
        const stream = (await tx.unsafe('COPY big_row TO STDOUT').readable()) as Readable;
        for await (const chunk of stream as AsyncIterable<Buffer>) sizes.push(chunk.length);
      }));
      const total = sizes.reduce((a, b) => a + b, 0);
      assert.equal(total, 20 * 1024 * 1024 + 1);
      assert.ok(sizes.length > 10, `one 20 MiB row came as ${sizes.length} chunk(s)`);
      assert.ok(Math.max(...sizes) < 4 * 1024 * 1024, `largest piece ${Math.max(...sizes)} bytes`);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
  /**
   * A socket that hands postgres.js its reads (up to 512 KiB) cut at random places (messages and their headers split
   * anywhere), each a buffer of its own, and says whether they are the driver's to write into (`ownedReads`,
   * as largeReadSocket's are). `pieces` keeps every chunk with a copy of what it held when it was handed on.
   */
  function cutReadSocket(owned: boolean, pieces: [Buffer, Buffer][]): Socket {
    const { hostname, port } = new URL(db.url);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const socket: Socket = new Socket({
      onread: {
        buffer: () => Buffer.allocUnsafe(1 << 19),
        callback: (bytes: number, read: Uint8Array) => {
          // one read in two, or in three with a piece of a few bytes (a message's header cut), at random places
          const cuts = [0, next() % bytes, next() % 3 === 0 ? next() % bytes : 0, bytes].sort((a, b) => a - b);
          for (let i = 1; i < cuts.length; i++) {
            if (cuts[i] === cuts[i - 1]) continue;
            const piece = Buffer.from(read.subarray(cuts[i - 1], cuts[i]));
            pieces.push([piece, Buffer.from(piece)]);
            socket.emit('data', piece);
          }
          // reads of a few hundred kB, as a busy process gets them: the server's bytes gather while it waits
          if (!socket.isPaused()) {
            socket.pause();
            setTimeout(() => socket.resume(), 3);
          }
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    socket.connect(Number(port), hostname);
    return Object.assign(socket, { ownedReads: owned });
  }

  // level 6: when the socket's reads are the driver's own, the rows are taken out of their messages in place
  for (const owned of [false, true]) {
    test(`COPY TO of rows of every length (${owned ? 'owned reads: rows moved in place' : 'shared reads: never written into'}): byte for byte the server's text`, async () => {
      const pieces: [Buffer, Buffer][] = [];
      const sql = postgres(db.url, { max: 1, onnotice: () => {}, ...({ socket: () => cutReadSocket(owned, pieces) } as object) });
      try {
        // the first half under 300 bytes (batches of short rows), then up to 3000 in a pseudo-random order, so batches
        // take both ways and split anywhere
        await sql.unsafe(`CREATE TABLE IF NOT EXISTS mixed AS SELECT g AS id, repeat(chr(97 + g % 26), (g * 7919) % CASE WHEN g <= 10000 THEN 300 ELSE 3001 END) AS body
          FROM generate_series(1, 20000) g`);
        const received: Buffer[] = [];
        await within(60_000, 'mixed COPY', sql.begin(async (tx) => {
          const stream = (await tx.unsafe('COPY (SELECT id, body FROM mixed ORDER BY id) TO STDOUT').readable()) as Readable;
          for await (const chunk of stream as AsyncIterable<Buffer>) received.push(Buffer.from(chunk));
        }));
        const [expected] = await sql<[{ text: string }]>`SELECT string_agg(id || E'\t' || body || E'\n', '' ORDER BY id) AS text FROM mixed`;
        const got = Buffer.concat(received);
        assert.equal(got.length, Buffer.byteLength(expected.text));
        assert.ok(got.equals(Buffer.from(expected.text)), 'the COPY bytes differ from the rows');
        const written = pieces.filter(([piece, before]) => !piece.equals(before)).length;
        if (owned) assert.ok(written > 10, `the driver wrote into ${written} of ${pieces.length} reads`);
        else assert.equal(written, 0, 'the driver wrote into reads that are not its own');
      } finally {
        await sql.end({ timeout: 1 });
      }
    });
  }

  // level 4: a framed COPY TO hands whole CopyData messages (views of the reads) to a framed COPY FROM as they are
  for (const format of ['text', 'binary'] as const) {
    test(`a framed COPY TO relayed into a framed COPY FROM (${format}): rows of every length and one of 3 MiB arrive as they were`, async () => {
      const src = postgres(db.url, { max: 1, onnotice: () => {} });
      const dst = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        await src.unsafe(`CREATE TABLE relay_${format} AS SELECT g AS id,
            CASE WHEN g = 7000 THEN repeat(md5(g::text), 3 * 32768) ELSE repeat(chr(97 + g % 26) || E'\\t\n', (g * 7919) % CASE WHEN g <= 6000 THEN 100 ELSE 1000 END) END AS body,
            CASE WHEN g % 5 = 0 THEN NULL ELSE g * 1.5 END AS n
          FROM generate_series(1, 12000) g;
          CREATE TABLE relay_${format}_copy (LIKE relay_${format})`);
        const chunks: number[] = [];
        const options = format === 'binary' ? ' WITH (FORMAT binary)' : '';
        const copied = await within(60_000, 'relay', src.begin((stx) => dst.begin((dtx) => pipeCopy(stx, `COPY relay_${format} TO STDOUT${options}`, dtx, `COPY relay_${format}_copy FROM STDIN${options}`, {
          signal: new AbortController().signal, countLines: format === 'text', onBytes: (bytes) => chunks.push(bytes),
        }))));
        const [sums] = await src.unsafe<[{ a: string; b: string; n: number; size: string }]>(`SELECT
          (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM relay_${format} t) AS a,
          (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM relay_${format}_copy t) AS b,
          (SELECT count(*)::int FROM relay_${format}_copy) AS n,
          (SELECT sum(octet_length(body))::text FROM relay_${format}) AS size`);
        assert.equal(sums.n, 12000);
        assert.equal(sums.b, sums.a, 'the copy differs from the source');
        // text: one message per row; binary: rows are counted by the server instead
        assert.equal(copied.rows, format === 'text' ? 12000 : 0);
        assert.ok(copied.bytes > Number(sums.size), `payload bytes ${copied.bytes} under the bodies' ${sums.size}`);
        assert.equal(chunks.reduce((a, b) => a + b, 0), copied.bytes);
        assert.ok(chunks.length > 2, `${chunks.length} chunk(s)`);
      } finally {
        await Promise.all([src.end({ timeout: 1 }), dst.end({ timeout: 1 })]);
      }
    });
  }

  // level 5: a framed COPY FROM that stops inside a long message (relayed in pieces) completes it before its CopyFail;
  // the server reads whole messages, and took the CopyFail and the next queries for the rest of it: both hung
  for (const stop of ['the target refuses a row', 'the relay is cancelled'] as const) {
    test(`a framed relay stopped while a 3 MiB row is in flight (${stop}) fails at once; both connections answer after`, async () => {
      const src = postgres(db.url, { max: 1, onnotice: () => {} });
      const dst = postgres(db.url, { max: 1, onnotice: () => {} });
      const name = stop === 'the relay is cancelled' ? 'inflight_cancel' : 'inflight_refused';
      try {
        await src.unsafe(`CREATE TABLE ${name} AS SELECT g AS id, CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 3 * 32768) ELSE 'y' END AS body
            FROM generate_series(1, 400) g;
          CREATE TABLE ${name}_copy (id int CHECK (id < ${stop === 'the relay is cancelled' ? 1000 : 120}), body text)`);
        const controller = new AbortController();
        let payload = 0;
        const copied = src.begin((stx) => dst.begin((dtx) => pipeCopy(stx, `COPY ${name} TO STDOUT`, dtx, `COPY ${name}_copy FROM STDIN`, {
          signal: controller.signal,
          onBytes: (bytes) => {
            payload += bytes;
            // inside the fourth long row (rows 50, 100, 150, 200 are 3 MiB each)
            if (stop === 'the relay is cancelled' && payload > 3.5 * 3 * 1024 * 1024) controller.abort();
          },
        })));
        await assert.rejects(within(20_000, 'the stopped relay', copied),
          stop === 'the relay is cancelled' ? /cancelled/ : /violates check constraint/);
        assert.ok(payload > 3 * 1024 * 1024, `stopped after ${payload} bytes: before any long row`);
        assert.deepEqual([...await within(5_000, 'the target after the relay', dst`SELECT count(*)::int AS n FROM ${dst(name + '_copy')}`)], [{ n: 0 }]);
        assert.deepEqual([...await within(5_000, 'the source after the relay', src`SELECT count(*)::int AS n FROM ${src(name)}`)], [{ n: 400 }]);
      } finally {
        await Promise.all([src.end({ timeout: 1 }), dst.end({ timeout: 1 })]);
      }
    });
  }

  test('CopyFrames counts messages split across chunks and refuses bytes that are not CopyData', () => {
    const message = (payload: string) => {
      const body = Buffer.from(payload);
      const header = Buffer.alloc(5);
      header[0] = 0x64;
      header.writeUInt32BE(body.length + 4, 1);
      return Buffer.concat([header, body]);
    };
    const stream = Buffer.concat([message('a\n'), message('x'.repeat(1000) + '\n'), message('b\n')]);
    const frames = new CopyFrames();
    // whole messages, then the long one's header and a few bytes, its rest, and the last message
    frames.add(stream.subarray(0, 7));
    frames.add(stream.subarray(7, 20));
    frames.add(stream.subarray(20, 1013));
    frames.add(stream.subarray(1013));
    assert.equal(frames.messages, 3);
    assert.equal(frames.payload, 2 + 1001 + 2);
    // a CopyDone ('c') or anything else in the relayed bytes is refused before it is written
    assert.throws(() => new CopyFrames().add(Buffer.from([0x63, 0, 0, 0, 4])), /other than whole CopyData messages/);
    assert.throws(() => new CopyFrames().add(Buffer.from([0x64, 0, 0])), /other than whole CopyData messages/);
  });
});
