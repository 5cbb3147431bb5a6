import { join } from 'node:path';
import type postgres from 'postgres';
import { backupFileName, exportDatabase, openDumpFile, pruneBackups, quoteLiteral, type BackupInfo, type ProgressCallback } from '@mbsync/dump';
import type { CoreConfig } from '../config.js';
import type { Environment } from '../environments.js';

export interface TakeBackupInput {
  sql: postgres.Sql;
  target: Environment;
  /** the schemas an import is about to replace; those that exist are exported */
  schemas: string[];
  config: Pick<CoreConfig, 'backupDirectory' | 'backupKeepCount' | 'backupKeepDays'>;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/**
 * Exports the target's affected schemas into the backup directory with the same exporter, then checks the
 * file against its manifest (size and sha256) before the import may write anything.
 */
export async function takeBackup(input: TakeBackupInput): Promise<BackupInfo> {
  const existing = input.schemas.length === 0 ? [] : await input.sql.unsafe<{ name: string }[]>(
    `SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname IN (${input.schemas.map(quoteLiteral).join(', ')})`,
  );
  const id = backupFileName(input.target.name);
  const file = join(input.config.backupDirectory, id);
  const { manifest } = await exportDatabase({
    sql: input.sql,
    sourceName: input.target.name,
    out: file,
    // an empty list selects nothing: a target holding none of the schemas gets an empty backup
    schemas: existing.map((r) => r.name),
    signal: input.signal,
    onProgress: input.onProgress,
    backupOf: { target: input.target.name, schemas: input.schemas },
  });
  await openDumpFile(file); // re-reads the file and checks size + sha256 against the manifest
  await pruneBackups(input.config.backupDirectory, { keepCount: input.config.backupKeepCount, keepDays: input.config.backupKeepDays });
  return { id, file, target: input.target.name, schemas: input.schemas, createdAt: manifest.startedAt, fileBytes: manifest.fileBytes, tables: manifest.tables.length, rows: manifest.rows };
}
