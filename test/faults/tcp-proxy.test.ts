// The fault proxy itself, against an echo server: every fault does what the fault suite relies on, and the link
// (delay, shared cap) does what the WAN bench relies on. Times are only asserted as lower bounds (a delay is at
// least what was set, a cap is never exceeded): load only makes things slower.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LINK_HELD_LIMIT_BYTES, startTcpProxy, type ProxyOptions, type TcpProxy } from './support/tcp-proxy.js';

interface Client {
  socket: Socket;
  received: () => number;
  closed: Promise<{ error: string | null }>;
}

async function connect(proxy: TcpProxy): Promise<Client> {
  const socket = new Socket();
  let bytes = 0;
  let error: string | null = null;
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<{ error: string | null }>((resolve) => socket.once('close', () => resolve({ error })));
  socket.connect(proxy.port, proxy.host);
  await once(socket, 'connect');
  return { socket, received: () => bytes, closed };
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tcp fault proxy', () => {
  let echo: Server;
  let upstreamSockets: Socket[] = [];
  let port: number;
  const proxies: TcpProxy[] = [];

  before(async () => {
    echo = createServer((s) => {
      upstreamSockets.push(s);
      s.on('error', () => {});
      s.pipe(s);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    port = (echo.address() as AddressInfo).port;
  });
  after(async () => {
    for (const p of proxies) await p.close();
    for (const s of upstreamSockets) s.destroy();
    echo.close();
  });

  async function proxy(options?: ProxyOptions): Promise<TcpProxy> {
    const p = await startTcpProxy({ host: '127.0.0.1', port }, options);
    proxies.push(p);
    upstreamSockets = [];
    return p;
  }

  test('forwards both ways and rewrites URLs to itself', async () => {
    const p = await proxy();
    const c = await connect(p);
    c.socket.write(Buffer.alloc(100_000, 1));
    await until(() => c.received() === 100_000);
    assert.equal(p.forwarded.up, 100_000);
    assert.equal(p.forwarded.down, 100_000);
    // a made-up password, built at run time
    const secret = ['x', 'y'].join('');
    assert.equal(p.url(`postgres://u:${secret}@db.example:5432/name?sslmode=disable`), `postgres://u:${secret}@127.0.0.1:${p.port}/name?sslmode=disable`);
    c.socket.destroy();
  });

  test('cut after N bytes: exactly N pass, then both sides are closed', async () => {
    const p = await proxy();
    const c = await connect(p);
    const fired = p.after(1000, 'down', { kind: 'cut' });
    c.socket.write(Buffer.alloc(5000, 2));
    await fired;
    const { error } = await c.closed;
    assert.equal(error, null, 'a cut is a FIN, not an error');
    assert.equal(c.received(), 1000);
    await until(() => upstreamSockets.every((s) => s.destroyed));
  });

  test('reset: the client gets ECONNRESET', async () => {
    const p = await proxy();
    const c = await connect(p);
    c.socket.write('hello');
    await until(() => c.received() === 5);
    p.apply({ kind: 'reset' });
    assert.equal((await c.closed).error, 'ECONNRESET');
  });

  test('black hole once N bytes passed: the sockets stay open, nothing more arrives, a close is not passed on; heal forwards again', async () => {
    const p = await proxy();
    const c = await connect(p);
    const fired = p.after(300, 'down', { kind: 'blackhole' }, 'existing');
    c.socket.write(Buffer.alloc(1000, 3));
    await fired;
    await sleep(200);
    assert.equal(c.received(), 300);
    assert.equal(c.socket.destroyed, false);
    assert.equal(p.openConnections, 1);
    // a new connection is not affected by an `existing` black hole
    const fresh = await connect(p);
    fresh.socket.write('abc');
    await until(() => fresh.received() === 3);
    fresh.socket.destroy();
    p.heal();
    c.socket.write('xyz');
    await until(() => c.received() === 303);
    // the upstream closing while black-holed is swallowed
    p.apply({ kind: 'blackhole' }, { scope: 'existing' });
    upstreamSockets[0]!.destroy();
    await sleep(200);
    assert.equal(c.socket.destroyed, false);
    c.socket.destroy();
  });

  test('throttle: bytes arrive at about the set rate, complete', async () => {
    const p = await proxy();
    p.apply({ kind: 'throttle', bytesPerSecond: 20_000 }, { direction: 'down' });
    const c = await connect(p);
    const started = Date.now();
    c.socket.write(Buffer.alloc(10_000, 4));
    await until(() => c.received() === 10_000, 5_000);
    const ms = Date.now() - started;
    assert.ok(ms >= 400 && ms < 2_000, `10 kB at 20 kB/s took ${ms} ms`);
    c.socket.destroy();
  });

  test('close() ends every connection, black-holed ones included', async () => {
    const p = await proxy();
    const c = await connect(p);
    p.apply({ kind: 'blackhole' });
    await p.close();
    await c.closed;
    assert.equal(p.openConnections, 0);
  });
  test('link delay: a round trip takes at least twice the one-way delay, and many chunks are in flight at once', async () => {
    const delayMs = 200;
    const p = await proxy({ link: { up: { delayMs }, down: { delayMs } } });
    const c = await connect(p);
    c.socket.setNoDelay(true);
    const messages = 10;
    const size = 100;
    const sentAt: number[] = [];
    const receivedAt: number[] = [];
    c.socket.on('data', () => {
      while (receivedAt.length < Math.floor(c.received() / size)) receivedAt.push(performance.now());
    });
    for (let i = 0; i < messages; i++) {
      sentAt.push(performance.now());
      c.socket.write(Buffer.alloc(size, i));
      await sleep(5);
    }
    await until(() => c.received() === messages * size, 10_000);
    for (let i = 0; i < messages; i++) {
      const rtt = receivedAt[i]! - sentAt[i]!;
      assert.ok(rtt >= 2 * delayMs, `message ${i}: round trip ${rtt.toFixed(1)} ms < ${2 * delayMs} ms`);
    }
    // a latency, not a stop-and-wait: every message was sent before the first answer came back
    assert.ok(sentAt[messages - 1]! < receivedAt[0]!, 'the messages were not in flight together');
    c.socket.destroy();
  });

  test('link cap: bytes per second stay under the cap, and its counters count what was delivered', async () => {
    const bitsPerSecond = 8_000_000;
    const p = await proxy({ link: { down: { bitsPerSecond } } });
    const c = await connect(p);
    const bytes = 1_500_000;
    const started = performance.now();
    c.socket.write(Buffer.alloc(bytes, 5));
    await until(() => c.received() === bytes, 20_000);
    const elapsed = (performance.now() - started) / 1000;
    assertUnderCap(bytes, elapsed, bitsPerSecond);
    assert.equal(p.forwarded.up, bytes);
    assert.equal(p.forwarded.down, bytes);
    assert.deepEqual(p.held, { up: 0, down: 0 });
    c.socket.destroy();
  });

  test('link cap is shared: two connections together stay under it, each getting a fair share', async () => {
    const bitsPerSecond = 8_000_000;
    const p = await proxy({ link: { down: { bitsPerSecond } } });
    const [a, b] = [await connect(p), await connect(p)] as const;
    const bytes = 1_000_000;
    const started = performance.now();
    let otherWhenFirstDone = -1;
    const done = (self: Client, other: Client) => until(() => self.received() === bytes, 20_000).then(() => {
      if (otherWhenFirstDone < 0) otherWhenFirstDone = other.received();
    });
    a.socket.write(Buffer.alloc(bytes, 6));
    b.socket.write(Buffer.alloc(bytes, 7));
    await Promise.all([done(a, b), done(b, a)]);
    const elapsed = (performance.now() - started) / 1000;
    assertUnderCap(2 * bytes, elapsed, bitsPerSecond);
    assert.ok(otherWhenFirstDone >= 0.75 * bytes, `one connection finished while the other had ${otherWhenFirstDone} of ${bytes} bytes`);
    a.socket.destroy();
    b.socket.destroy();
  });

  test('link delay + cap: byte order is kept over large transfers on several connections, both ways', async () => {
    const p = await proxy({ link: { up: { delayMs: 10, bitsPerSecond: 400_000_000 }, down: { delayMs: 10, bitsPerSecond: 400_000_000 } } });
    const payloads = [randomBytes(8 * 1024 * 1024), randomBytes(8 * 1024 * 1024)];
    const clients = await Promise.all(payloads.map(() => connect(p)));
    const hashes = clients.map((c) => {
      const hash = createHash('sha256');
      c.socket.on('data', (chunk: Buffer) => hash.update(chunk));
      return hash;
    });
    clients.forEach((c, i) => c.socket.write(payloads[i]!));
    await until(() => clients.every((c, i) => c.received() === payloads[i]!.length), 60_000);
    hashes.forEach((hash, i) => assert.equal(hash.digest('hex'), sha256(payloads[i]!), `connection ${i}: bytes differ`));
    const total = payloads.reduce((n, b) => n + b.length, 0);
    assert.deepEqual(p.forwarded, { up: total, down: total });
    for (const c of clients) c.socket.destroy();
  });

  test('link at 200 Mbit/s, 10 ms: a bulk transfer to a slow reader keeps the cap, the order and bounded memory', async () => {
    const payload = randomBytes(48 * 1024 * 1024);
    // a server that sends the payload as fast as its socket takes it, as PostgreSQL sends COPY data
    const source = createServer((s) => {
      s.on('error', () => {});
      s.end(payload);
    });
    source.listen(0, '127.0.0.1');
    await once(source, 'listening');
    const bitsPerSecond = 200_000_000;
    const p = await startTcpProxy({ host: '127.0.0.1', port: (source.address() as AddressInfo).port },
      { link: { up: { delayMs: 10, bitsPerSecond }, down: { delayMs: 10, bitsPerSecond } } });
    try {
      const started = performance.now();
      const c = await connect(p);
      const hash = createHash('sha256');
      c.socket.on('data', (chunk: Buffer) => hash.update(chunk));
      // the reader stalls for a while: the proxy must stop reading rather than buffer the payload
      c.socket.pause();
      await sleep(500);
      c.socket.resume();
      await c.closed;
      const elapsed = (performance.now() - started) / 1000;
      assert.equal(c.received(), payload.length);
      assert.equal(hash.digest('hex'), sha256(payload));
      assertUnderCap(payload.length, elapsed, bitsPerSecond);
      assert.ok(p.peakHeld.down <= LINK_HELD_LIMIT_BYTES, `the proxy held up to ${p.peakHeld.down} bytes (limit ${LINK_HELD_LIMIT_BYTES})`);
      assert.equal(p.forwarded.down, payload.length);
    } finally {
      await p.close();
      source.close();
    }
  });

  test('link counters: bytes on the wire are counted once delivered, not when read', async () => {
    const p = await proxy({ link: { up: { delayMs: 1_000 } } });
    const c = await connect(p);
    c.socket.write(Buffer.alloc(1000, 8));
    await until(() => p.held.up === 1000);
    assert.equal(p.forwarded.up, 0);
    await until(() => c.received() === 1000, 10_000);
    assert.deepEqual(p.forwarded, { up: 1000, down: 1000 });
    assert.deepEqual(p.held, { up: 0, down: 0 });
    assert.ok(p.peakHeld.up >= 1000);
    c.socket.destroy();
  });
});

/**
 * bytes / elapsed within the cap: 2 % for clock granularity, plus what a token bucket may send at once (its 10 ms
 * of credit and one 16 KiB piece) and one more piece per connection.
 */
function assertUnderCap(bytes: number, elapsedSeconds: number, bitsPerSecond: number): void {
  const bytesPerSecond = bitsPerSecond / 8;
  const allowed = bytesPerSecond * elapsedSeconds * 1.02 + bytesPerSecond * 0.01 + 64 * 1024;
  assert.ok(bytes <= allowed, `${bytes} bytes in ${elapsedSeconds.toFixed(3)} s: ${(bytes * 8 / elapsedSeconds / 1e6).toFixed(1)} Mbit/s over a ${bitsPerSecond / 1e6} Mbit/s cap`);
}

function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}
