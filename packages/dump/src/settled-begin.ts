import type postgres from 'postgres';

/**
 * `sql.begin`, but it answers only once `run` has settled. postgres.js rejects a transaction the moment its
 * connection closes (a terminated backend, a cut link) while `run` goes on: lanes still copying, a target session
 * still rolling back, cleanups not yet run. A caller that reported the failure then would report it before the work
 * it started had stopped. `onClosed` hears of such an early end at once (a runner aborts the rest of the job there).
 */
export async function settledBegin<T>(
  sql: postgres.Sql, mode: string | null, run: (tx: postgres.TransactionSql) => Promise<T>, onClosed?: (error: unknown) => void,
): Promise<T> {
  let work: Promise<T> | undefined;
  const start = (tx: postgres.TransactionSql) => (work = run(tx));
  try {
    return await (mode === null ? sql.begin(start) : sql.begin(mode, start)) as T;
  } catch (error) {
    if (work) {
      onClosed?.(error);
      await work.catch(() => {});
    }
    throw error;
  }
}
