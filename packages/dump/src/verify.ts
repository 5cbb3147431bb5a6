import type postgres from 'postgres';
import { qualify } from './ddl.js';
import { DumpError } from './errors.js';

export interface RowCountCheck {
  tables: number;
  rows: number;
}

/**
 * Counts the rows of every table in the target and compares them with what the dump said it held.
 * Runs after COMMIT, so a mismatch means something outside the import changed the target (or a bug).
 */
export async function verifyRowCounts(sql: postgres.Sql, expected: { schema: string; name: string; rows: number }[], targetName: string): Promise<RowCountCheck> {
  const mismatches: string[] = [];
  let rows = 0;
  for (let i = 0; i < expected.length; i += 200) {
    const batch = expected.slice(i, i + 200);
    const query = batch.map((t, j) => `SELECT ${j} AS i, count(*)::bigint::text AS n FROM ONLY ${qualify(t.schema, t.name)}`).join(' UNION ALL ');
    const counted = await sql.unsafe<{ i: number; n: string }[]>(query);
    for (const row of counted) {
      const table = batch[row.i]!;
      const actual = Number(row.n);
      rows += actual;
      if (actual !== table.rows) mismatches.push(`${table.schema}.${table.name}: expected ${table.rows}, found ${actual}`);
    }
  }
  if (mismatches.length > 0) {
    throw new DumpError('DUMP_VERIFY_FAILED', `row counts in "${targetName}" differ from the dump: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? '; …' : ''}`, { details: { mismatches } });
  }
  return { tables: expected.length, rows };
}
