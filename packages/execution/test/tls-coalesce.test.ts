import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect, createServer } from 'node:tls';
import { createTestCertificates } from '@mbsync/testkit';
import { coalesceReads } from '../src/tls-socket.js';

/** A TLS server (certificate from a test CA) that writes `payload` to each connection and ends it. */
async function tlsSender(payload: Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'mbsync-tls-coalesce-'));
  const certs = await createTestCertificates(dir, ['localhost']);
  const server = createServer({ cert: await readFile(certs.serverCertFile), key: await readFile(certs.serverKeyFile) }, (socket) => socket.end(payload));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Connects as the socket factory does: a TCP socket first, TLS over it. */
async function tlsClient(port: number) {
  const raw = netConnect(port, '127.0.0.1');
  await once(raw, 'connect');
  const socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
  coalesceReads(socket);
  return socket;
}

test('coalesced TLS reads: every byte in order, in chunks larger than a TLS record, nothing while paused', async () => {
  const payload = randomBytes(24 << 20);
  const server = await tlsSender(payload);
  try {
    const socket = await tlsClient(server.port);
    const hash = createHash('sha256');
    const sizes: number[] = [];
    let receivedWhilePaused = 0;
    let paused = false;
    let pauses = 0;
    socket.on('data', (chunk: Buffer) => {
      if (paused) receivedWhilePaused += chunk.length;
      hash.update(chunk);
      sizes.push(chunk.length);
      // backpressure as postgres.js applies it, several times over the transfer
      if (sizes.length % 5 === 3) {
        socket.pause();
        paused = true;
        pauses++;
        setTimeout(() => {
          paused = false;
          socket.resume();
        }, 50);
      }
    });
    await once(socket, 'end');
    assert.equal(sizes.reduce((a, b) => a + b, 0), payload.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.ok(Math.max(...sizes) > 16 * 1024, `largest chunk ${Math.max(...sizes)} bytes: not more than one TLS record`);
    assert.ok(sizes.length < payload.length / (16 * 1024), `${sizes.length} chunks for ${payload.length} bytes`);
    assert.ok(pauses >= 2, `paused ${pauses} times`);
    assert.equal(receivedWhilePaused, 0, 'nothing is emitted while paused');
    socket.destroy();
  } finally {
    await server.close();
  }
});

test('coalesced TLS reads: a small reply arrives whole and the end follows it', async () => {
  const server = await tlsSender(Buffer.from('hello'));
  try {
    const socket = await tlsClient(server.port);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    socket.destroy();
  } finally {
    await server.close();
  }
});
