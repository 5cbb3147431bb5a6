import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestPath, readManifest } from '@mbsync/dump';

/** Names mbsync gives dumps itself (`<source>-<UTC time>.sql[.gz]`); a file named by a user is never pruned. */
const GENERATED_DUMP_NAME = /^[a-z0-9_.-]+-\d{8}T\d{6}\d{3}Z\.sql(\.gz)?$/;

export interface DumpRetention {
  /** dumps kept per source, newest first; 0 = no limit */
  keepCount: number;
  /** dumps older than this are removed; 0 = no age limit */
  keepDays: number;
}

/**
 * Retention of DUMP_DIRECTORY, like the backups': per source, keeps the newest `keepCount` dumps and removes
 * older ones and those older than `keepDays`, never the newest of a source nor `keep` (the dump just written).
 * Only complete dumps with a manifest and a generated name count; backups (manifest.backupOf) are left to their
 * own retention. Removes each file with its manifest; returns the removed names.
 */
export async function pruneDumps(directory: string, policy: DumpRetention, keep?: string, now = new Date()): Promise<string[]> {
  if (policy.keepCount === 0 && policy.keepDays === 0) return [];
  const names = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const bySource = new Map<string, { name: string; startedAt: string }[]>();
  for (const name of names) {
    if (!GENERATED_DUMP_NAME.test(name)) continue;
    const manifest = await readManifest(join(directory, name)).catch(() => null);
    if (!manifest || manifest.backupOf) continue;
    bySource.set(manifest.source, [...(bySource.get(manifest.source) ?? []), { name, startedAt: manifest.startedAt }]);
  }
  const cutoff = now.getTime() - policy.keepDays * 86_400_000;
  const removed: string[] = [];
  for (const dumps of bySource.values()) {
    dumps.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.name.localeCompare(a.name));
    dumps.forEach((d, index) => {
      if (index === 0 || d.name === keep) return;
      const tooMany = policy.keepCount > 0 && index >= policy.keepCount;
      const tooOld = policy.keepDays > 0 && Date.parse(d.startedAt) < cutoff;
      if (tooMany || tooOld) removed.push(d.name);
    });
  }
  for (const name of removed) {
    await rm(join(directory, name), { force: true });
    await rm(manifestPath(join(directory, name)), { force: true });
  }
  return removed;
}
