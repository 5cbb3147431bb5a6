// A TCP proxy for fault injection: the service connects to it instead of PostgreSQL / Redis / Typesense, and the
// test decides, at any moment or once N bytes have passed, what happens to the bytes: forwarded, throttled,
// black-holed (the sockets stay open, nothing more is forwarded, as on a dead network path), cut (both sockets
// closed) or reset (RST on both sides).
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** `up`: client → upstream (queries, COPY FROM data); `down`: upstream → client (results, COPY TO data). */
export type Direction = 'up' | 'down';

export type FaultAction =
  | { kind: 'pass' }
  /** nothing further is read or forwarded (the senders block once TCP windows fill); sockets stay open, FIN/RST are not passed on */
  | { kind: 'blackhole' }
  /** at most `bytesPerSecond` forwarded, with backpressure on the sending side */
  | { kind: 'throttle'; bytesPerSecond: number }
  /** both sockets of the connection closed (FIN) */
  | { kind: 'cut' }
  /** both sockets of the connection reset (RST) */
  | { kind: 'reset' };

/**
 * Which connections an action applies to: `all` (open ones and every later one), `existing` (those open now;
 * new connections pass, as when one NAT entry dies), `connection` (only the one that crossed a byte threshold).
 */
export type FaultScope = 'all' | 'existing' | 'connection';

export interface ApplyOptions {
  /** default both */
  direction?: Direction | 'both';
  /** default all */
  scope?: Exclude<FaultScope, 'connection'>;
}

export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's (postgres://, redis://, http://) */
  url(upstreamUrl: string): string;
  /** connections currently open (client side) */
  readonly openConnections: number;
  /** connections accepted so far */
  readonly acceptedConnections: number;
  /** bytes forwarded so far, per direction */
  readonly forwarded: Readonly<Record<Direction, number>>;
  /** applies an action now (cut/reset close the connections in scope at once) */
  apply(action: FaultAction, options?: ApplyOptions): void;
  /**
   * Applies `action` once `bytes` more bytes have been forwarded in `direction` (counted over all connections
   * from this call). The chunk that crosses the threshold is split: exactly `bytes` pass. Resolves when fired.
   */
  after(bytes: number, direction: Direction, action: FaultAction, scope?: FaultScope): Promise<void>;
  /** back to forwarding everything, on every connection (queued throttled bytes are flushed) */
  heal(): void;
  /** destroys every connection and stops listening */
  close(): Promise<void>;
}

interface Leg {
  direction: Direction;
  from: Socket;
  to: Socket;
  mode: FaultAction;
  queue: Buffer[];
  timer: NodeJS.Timeout | null;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  legs: Record<Direction, Leg>;
  closed: boolean;
}

interface Trigger {
  remaining: number;
  direction: Direction;
  action: FaultAction;
  scope: FaultScope;
  fired: () => void;
}

const PASS: FaultAction = { kind: 'pass' };

/** Starts a proxy on a free loopback port forwarding to `upstream`. */
export async function startTcpProxy(upstream: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const defaults: Record<Direction, FaultAction> = { up: PASS, down: PASS };
  const forwarded: Record<Direction, number> = { up: 0, down: 0 };
  let triggers: Trigger[] = [];
  let accepted = 0;

  function terminate(pair: Pair, how: 'cut' | 'reset'): void {
    if (pair.closed) return;
    pair.closed = true;
    for (const leg of Object.values(pair.legs)) stopTimer(leg);
    for (const socket of [pair.client, pair.upstream]) {
      if (how === 'reset' && !socket.destroyed && socket.readyState !== 'opening') socket.resetAndDestroy();
      else socket.destroy();
    }
    pairs.delete(pair);
  }

  function stopTimer(leg: Leg): void {
    if (leg.timer) clearTimeout(leg.timer);
    leg.timer = null;
  }

  function setMode(pair: Pair, direction: Direction, action: FaultAction): void {
    const leg = pair.legs[direction];
    leg.mode = action;
    stopTimer(leg);
    if (action.kind === 'blackhole') {
      // nothing is read any more: the sender's TCP window fills and it blocks, as on a dead path
      leg.queue = [];
      leg.from.pause();
    } else if (action.kind === 'pass') {
      const queued = leg.queue;
      leg.queue = [];
      for (const chunk of queued) write(pair, leg, chunk);
      leg.from.resume();
    } else if (action.kind === 'throttle') {
      drain(pair, leg);
    }
  }

  function act(pair: Pair, action: FaultAction, directions: Direction[]): void {
    if (action.kind === 'cut' || action.kind === 'reset') return terminate(pair, action.kind);
    for (const d of directions) setMode(pair, d, action);
  }

  function write(pair: Pair, leg: Leg, chunk: Buffer): void {
    if (pair.closed || chunk.length === 0) return;
    forwarded[leg.direction] += chunk.length;
    if (!leg.to.write(chunk)) {
      leg.from.pause();
      leg.to.once('drain', () => leg.mode.kind === 'pass' && !pair.closed && leg.from.resume());
    }
  }

  /** throttle: one slice every 50 ms */
  function drain(pair: Pair, leg: Leg): void {
    if (leg.timer || pair.closed || leg.mode.kind !== 'throttle') return;
    const slice = Math.max(1, Math.floor(leg.mode.bytesPerSecond / 20));
    leg.timer = setTimeout(() => {
      leg.timer = null;
      if (pair.closed || leg.mode.kind !== 'throttle') return;
      let budget = slice;
      while (budget > 0 && leg.queue.length > 0) {
        const head = leg.queue[0]!;
        const part = head.subarray(0, budget);
        if (part.length === head.length) leg.queue.shift();
        else leg.queue[0] = head.subarray(part.length);
        budget -= part.length;
        write(pair, leg, part);
      }
      if (leg.queue.length > 0) drain(pair, leg);
      if (queued(leg) <= 2 * slice) leg.from.resume();
    }, 50);
  }

  function queued(leg: Leg): number {
    return leg.queue.reduce((n, b) => n + b.length, 0);
  }

  /** Passes a chunk through the leg's mode, after the byte triggers had their say. */
  function onData(pair: Pair, leg: Leg, chunk: Buffer): void {
    if (pair.closed) return;
    let rest = chunk;
    while (rest.length > 0) {
      const trigger = triggers.find((t) => t.direction === leg.direction);
      if (!trigger || leg.mode.kind === 'blackhole' || rest.length < trigger.remaining) {
        if (trigger && leg.mode.kind !== 'blackhole') trigger.remaining -= rest.length;
        forward(pair, leg, rest);
        return;
      }
      forward(pair, leg, rest.subarray(0, trigger.remaining));
      rest = rest.subarray(trigger.remaining);
      triggers = triggers.filter((t) => t !== trigger);
      const directions: Direction[] = [leg.direction];
      if (trigger.action.kind !== 'throttle') directions.push(leg.direction === 'up' ? 'down' : 'up');
      if (trigger.scope === 'all') for (const d of directions) defaults[d] = trigger.action;
      const targets = trigger.scope === 'connection' ? [pair] : [...pairs];
      for (const p of targets) act(p, trigger.action, directions);
      trigger.fired();
      if (pair.closed) return;
    }
  }

  function forward(pair: Pair, leg: Leg, chunk: Buffer): void {
    if (chunk.length === 0) return;
    switch (leg.mode.kind) {
      case 'blackhole':
        return;
      case 'throttle':
        leg.queue.push(chunk);
        // backpressure once more than two slices wait
        if (queued(leg) > 2 * Math.max(1, Math.floor(leg.mode.bytesPerSecond / 20))) leg.from.pause();
        return drain(pair, leg);
      default:
        if (leg.queue.length > 0) leg.queue.push(chunk);
        else write(pair, leg, chunk);
    }
  }

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    accepted++;
    const upstreamSocket = new Socket();
    const legs = {
      up: { direction: 'up', from: client, to: upstreamSocket, mode: defaults.up, queue: [], timer: null },
      down: { direction: 'down', from: upstreamSocket, to: client, mode: defaults.down, queue: [], timer: null },
    } satisfies Record<Direction, Leg>;
    const pair: Pair = { client, upstream: upstreamSocket, legs, closed: false };
    pairs.add(pair);
    for (const leg of Object.values(legs)) {
      leg.from.on('data', (chunk: Buffer) => onData(pair, leg, chunk));
      // an end or error is passed on only while the leg forwards: a black hole swallows FIN and RST too
      leg.from.on('end', () => leg.mode.kind !== 'blackhole' && !pair.closed && leg.to.end());
      leg.from.on('error', () => {});
      leg.from.on('close', () => {
        if (leg.mode.kind !== 'blackhole') terminate(pair, 'cut');
      });
    }
    if (legs.down.mode.kind === 'blackhole') upstreamSocket.pause();
    upstreamSocket.connect(upstream.port, upstream.host, () => legs.up.mode.kind !== 'blackhole' && client.resume());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    url(upstreamUrl) {
      const url = new URL(upstreamUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    get openConnections() {
      return pairs.size;
    },
    get acceptedConnections() {
      return accepted;
    },
    forwarded,
    apply(action, options = {}) {
      const directions: Direction[] = options.direction === undefined || options.direction === 'both' ? ['up', 'down'] : [options.direction];
      if ((options.scope ?? 'all') === 'all' && action.kind !== 'cut' && action.kind !== 'reset') for (const d of directions) defaults[d] = action;
      for (const pair of [...pairs]) act(pair, action, directions);
    },
    after(bytes, direction, action, scope = 'connection') {
      return new Promise<void>((resolve) => {
        triggers.push({ remaining: Math.max(0, Math.floor(bytes)), direction, action, scope, fired: resolve });
      });
    },
    heal() {
      triggers = [];
      defaults.up = PASS;
      defaults.down = PASS;
      for (const pair of pairs) for (const d of ['up', 'down'] as const) setMode(pair, d, PASS);
    },
    async close() {
      triggers = [];
      for (const pair of [...pairs]) terminate(pair, 'cut');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Host and port of a postgres:// or redis:// URL, for {@link startTcpProxy}. */
export function upstreamOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const defaultPort = u.protocol.startsWith('redis') ? 6379 : u.protocol.startsWith('http') ? 80 : 5432;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
}
