import type { TestDatabase } from '@mbsync/testkit';

/**
 * Value-by-value fingerprint of a table computed server-side (md5 of every row's text form in key order),
 * for databases too big to snapshot into memory.
 */
export async function tableFingerprint(db: TestDatabase, table: string, orderBy: string): Promise<{ rows: number; md5: string }> {
  const [row] = await db.sql.unsafe<{ rows: number; md5: string }[]>(
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${orderBy}), '')) AS md5 FROM ${table} t`,
  );
  return row!;
}
