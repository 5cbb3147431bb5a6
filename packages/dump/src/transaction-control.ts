/** A dump's transaction-control statement and what the importer does with it. */
export interface TransactionControl {
  action: 'skip' | 'refuse';
  /** the statement's keywords, upper case (for messages) */
  keyword: string;
}

/**
 * The import is one transaction, so a dump's own BEGIN/COMMIT (pg_dump brackets its large objects with them) are
 * skipped, as pg_restore --single-transaction leaves them out — run, that COMMIT would commit half an import.
 * Anything that would change what is kept (ROLLBACK, savepoints, two-phase commit) is refused. Null for any
 * other statement.
 */
export function transactionControl(statement: string): TransactionControl | null {
  const m = /^(BEGIN|START\s+TRANSACTION|COMMIT(?:\s+PREPARED)?|END|ROLLBACK(?:\s+PREPARED)?|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b/i.exec(statement);
  if (!m) return null;
  const keyword = m[1]!.toUpperCase().replace(/\s+/g, ' ');
  return { action: ['BEGIN', 'START TRANSACTION', 'COMMIT', 'END'].includes(keyword) ? 'skip' : 'refuse', keyword };
}
