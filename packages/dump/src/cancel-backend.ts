import postgres from 'postgres';

/**
 * Cancels whatever statement the session `pid` is running, over a short-lived second connection made with the
 * same options as `sql`. postgres.js can only cancel a query object it is running; this also reaches the
 * statements issued by code we do not own (catalog reads, lock waits) inside our transaction.
 */
export async function cancelBackend(sql: postgres.Sql, pid: number): Promise<void> {
  // postgres() returns already-parsed options as they are (they carry `shared`), with our pool size of one
  const other = postgres({ ...(sql.options as unknown as postgres.Options<Record<string, never>>), max: 1 });
  try {
    await other`SELECT pg_catalog.pg_cancel_backend(${pid})`;
  } catch {
    // best effort: the statement may have finished, or the server may be gone
  } finally {
    await other.end({ timeout: 1 });
  }
}
