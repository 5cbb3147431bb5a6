import type postgres from 'postgres';
import { cancelBackend } from './cancel-backend.js';
import { DumpError } from './errors.js';
import { dropStaleStagingSchemas } from './parallel/staging-schemas.js';
import { describePgError } from './pg-errors.js';
import { settledBegin } from './settled-begin.js';
import { acquireTargetLock } from './target-lock.js';

/**
 * A transaction on the target that holds the target's import lock: the one writer of that database. A runner opens
 * it (withTargetSession), validates and backs up inside it, and hands it to importDump or syncParallel, which write
 * through it; whatever they or the runner run in it, an abort of the signal cancels on the server.
 */
export interface TargetSession {
  tx: postgres.TransactionSql;
  /** the pool the transaction belongs to (cancels go through a connection like it) */
  sql: postgres.Sql;
  /** environment name, for messages */
  targetName: string;
  /** the backend running the transaction */
  pid: number;
  /**
   * Runs `cleanup` once the transaction has ended, committed or rolled back: work its locks would block (dropping
   * the staging schemas of a failed parallel build). A cleanup is best effort: what it throws is ignored.
   */
  afterEnd(cleanup: () => Promise<void>): void;
}

export interface TargetSessionOptions {
  targetName: string;
  /** how long to wait for another import into the same target (default 0: fail at once, DUMP_TARGET_BUSY) */
  lockWaitMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs `work` in a transaction of `sql` that holds the target's import lock, after dropping the staging schemas a
 * killed parallel import left (under the lock none is in use). While it runs, an abort of the signal cancels
 * whatever the session runs; `work` resolving commits, throwing rolls back; then the session's `afterEnd` cleanups
 * run. A failure comes out as sessionError names it.
 */
export async function withTargetSession<T>(sql: postgres.Sql, options: TargetSessionOptions, work: (session: TargetSession) => Promise<T>): Promise<T> {
  const cleanups: Array<() => Promise<void>> = [];
  try {
    return await settledBegin(sql, null, async (tx) => {
      const [row] = await tx<[{ pid: number }]>`SELECT pg_catalog.pg_backend_pid() AS pid`;
      const pid = row.pid;
      const onAbort = () => void cancelBackend(sql, pid);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (options.signal?.aborted) throw new DumpError('DUMP_CANCELLED', `import into "${options.targetName}" cancelled; nothing was changed`);
        await acquireTargetLock(tx, options.targetName, options.lockWaitMs ?? 0);
        await dropStaleStagingSchemas(tx);
        return await work({ tx, sql, targetName: options.targetName, pid, afterEnd: (cleanup) => void cleanups.push(cleanup) });
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
    });
  } catch (error) {
    throw sessionError(error, options.targetName, options.signal);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

/**
 * What an error inside a target session becomes. A failure the work inside already named (a refusal, a verify
 * difference, another package's error, a backup's) stays what it is, even when the signal fired after it (the runner
 * stops the other side on the way out); a server or driver error, or a failed statement, is a cancellation when the
 * signal fired, else named for the target.
 */
export function sessionError(error: unknown, targetName: string, signal?: AbortSignal): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const fromServer = typeof code === 'string' && (/^[0-9A-Z]{5}$/.test(code) || /^(CONNECTION|CONNECT)_/.test(code) || /^E[A-Z]+$/.test(code));
  const named = error instanceof DumpError ? error.code !== 'DUMP_QUERY_FAILED' : !fromServer;
  if (named) return error;
  if (signal?.aborted) return new DumpError('DUMP_CANCELLED', `import into "${targetName}" cancelled; nothing was changed`, { cause: error });
  return error instanceof DumpError ? error : describePgError(error, 'target', targetName);
}
