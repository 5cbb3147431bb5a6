import { createItemsDatabase, createReplaceableTarget, type TestDatabase } from '@mbsync/testkit';

/** The shared items source (about 120 bytes of COPY text per row: 500 000 rows ≈ 60 MB). */
export function createSourceDatabase(prefix: string, rows: number): Promise<TestDatabase> {
  return createItemsDatabase(prefix, rows);
}

/** An empty target with something in it that an import replaces. */
export const createTargetDatabase = createReplaceableTarget;

/** Sessions on a database that sit inside an open transaction (a leak a cancelled import must not leave). */
export async function idleInTransaction(admin: TestDatabase, database: string): Promise<number> {
  const [row] = await admin.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${database} AND state LIKE 'idle in transaction%'`;
  return row?.n ?? 0;
}
