import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp, type BuildAppOptions } from '../../src/app.js';
import { loadApiConfig } from '../../src/config.js';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Two keys, as during a rotation. */
export const API_KEY = 'test-key-0123456789abcdef0123456789abcdef';
export const OLD_API_KEY = 'old-key-fedcba9876543210fedcba9876543210';
export const AUTH = { authorization: `Bearer ${API_KEY}` };

/** A unique queue prefix per test file, so tests never see each other's jobs. */
export function testPrefix(name: string): string {
  return `mbsync-test-api-${name}-${randomBytes(3).toString('hex')}`;
}

export interface TestDirectories {
  root: string;
  dumps: string;
  backups: string;
  remove(): Promise<void>;
}

/** Temporary dump and backup directories (created empty). */
export async function testDirectories(): Promise<TestDirectories> {
  const root = await mkdtemp(join(tmpdir(), 'mbsync-api-'));
  const dirs = { root, dumps: join(root, 'dumps'), backups: join(root, 'backups') };
  await Promise.all([mkdir(dirs.dumps), mkdir(dirs.backups)]);
  return { ...dirs, remove: () => rm(root, { recursive: true, force: true }) };
}

/** The variables a test api needs, with `extra` on top. */
export function testEnv(options: { prefix: string; dumps: string; backups: string; redisUrl?: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    API_KEYS: `${API_KEY},${OLD_API_KEY}`,
    REDIS_URL: options.redisUrl ?? TEST_REDIS_URL,
    QUEUE_PREFIX: options.prefix,
    DUMP_DIRECTORY: options.dumps,
    BACKUP_DIRECTORY: options.backups,
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Builds the app (never listening) and waits until it is ready; the caller closes it. */
export async function createTestApp(env: Record<string, string>, options: Omit<BuildAppOptions, 'config'> = { logger: false }): Promise<FastifyInstance> {
  const app = await buildApp({ config: loadApiConfig(env), ...options });
  await app.ready();
  return app;
}

/** Builds the app and closes it in t.after, like fastify/demo's build(t). */
export async function buildTestApp(t: TestContext, env: Record<string, string>, options?: Omit<BuildAppOptions, 'config'>): Promise<FastifyInstance> {
  const app = await createTestApp(env, options);
  t.after(() => app.close());
  return app;
}

/** Removes every key of a queue prefix (the queue and the api's tickets). */
export async function dropPrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
