import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DumpError } from './errors.js';
import { manifestPath, readManifest } from './manifest.js';

/** A backup taken before an import: a dump of the target's affected schemas, with a manifest. */
export interface BackupInfo {
  /** the file name, also the id used by `mbsync restore` and the API */
  id: string;
  file: string;
  target: string;
  schemas: string[];
  createdAt: string;
  fileBytes: number;
  tables: number;
  rows: number;
}

const BACKUP_NAME = /^[a-z0-9_.-]+-\d{8}T\d{6}\d{3}Z\.sql\.gz$/;

/** `<name>-<UTC time><extension>`, e.g. `local-20261126T093000123Z.sql.gz`: sortable by time within a name. */
export function timestampedFileName(name: string, extension: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${name.replace(/[^a-z0-9_.-]/gi, '_').toLowerCase()}-${stamp}${extension}`;
}

/** `<target>-<UTC time>.sql.gz`. */
export function backupFileName(target: string, now = new Date()): string {
  return timestampedFileName(target, '.sql.gz', now);
}

/** Every complete backup in `directory`, newest first. Files without a backup manifest are not listed. */
export async function listBackups(directory: string): Promise<BackupInfo[]> {
  const names = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const out: BackupInfo[] = [];
  for (const name of names) {
    if (!BACKUP_NAME.test(name)) continue;
    const file = join(directory, name);
    const manifest = await readManifest(file).catch(() => null);
    if (!manifest?.backupOf) continue;
    out.push({
      id: name,
      file,
      target: manifest.backupOf.target,
      schemas: manifest.backupOf.schemas,
      createdAt: manifest.startedAt,
      fileBytes: manifest.fileBytes,
      tables: manifest.tables.length,
      rows: manifest.rows,
    });
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Finds a backup by id (its file name). Anything that is not a plain backup file name is refused. */
export async function findBackup(directory: string, id: string): Promise<BackupInfo> {
  if (!BACKUP_NAME.test(id)) throw new DumpError('DUMP_BACKUP_NOT_FOUND', `"${id}" is not a backup name (see 'mbsync backups')`);
  const found = (await listBackups(directory)).find((b) => b.id === id);
  if (!found) throw new DumpError('DUMP_BACKUP_NOT_FOUND', `no backup "${id}" in the backup directory`);
  return found;
}

/**
 * Retention: per target, keeps the newest `keepCount` backups and removes older ones, and removes any older
 * than `keepDays` days, but never the newest backup of a target. Returns the removed ids.
 */
export async function pruneBackups(directory: string, policy: { keepCount: number; keepDays: number }, now = new Date()): Promise<string[]> {
  const byTarget = new Map<string, BackupInfo[]>();
  for (const b of await listBackups(directory)) byTarget.set(b.target, [...(byTarget.get(b.target) ?? []), b]);
  const removed: string[] = [];
  const cutoff = now.getTime() - policy.keepDays * 86_400_000;
  for (const backups of byTarget.values()) {
    backups.forEach((b, index) => {
      if (index === 0) return;
      if (index >= policy.keepCount || (policy.keepDays > 0 && Date.parse(b.createdAt) < cutoff)) removed.push(b.id);
    });
  }
  for (const id of removed) {
    await rm(join(directory, id), { force: true });
    await rm(manifestPath(join(directory, id)), { force: true });
  }
  return removed;
}
