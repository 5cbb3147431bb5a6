import { createRequire } from 'node:module';

/** The part of a `ws` WebSocket the tests use (the package ships no types here). */
export interface RawSocket {
  readonly readyState: number;
  send(data: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode?: number }) => void): unknown;
}

type WsConstructor = new (url: string, options?: { headers?: Record<string, string> }) => RawSocket;

/** The `ws` package @fastify/websocket ships (Node 20 has no global WebSocket without a flag). */
export function wsConstructor(): WsConstructor {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('@fastify/websocket'))('ws') as WsConstructor;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

/** A socket whose JSON messages are collected, with waiting helpers. */
export interface WsClient {
  socket: RawSocket;
  messages: Message[];
  send(message: unknown): void;
  /** resolves with the first message (seen or coming) matching `match` after index `from` */
  next(match: (m: Message) => boolean, timeoutMs?: number, from?: number): Promise<Message>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Wraps a connected socket (from injectWS or a real connection). */
export function wrapSocket(socket: RawSocket): WsClient {
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Message);
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    socket,
    messages,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next(match, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(-1500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed,
    close: () => socket.close(),
  };
}

/** Opens a real WebSocket; rejects with the HTTP status when the upgrade is refused. */
export function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const WebSocket = wsConstructor();
  const socket = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    const client = wrapSocket(socket);
    socket.on('open', () => resolve(client));
    socket.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.on('error', reject);
  });
}
