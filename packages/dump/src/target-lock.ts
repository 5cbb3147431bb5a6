import type postgres from 'postgres';
import { DumpError } from './errors.js';

/** The advisory lock every import into a database takes: one writer per target, whichever path imports. */
const TARGET_LOCK_SQL = "hashtext('multiboard-sync:import')";

/**
 * Takes the target's import lock for the transaction: at once or DUMP_TARGET_BUSY when waitMs is 0, else
 * waiting up to waitMs.
 */
export async function acquireTargetLock(tx: postgres.TransactionSql, target: string, waitMs: number): Promise<void> {
  if (waitMs <= 0) {
    const [row] = await tx.unsafe<{ locked: boolean }[]>(`SELECT pg_catalog.pg_try_advisory_xact_lock(${TARGET_LOCK_SQL}) AS locked`);
    if (!row?.locked) throw new DumpError('DUMP_TARGET_BUSY', `another import into "${target}" is running; try again when it has finished`);
    return;
  }
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '${Math.round(waitMs)}', true)`);
  try {
    await tx.unsafe(`SELECT pg_catalog.pg_advisory_xact_lock(${TARGET_LOCK_SQL})`);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new DumpError('DUMP_TARGET_BUSY', `another import into "${target}" is still running after ${Math.round(waitMs / 1000)} s`);
    }
    throw error;
  }
  await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '0', true)`);
}
