import type postgres from 'postgres';
import { cancelBackend } from './cancel-backend.js';
import { DumpError } from './errors.js';
import { dropStaleStagingSchemas } from './parallel/staging-schemas.js';
import { describePgError } from './pg-errors.js';
import { acquireTargetLock } from './target-lock.js';

/**
 * A transaction on the target that holds the target's import lock: the one writer of that database. A runner opens
 * it (begin, lockTarget), validates and backs up inside it, and hands it to importDump or syncParallel, which write
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
  /** stops cancelling on abort (call when the transaction is over) */
  release(): void;
}

export interface LockTargetOptions {
  targetName: string;
  /** how long to wait for another import into the same target (default 0: fail at once, DUMP_TARGET_BUSY) */
  lockWaitMs?: number;
  signal?: AbortSignal;
}

/**
 * Takes the target's import lock in `tx` (a transaction of `sql`), then drops the staging schemas a killed parallel
 * import left (under the lock none is in use). From here until `release`, an abort of the signal cancels whatever
 * the session runs.
 */
export async function lockTarget(sql: postgres.Sql, tx: postgres.TransactionSql, options: LockTargetOptions): Promise<TargetSession> {
  const [row] = await tx<[{ pid: number }]>`SELECT pg_catalog.pg_backend_pid() AS pid`;
  const pid = row.pid;
  const onAbort = () => void cancelBackend(sql, pid);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const release = () => options.signal?.removeEventListener('abort', onAbort);
  try {
    if (options.signal?.aborted) throw new DumpError('DUMP_CANCELLED', `import into "${options.targetName}" cancelled; nothing was changed`);
    await acquireTargetLock(tx, options.targetName, options.lockWaitMs ?? 0);
    await dropStaleStagingSchemas(tx);
  } catch (error) {
    release();
    throw sessionError(error, options.targetName, options.signal);
  }
  return { tx, sql, targetName: options.targetName, pid, release };
}

/** What an error inside a target session becomes: a cancellation when the signal fired, else the server's own. */
export function sessionError(error: unknown, targetName: string, signal?: AbortSignal): unknown {
  if (signal?.aborted && !(error instanceof DumpError && error.code === 'DUMP_CANCELLED')) {
    return new DumpError('DUMP_CANCELLED', `import into "${targetName}" cancelled; nothing was changed`, { cause: error });
  }
  if (error instanceof DumpError || !(error as { code?: unknown })?.code || typeof (error as { code?: unknown }).code !== 'string') return error;
  // a server error (SQLSTATE) or a driver one: named for the target
  return /^[0-9A-Z]{5}$/.test((error as { code: string }).code) || /^(CONNECTION|CONNECT)_/.test((error as { code: string }).code) || /^E[A-Z]+$/.test((error as { code: string }).code)
    ? describePgError(error, 'target', targetName) : error;
}
