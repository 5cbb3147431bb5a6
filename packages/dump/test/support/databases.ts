import { join } from 'node:path';
import postgres from 'postgres';
import { exportDatabase, importDump, openDumpFile, type ImportOptions, type ImportResult } from '@mbsync/dump';
import { pgDumpSchema, psqlFile, snapshotDatabase, type DatabaseSnapshot, type TestDatabase } from '@mbsync/testkit';

export const fixtures = new URL('../../../../test/fixtures/', import.meta.url).pathname;
export const pagila = new URL('../../../../../shared/peers/pagila/', import.meta.url).pathname;

export function loadTricky(db: TestDatabase): void {
  psqlFile(db.url, join(fixtures, 'tricky/schema.sql'));
  psqlFile(db.url, join(fixtures, 'tricky/data.sql'));
}

export function loadPagila(db: TestDatabase): void {
  psqlFile(db.url, join(pagila, 'pagila-schema.sql'));
  psqlFile(db.url, join(pagila, 'pagila-data.sql'));
}

export interface DatabaseState {
  schema: string;
  data: DatabaseSnapshot;
}

/** Everything a test compares: pg_dump --schema-only text and every row and sequence, value by value. */
export async function stateOf(db: TestDatabase): Promise<DatabaseState> {
  return { schema: pgDumpSchema(db.url), data: await snapshotDatabase(db.sql) };
}

export async function exportTo(db: TestDatabase, out: string) {
  return exportDatabase({ sql: db.sql, sourceName: 'test-source', out });
}

/** Imports a file with a dedicated single connection, as the runners do. */
export async function importFile(db: TestDatabase, file: string, options: Partial<ImportOptions> = {}): Promise<ImportResult> {
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    return await importDump({ sql, targetName: 'test-target', source: await openDumpFile(file), ...options });
  } finally {
    await sql.end({ timeout: 1 });
  }
}
