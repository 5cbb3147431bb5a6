import { randomBytes } from 'node:crypto';
import { JOB_QUEUE } from '@mbsync/jobs';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestQueue {
  prefix: string;
  queue: Queue;
  events: QueueEvents;
  redis: Redis;
  /** how long cancelled-before-start jobs stay in the history (requestCancel) */
  retention: { maxAgeSeconds: number; maxCount: number };
  /** obliterates the queue and closes every connection */
  close(): Promise<void>;
}

/** A queue with a prefix of its own (`mbsync-test-<name>-<random>`), so tests never see each other's jobs. */
export async function openTestQueue(name: string, redisUrl = TEST_REDIS_URL): Promise<TestQueue> {
  const prefix = `mbsync-test-${name}-${randomBytes(3).toString('hex')}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const queue = new Queue(JOB_QUEUE, { connection: redis, prefix });
  queue.on('error', () => {});
  const events = new QueueEvents(JOB_QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix });
  events.on('error', () => {});
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  return {
    prefix,
    queue,
    events,
    redis,
    retention: { maxAgeSeconds: 3600, maxCount: 100 },
    async close() {
      // bounded: after a test restarted Redis under them, a graceful close can wait forever
      await bounded(queue.obliterate({ force: true }));
      // obliterate leaves keys BullMQ does not know, such as cancel keys
      await bounded((async () => {
        for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
      })());
      await bounded(events.close());
      await bounded(queue.close());
      await bounded(redis.quit());
      redis.disconnect();
    },
  };
}

/** Polls until the job is completed or failed (or gone), then returns it with its state. */
export async function waitForFinished(queue: Queue, jobId: string, timeoutMs: number): Promise<{ state: string; job: Job | undefined }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    // read the job again: the hash read above may predate the state change
    if (state === 'completed' || state === 'failed' || state === 'missing') return { state, job: await queue.getJob(jobId) };
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until the job reaches `wanted` (e.g. 'active'). */
export async function waitForState(queue: Queue, jobId: string, wanted: string[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (wanted.includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${state}, not ${wanted.join('/')}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bounded(work: Promise<unknown>, ms = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
