import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { largeReadSocket } from '../src/database.js';

/** A server that writes `payload` to each connection and ends it. */
async function sender(payload: Buffer) {
  const server = createServer((socket: Socket) => socket.end(payload));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('large-read socket: its chunks are the reader\'s own (ownedReads): writing into one changes no other, nor what comes after', async () => {
  const payload = randomBytes(16 << 20);
  const server = await sender(payload);
  try {
    const socket = largeReadSocket();
    assert.equal((socket as Socket & { ownedReads?: unknown }).ownedReads, true);
    const chunks: [Buffer, Buffer][] = [];
    socket.on('data', (chunk: Buffer) => chunks.push([chunk, Buffer.from(chunk)]));
    socket.connect(server.port, '127.0.0.1');
    await once(socket, 'end');
    assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
    assert.ok(Buffer.concat(chunks.map(([, copy]) => copy)).equals(payload));
    // what postgres.js (patch level 6) may do to a read: move the rows together in it. No chunk was written over by a
    // later read, and none shares memory with one before it
    for (const [i, [chunk, copy]] of chunks.entries()) {
      assert.ok(chunk.equals(copy), `chunk ${i} changed after it was handed on`);
      chunk.fill(0);
    }
    socket.destroy();
  } finally {
    await server.close();
  }
});

test('large-read socket: every byte arrives in order, in reads larger than node\'s 64 KiB, and pause() stops the reads', async () => {
  const payload = randomBytes(24 << 20);
  const server = await sender(payload);
  try {
    const socket = largeReadSocket();
    const hash = createHash('sha256');
    const sizes: number[] = [];
    let pausedFor = 0;
    let receivedWhilePaused = 0;
    let paused = false;
    socket.on('data', (chunk: Buffer) => {
      if (paused) receivedWhilePaused += chunk.length;
      hash.update(chunk);
      sizes.push(chunk.length);
      // backpressure as postgres.js applies it: pause, resume later
      if (sizes.length === 3) {
        socket.pause();
        paused = true;
        setTimeout(() => {
          pausedFor = 200;
          paused = false;
          socket.resume();
        }, 200);
      }
    });
    socket.connect(server.port, '127.0.0.1');
    await once(socket, 'end');
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.equal(total, payload.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.ok(Math.max(...sizes) > 64 * 1024, `largest read ${Math.max(...sizes)} bytes`);
    assert.equal(pausedFor, 200);
    assert.equal(receivedWhilePaused, 0, 'nothing is emitted while paused');
    socket.destroy();
  } finally {
    await server.close();
  }
});

test('large-read socket: a small read is copied out, so a chunk never pins the 1 MiB read buffer', async () => {
  const server = await sender(Buffer.from('hello'));
  try {
    const socket = largeReadSocket();
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.connect(server.port, '127.0.0.1');
    await once(socket, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    for (const c of chunks) assert.ok(c.buffer.byteLength < 1 << 19, `chunk of ${c.length} bytes holds a ${c.buffer.byteLength}-byte buffer`);
    socket.destroy();
  } finally {
    await server.close();
  }
});
