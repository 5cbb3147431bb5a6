import { cancelChannel, cancelKey, type CancelMessage, type QueueKeys } from '@mbsync/jobs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Abort reasons the processor tells apart: a cancel ends the job, a shutdown puts it back in the queue. */
export const SHUTDOWN_REASON = 'shutdown';
export const CANCEL_REASON_PREFIX = 'cancel: ';

export function isShutdownReason(reason: unknown): boolean {
  return reason === SHUTDOWN_REASON;
}

/**
 * Listens on the queue's cancel channel (its own subscriber connection, re-subscribed by ioredis after a
 * reconnect) and aborts the matching job if this process runs it. Requests for jobs elsewhere are ignored.
 */
export async function listenForCancels(subscriber: Redis, queue: QueueKeys, cancel: (jobId: string, reason: string) => void, log: Logger): Promise<() => Promise<void>> {
  const channel = cancelChannel(queue);
  const onMessage = (from: string, text: string) => {
    if (from !== channel) return;
    try {
      const message = JSON.parse(text) as CancelMessage;
      if (typeof message.jobId === 'string') cancel(message.jobId, `${CANCEL_REASON_PREFIX}${String(message.reason ?? 'cancelled by request')}`);
    } catch {
      log.warn('ignored a malformed cancel message');
    }
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', onMessage);
    await subscriber.unsubscribe(channel).catch(() => {});
  };
}

/**
 * Polls a job's cancel key: at start (`check`) and every `intervalMs` while it runs, so a request published
 * while this worker was not subscribed (reconnecting, picking up a stalled job) still arrives.
 */
export function watchCancelKey(redis: Redis, queue: QueueKeys, jobId: string, intervalMs: number, onCancel: (reason: string) => void): { check(): Promise<void>; stop(): void; clear(): Promise<void> } {
  const key = cancelKey(queue, jobId);
  let busy = false;
  const check = async () => {
    // while Redis is away a GET waits for the reconnect: do not pile up more
    if (busy) return;
    busy = true;
    const reason = await redis.get(key).catch(() => null);
    busy = false;
    if (reason !== null) onCancel(`${CANCEL_REASON_PREFIX}${reason}`);
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    check,
    stop: () => clearInterval(timer),
    clear: async () => {
      await redis.del(key).catch(() => {});
    },
  };
}
