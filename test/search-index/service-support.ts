/**
 * Shared setup of the search-index tests that run the real api and worker processes: a key, a queue prefix of
 * their own, a WebSocket client that collects what the api sends.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A made-up key for the test api (never a real one). */
export const API_KEY = 'search-index-service-test-key-0123456789abcdef';

/** A unique queue prefix, so the test's jobs never meet another test's. */
export function servicePrefix(name: string): string {
  return `mbsync-test-ts-${name}-${randomBytes(3).toString('hex')}`;
}

/** Removes every key of a queue prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

interface RawSocket {
  send(data: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): unknown;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** A WebSocket to the api whose JSON messages are collected. */
export interface FeedClient {
  messages: Message[];
  send(message: unknown): void;
  close(): void;
}

/** Opens /ws with the key; the `ws` package is the one the api's @fastify/websocket uses (Node 20 has no global WebSocket). */
export async function openFeed(base: string): Promise<FeedClient> {
  const fromApi = createRequire(new URL('../../apps/api/package.json', import.meta.url));
  const WebSocket = createRequire(fromApi.resolve('@fastify/websocket'))('ws') as new (url: string, options: { headers: Record<string, string> }) => RawSocket;
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const messages: Message[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', resolve);
    socket.on('error', reject);
  });
  return { messages, send: (message) => socket.send(JSON.stringify(message)), close: () => socket.terminate() };
}
