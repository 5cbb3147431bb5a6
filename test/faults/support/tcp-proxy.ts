// A TCP proxy for fault injection: the service connects to it instead of PostgreSQL / Redis / Typesense, and the
// test decides, at any moment or once N bytes have passed, what happens to the bytes: forwarded, throttled,
// black-holed (the sockets stay open, nothing more is forwarded, as on a dead network path), cut (both sockets
// closed) or reset (RST on both sides).
//
// It can also stand for a network path (`link`): a one-way delay and a bandwidth cap per direction, the cap shared by
// every connection through the proxy as on one WAN link, so benches can run tools over "10 ms, 200 Mbit/s" on loopback.
// Faults act where bytes enter the link: bytes already on it are delivered, as a network that lost no packets.
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

/** One direction of the network path between client and upstream. */
export interface LinkShape {
  /** one-way delay: every byte is handed to the other side at least this long after it arrived; default 0 */
  delayMs?: number;
  /** capacity in bits per second, shared by every connection through the proxy; default unlimited */
  bitsPerSecond?: number;
}

export interface ProxyOptions {
  /** the path to emulate, per direction; default none (bytes are forwarded as they come) */
  link?: Partial<Record<Direction, LinkShape>>;
}

/**
 * Per connection and direction, bytes waiting for their turn on a capped link, at most: past it the sending socket is
 * no longer read (its TCP window closes), as a router queue that is full. 256 KiB is 10 ms at 200 Mbit/s.
 */
export const LINK_QUEUE_BYTES = 256 * 1024;
/**
 * Per connection and direction, bytes on the wire (sent, delay not yet over) plus bytes the receiving socket has not
 * taken yet, at most: a TCP window. It limits a connection to 4 MiB per delay (400 MB/s at 10 ms), far above the caps
 * benches use, and bounds memory when the receiver is slow.
 */
export const LINK_WINDOW_BYTES = 4 * 1024 * 1024;
/** What the proxy holds per connection and direction at most: queue + window + one socket read (64 KiB) */
export const LINK_HELD_LIMIT_BYTES = LINK_QUEUE_BYTES + LINK_WINDOW_BYTES + 64 * 1024;
/** The link serves the connections with waiting bytes in turn, this much each: fair by bytes, as fq on a router. */
const QUANTUM_BYTES = 16 * 1024;
/** Token bucket depth: an idle link, or a timer that fired late on a busy machine, gives at most this much credit. */
const BURST_MS = 10;

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
  /** bytes forwarded so far (handed to the receiving socket, after the link's delay), per direction */
  readonly forwarded: Readonly<Record<Direction, number>>;
  /** bytes read and not yet taken by the receiving socket (waiting for the link, on it, or in the socket's buffer) */
  readonly held: Readonly<Record<Direction, number>>;
  /** the most `held` has been, summed over connections: what the link costs in memory */
  readonly peakHeld: Readonly<Record<Direction, number>>;
  /**
   * the client's turns, summed over connections: how often it sent after the server had last sent (its first bytes
   * included). Through a link with delay, queries written together (pipelined) are one turn and each query that
   * waits for an answer before it is sent another: the round trips a client costs on a distant network.
   */
  readonly turns: number;
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
  /** throttled bytes not yet passed to the link */
  queue: Buffer[];
  timer: NodeJS.Timeout | null;
  /** bytes waiting for their turn on the link, in order */
  waiting: Buffer[];
  waitingBytes: number;
  /** bytes on the wire: sent by the link, handed to `to` at `at` (performance.now() ms), in order */
  wire: { at: number; chunk: Buffer }[];
  wireBytes: number;
  wireTimer: NodeJS.Timeout | null;
  /** `from` ended or closed while bytes were on the link: passed on once they are delivered, as a FIN would be */
  ending: 'end' | 'close' | null;
}

/** One direction of the shared path. */
interface Link {
  delayMs: number;
  /** Infinity when uncapped */
  bytesPerMs: number;
  /** connections with waiting bytes, served in turn */
  turns: { pair: Pair; leg: Leg }[];
  /** when the link has finished sending what it has sent so far (performance.now() ms) */
  busyUntil: number;
  timer: NodeJS.Timeout | null;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  legs: Record<Direction, Leg>;
  closed: boolean;
  /** the direction bytes were last read in (see TcpProxy.turns) */
  lastRead: Direction | null;
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
export async function startTcpProxy(upstream: { host: string; port: number }, options: ProxyOptions = {}): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const defaults: Record<Direction, FaultAction> = { up: PASS, down: PASS };
  const forwarded: Record<Direction, number> = { up: 0, down: 0 };
  const peakHeld: Record<Direction, number> = { up: 0, down: 0 };
  const links: Record<Direction, Link | null> = { up: makeLink(options.link?.up), down: makeLink(options.link?.down) };
  let triggers: Trigger[] = [];
  let accepted = 0;
  let turns = 0;

  function terminate(pair: Pair, how: 'cut' | 'reset'): void {
    if (pair.closed) return;
    pair.closed = true;
    for (const leg of Object.values(pair.legs)) {
      stopTimer(leg);
      if (leg.wireTimer) clearTimeout(leg.wireTimer);
      leg.wireTimer = null;
      leg.waiting = [];
      leg.wire = [];
      leg.waitingBytes = leg.wireBytes = 0;
      const link = links[leg.direction];
      if (link) link.turns = link.turns.filter((t) => t.pair !== pair);
    }
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
      updateReading(pair, leg);
      finishIfDelivered(pair, leg);
    } else if (action.kind === 'throttle') {
      drain(pair, leg);
    }
  }

  function act(pair: Pair, action: FaultAction, directions: Direction[]): void {
    if (action.kind === 'cut' || action.kind === 'reset') return terminate(pair, action.kind);
    for (const d of directions) setMode(pair, d, action);
  }

  /** Bytes past the fault modes: onto the link, or straight to the other side when there is none. */
  function write(pair: Pair, leg: Leg, chunk: Buffer): void {
    if (pair.closed || chunk.length === 0) return;
    const link = links[leg.direction];
    if (!link) return deliver(pair, leg, chunk);
    leg.waiting.push(chunk);
    leg.waitingBytes += chunk.length;
    if (leg.waitingBytes === chunk.length) link.turns.push({ pair, leg });
    notePeak(leg.direction);
    updateReading(pair, leg);
    pump(link);
  }

  function deliver(pair: Pair, leg: Leg, chunk: Buffer): void {
    forwarded[leg.direction] += chunk.length;
    // the receiver is slow: stop reading until its socket drains ('drain' → updateReading)
    if (!leg.to.write(chunk)) leg.from.pause();
    if (!links[leg.direction]) notePeak(leg.direction);
  }

  /**
   * Reads from the sending socket only while every stage after it has room: the fault mode, the link's queue and
   * window, the receiving socket. Pausing a socket closes its TCP window, so the sender blocks: memory stays bounded.
   */
  function updateReading(pair: Pair, leg: Leg): void {
    if (pair.closed) return;
    const mode = leg.mode;
    const room = mode.kind !== 'blackhole'
      && !(mode.kind === 'throttle' && queued(leg) > 2 * throttleSlice(mode))
      && !leg.to.writableNeedDrain
      && leg.waitingBytes < LINK_QUEUE_BYTES
      && leg.wireBytes + leg.to.writableLength < LINK_WINDOW_BYTES;
    if (room) leg.from.resume();
    else leg.from.pause();
  }

  /**
   * Sends waiting bytes while the link is free, a quantum per connection in turn. A piece of n bytes keeps the link
   * busy n / rate; it reaches the other side `delayMs` after it was sent, so many pieces are in flight at once.
   */
  function pump(link: Link): void {
    if (link.timer) return;
    const now = performance.now();
    link.busyUntil = Math.max(link.busyUntil, now - BURST_MS);
    while (link.turns.length > 0 && link.busyUntil <= now) {
      const { pair, leg } = link.turns.shift()!;
      const piece = take(leg, QUANTUM_BYTES);
      link.busyUntil += piece.length / link.bytesPerMs;
      // never earlier than delayMs after now: credit from the bucket shortens the queueing, not the delay
      leg.wire.push({ at: Math.max(link.busyUntil, now) + link.delayMs, chunk: piece });
      leg.wireBytes += piece.length;
      if (leg.waitingBytes > 0) link.turns.push({ pair, leg });
      scheduleDelivery(pair, leg);
      updateReading(pair, leg);
    }
    if (link.turns.length > 0) {
      link.timer = setTimeout(() => {
        link.timer = null;
        pump(link);
      }, Math.max(1, Math.ceil(link.busyUntil - now)));
    }
  }

  /** Up to `max` bytes from the head of the leg's waiting bytes (order kept). */
  function take(leg: Leg, max: number): Buffer {
    const head = leg.waiting[0]!;
    const piece = head.subarray(0, max);
    if (piece.length === head.length) leg.waiting.shift();
    else leg.waiting[0] = head.subarray(piece.length);
    leg.waitingBytes -= piece.length;
    return piece;
  }

  function scheduleDelivery(pair: Pair, leg: Leg): void {
    const head = leg.wire[0];
    if (leg.wireTimer || !head) return;
    leg.wireTimer = setTimeout(() => {
      leg.wireTimer = null;
      land(pair, leg);
    }, Math.max(0, Math.ceil(head.at - performance.now())));
  }

  /** Hands over the pieces whose delay is over; a timer that fired early (they can, by up to a ms) just waits again. */
  function land(pair: Pair, leg: Leg): void {
    const now = performance.now();
    while (!pair.closed && leg.wire.length > 0 && leg.wire[0]!.at <= now) {
      const { chunk } = leg.wire.shift()!;
      leg.wireBytes -= chunk.length;
      deliver(pair, leg, chunk);
    }
    scheduleDelivery(pair, leg);
    updateReading(pair, leg);
    finishIfDelivered(pair, leg);
  }

  function heldBy(leg: Leg): number {
    return leg.waitingBytes + leg.wireBytes + leg.to.writableLength;
  }

  function held(direction: Direction): number {
    let sum = 0;
    for (const pair of pairs) sum += heldBy(pair.legs[direction]);
    return sum;
  }

  function notePeak(direction: Direction): void {
    peakHeld[direction] = Math.max(peakHeld[direction], held(direction));
  }

  /** An end or close of the sender, deferred while its bytes were on the link, is passed on once they are delivered. */
  function finishIfDelivered(pair: Pair, leg: Leg): void {
    if (pair.closed || !leg.ending || leg.waitingBytes > 0 || leg.wireBytes > 0 || leg.queue.length > 0) return;
    if (leg.ending === 'close') terminate(pair, 'cut');
    else leg.to.end();
  }

  /** throttle: one slice every 50 ms */
  function drain(pair: Pair, leg: Leg): void {
    if (leg.timer || pair.closed || leg.mode.kind !== 'throttle') return;
    const slice = throttleSlice(leg.mode);
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
      updateReading(pair, leg);
      finishIfDelivered(pair, leg);
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
        if (queued(leg) > 2 * throttleSlice(leg.mode)) leg.from.pause();
        return drain(pair, leg);
      default:
        if (leg.queue.length > 0) leg.queue.push(chunk);
        else write(pair, leg, chunk);
    }
  }

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    accepted++;
    const upstreamSocket = new Socket();
    const makeLeg = (direction: Direction, from: Socket, to: Socket): Leg => ({
      direction, from, to, mode: defaults[direction], queue: [], timer: null,
      waiting: [], waitingBytes: 0, wire: [], wireBytes: 0, wireTimer: null, ending: null,
    });
    const legs = { up: makeLeg('up', client, upstreamSocket), down: makeLeg('down', upstreamSocket, client) };
    const pair: Pair = { client, upstream: upstreamSocket, legs, closed: false, lastRead: null };
    pairs.add(pair);
    for (const leg of Object.values(legs)) {
      leg.from.on('data', (chunk: Buffer) => {
        if (leg.direction === 'up' && pair.lastRead !== 'up') turns++;
        pair.lastRead = leg.direction;
        onData(pair, leg, chunk);
      });
      leg.to.on('drain', () => updateReading(pair, leg));
      // an end or error is passed on only while the leg forwards: a black hole swallows FIN and RST too; on a link,
      // after the bytes sent before it
      const finish = (how: 'end' | 'close') => {
        if (leg.mode.kind === 'blackhole' || pair.closed) return;
        if (leg.ending !== 'close') leg.ending = how;
        finishIfDelivered(pair, leg);
      };
      leg.from.on('end', () => finish('end'));
      leg.from.on('error', () => {});
      leg.from.on('close', () => finish('close'));
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
    get turns() {
      return turns;
    },
    forwarded,
    get held() {
      return { up: held('up'), down: held('down') };
    },
    peakHeld,
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
      for (const link of Object.values(links)) if (link?.timer) clearTimeout(link.timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function makeLink(shape: LinkShape | undefined): Link | null {
  const delayMs = shape?.delayMs ?? 0;
  const bitsPerSecond = shape?.bitsPerSecond ?? Infinity;
  if (!(delayMs >= 0) || !(bitsPerSecond > 0)) throw new Error(`link: delayMs must be >= 0 and bitsPerSecond > 0, got ${delayMs} ms, ${bitsPerSecond} bit/s`);
  if (delayMs === 0 && bitsPerSecond === Infinity) return null;
  return { delayMs, bytesPerMs: bitsPerSecond / 8 / 1000, turns: [], busyUntil: 0, timer: null };
}

function throttleSlice(mode: { bytesPerSecond: number }): number {
  return Math.max(1, Math.floor(mode.bytesPerSecond / 20));
}

/** Host and port of a postgres:// or redis:// URL, for {@link startTcpProxy}. */
export function upstreamOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const defaultPort = u.protocol.startsWith('redis') ? 6379 : u.protocol.startsWith('http') ? 80 : 5432;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
}
