import { JOB_QUEUE } from '@mbsync/jobs';
import { Queue, QueueEvents } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { ApiError } from '../http-errors.js';
import { JobFeed } from '../job-feed.js';

/** The api's handle on the job queue: one Redis connection for commands, one QueueEvents for the whole process. */
export interface JobQueue {
  queue: Queue;
  /** THE QueueEvents of the queue (every WebSocket is fed from it); null until Redis was reachable once */
  readonly events: QueueEvents | null;
  /** the normal (non-blocking) connection, shared with `queue` */
  redis: Redis;
  /** Resolves when Redis is connected; throws API_QUEUE_UNAVAILABLE after `timeoutMs` instead of hanging on reconnects. */
  ensureConnected(timeoutMs?: number): Promise<void>;
  /** PING with a deadline: true when Redis answered in time. */
  ping(timeoutMs: number): Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobQueue: JobQueue;
    /** fed by the single QueueEvents of the queue; every socket listens to it */
    jobFeed: JobFeed;
  }
}

export interface QueuesPluginOptions {
  redisUrl: string;
  queuePrefix: string;
  /** how long a request waits for a (re)connecting Redis before answering 503 */
  connectTimeoutMs: number;
}

/** How long closing may take before connections are dropped (Redis may be gone). */
const CLOSE_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function queuesPlugin(app: FastifyInstance, options: QueuesPluginOptions): Promise<void> {
  // maxRetriesPerRequest 1: a command fails soon when Redis is down instead of queueing forever (this is a
  // producer; only the QueueEvents' blocking connection below must wait: maxRetriesPerRequest null)
  const redis = new Redis(options.redisUrl, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    connectionName: 'mbsync-api',
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastWarn = 0;
  const onError = (which: string) => (error: Error) => {
    // a down Redis reports an error per reconnect attempt: log at most one line every 10 s
    if (Date.now() - lastWarn < 10_000) return;
    lastWarn = Date.now();
    app.log.warn({ connection: which, err: { message: error.message, code: (error as { code?: string }).code } }, 'redis connection error');
  };
  redis.on('error', onError('main'));
  const queue = new Queue(JOB_QUEUE, { connection: redis, prefix: options.queuePrefix });
  queue.on('error', onError('queue'));
  // The QueueEvents starts once Redis answered: BullMQ cannot close a QueueEvents whose first connection never
  // came up (it waits for it), so an api started without Redis would never shut down.
  const feed = new JobFeed();
  let events: QueueEvents | null = null;
  let eventsRedis: Redis | null = null;
  let closing = false;
  redis.once('ready', () => {
    if (closing) return;
    eventsRedis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, connectionName: 'mbsync-api-events', retryStrategy: (times) => Math.min(times * 200, 2_000) });
    eventsRedis.on('error', onError('events'));
    events = new QueueEvents(JOB_QUEUE, { connection: eventsRedis, prefix: options.queuePrefix });
    events.on('error', onError('events'));
    feed.attach(events);
  });

  const ensureConnected = async (timeoutMs = options.connectTimeoutMs): Promise<void> => {
    if (redis.status === 'ready') return;
    if (redis.status === 'end') throw new ApiError('API_QUEUE_UNAVAILABLE', 'redis connection closed');
    let onReady: (() => void) | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve) => {
          onReady = resolve;
          redis.once('ready', resolve);
        }),
        timeoutMs,
        () => new ApiError('API_QUEUE_UNAVAILABLE', 'redis is not reachable'),
      );
    } finally {
      if (onReady) redis.off('ready', onReady);
    }
  };

  const jobQueue: JobQueue = {
    queue,
    get events() {
      return events;
    },
    redis,
    ensureConnected,
    async ping(timeoutMs) {
      try {
        await withTimeout(
          (async () => {
            await ensureConnected(timeoutMs);
            await redis.ping();
          })(),
          timeoutMs,
          () => new Error('ping timed out'),
        );
        return true;
      } catch {
        return false;
      }
    },
  };
  app.decorate('jobQueue', jobQueue);
  app.decorate('jobFeed', feed);

  app.addHook('onClose', async () => {
    closing = true;
    feed.close();
    const close = async () => {
      await events?.close();
      await queue.close();
      await Promise.all([redis.quit(), eventsRedis?.quit()]);
    };
    try {
      await withTimeout(close(), CLOSE_TIMEOUT_MS, () => new Error('close timed out'));
    } catch {
      // Redis unreachable: drop the connections instead of waiting for them
      redis.disconnect();
      eventsRedis?.disconnect();
    }
  });
}

/**
 * Opens the queue, its Redis connection and the process's single QueueEvents; closes them with the app.
 * Not encapsulated (what fastify-plugin does): the decoration is visible to every route.
 */
export const queues = Object.assign(queuesPlugin, { [Symbol.for('skip-override')]: true });
