import type postgres from 'postgres';
import { readMissingRoles, type SchemaModel } from '@mbsync/schema-diff';
import { quoteIdent } from './ddl/quote.js';

/**
 * Creates, inside the import's transaction, the roles the copy names that the target's cluster lacks: NOLOGIN, no
 * password, no membership in any role (`--create-roles`). Returns their names (the import reports them).
 */
export async function createMissingRoles(tx: postgres.TransactionSql, model: SchemaModel, use: { owners?: boolean; privileges?: boolean }): Promise<string[]> {
  const missing = await readMissingRoles(tx, model, use);
  for (const r of missing) await tx.unsafe(`CREATE ROLE ${quoteIdent(r.role)} NOLOGIN`);
  return missing.map((r) => r.role);
}
