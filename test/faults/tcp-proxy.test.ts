// The fault proxy itself, against an echo server: every fault does what the fault suite relies on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

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

  async function proxy(): Promise<TcpProxy> {
    const p = await startTcpProxy({ host: '127.0.0.1', port });
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
});
