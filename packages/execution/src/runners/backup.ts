import { join } from 'node:path';
import type postgres from 'postgres';
import { type PlatformTarget, backupFileName, describePgError, exportDatabase, openDumpFile, pruneBackups, quoteLiteral, type BackupInfo, type ProgressCallback } from '@mbsync/dump';
import type { CoreConfig, Environment } from '@mbsync/jobs';
import { assertDiskSpace, estimateDumpSize } from '../disk-space.js';

export interface TakeBackupInput {
  sql: postgres.Sql;
  target: Environment;
  /** the schemas an import is about to replace; those that exist are exported */
  schemas: string[];
  /** the target's platform, when it has one: the platform tables the import reloads are backed up with their rows */
  platform?: PlatformTarget | null;
  config: Pick<CoreConfig, 'backupDirectory' | 'backupKeepCount' | 'backupKeepDays' | 'diskReserveBytes'>;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/**
 * Exports the target's affected schemas into the backup directory with the same exporter, then checks the
 * file against its manifest (size and sha256) before the import may write anything. Refuses with
 * JOBS_INSUFFICIENT_DISK_SPACE, before writing, when the estimated backup does not fit on the disk; prunes
 * older backups (BACKUP_KEEP_COUNT / BACKUP_KEEP_DAYS) afterwards.
 */
export async function takeBackup(input: TakeBackupInput): Promise<BackupInfo> {
  // with a platform, its data schemas too: the import reloads their tables' rows (data-only), the backup keeps them
  const wanted = [...input.schemas, ...(input.platform ? ['auth', 'storage'].filter((s) => input.platform!.schemas.includes(s)) : [])];
  const existing = wanted.length === 0 ? [] : await input.sql.unsafe<{ name: string }[]>(
    `SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname IN (${wanted.map(quoteLiteral).join(', ')})`,
  );
  const schemas = existing.map((r) => r.name);
  const estimate = schemas.length === 0 ? { dumpBytes: 0 } : await estimateDumpSize(input.sql, { schemas }, true).catch((error: unknown) => {
    throw describePgError(error, 'target', input.target.name);
  });
  await assertDiskSpace(input.config.backupDirectory, estimate.dumpBytes, input.config.diskReserveBytes, `the backup of ${input.target.name}`);
  const id = backupFileName(input.target.name);
  const file = join(input.config.backupDirectory, id);
  const { manifest } = await exportDatabase({
    sql: input.sql,
    sourceName: input.target.name,
    out: file,
    // an empty list selects nothing: a target holding none of the schemas gets an empty backup
    schemas,
    ...(input.platform ? { platform: input.platform } : {}),
    // what the replace may drop outside those schemas, so that restoring the backup brings it back
    dependents: true,
    census: false,
    // an import replaces the target's large objects that the dump holds: the backup keeps them all
    largeObjects: true,
    signal: input.signal,
    onProgress: input.onProgress,
    backupOf: { target: input.target.name, schemas: input.schemas },
  });
  await openDumpFile(file); // re-reads the file and checks size + sha256 against the manifest
  await pruneBackups(input.config.backupDirectory, { keepCount: input.config.backupKeepCount, keepDays: input.config.backupKeepDays });
  return { id, file, target: input.target.name, schemas: input.schemas, createdAt: manifest.startedAt, fileBytes: manifest.fileBytes, tables: manifest.tables.length, rows: manifest.rows };
}
