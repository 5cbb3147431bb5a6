import postgres from 'postgres';
import { readSourceSnapshot, settledBegin, syncParallel, withTargetSession, type ParallelSyncOptions, type ParallelSyncResult } from '@mbsync/dump';
import type { TestDatabase } from '@mbsync/testkit';

export interface ParallelRunOptions extends Partial<Omit<ParallelSyncOptions, 'source' | 'target' | 'coordinator' | 'snapshot' | 'session' | 'gate'>> {
  /** runs in the locked target session before any write, as a runner's validation does */
  check?: (tx: postgres.TransactionSql) => Promise<void>;
  /** runs beside the lanes, as a runner's backup does: the gate */
  beside?: (signal: AbortSignal) => Promise<void>;
  lockWaitMs?: number;
}

/**
 * A parallel sync the way a runner drives one (packages/execution's runSync): the source's snapshot transaction,
 * the locked target session, the check, the work beside the lanes as the gate — each a step down into the dump
 * package, with dedicated one-connection pools.
 */
export async function parallelSyncLikeARunner(source: TestDatabase, target: TestDatabase, options: ParallelRunOptions = {}): Promise<ParallelSyncResult> {
  const src = postgres(source.url, { max: 1, onnotice: () => {} });
  const dst = postgres(target.url, { max: 1, onnotice: () => {} });
  const { check, beside, lockWaitMs, ...rest } = options;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await settledBegin(src, 'isolation level repeatable read read only', async (coord) => {
      const snapshot = await readSourceSnapshot(coord, src, { ...rest, sourceName: 'test-source', signal: controller.signal });
      return await withTargetSession(dst, { targetName: 'test-target', lockWaitMs, signal: controller.signal }, async (session) => {
        await check?.(session.tx);
        const gate = beside ? beside(controller.signal) : undefined;
        // a failed gate stops the lanes; a failed sync stops the gate
        gate?.catch(() => controller.abort());
        try {
          return await syncParallel({
            jobs: 3, ...rest, source: src, target: dst, coordinator: coord, snapshot, session, ...(gate ? { gate } : {}),
            sourceName: 'test-source', targetName: 'test-target', signal: controller.signal,
          });
        } catch (error) {
          // the gate's own failure is the one to report: the sync only stopped because of it
          controller.abort();
          const gateError = gate ? await gate.then(() => null, (e: unknown) => e) : null;
          throw gateError ?? error;
        }
      });
    }, () => controller.abort());
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all([src.end({ timeout: 1 }), dst.end({ timeout: 1 })]);
  }
}
