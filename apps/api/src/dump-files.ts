import { lstat, readdir } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { readManifest } from '@mbsync/dump';
import { ApiError } from './http-errors.js';

/** Names a dump may have: no directory part, no leading dot (so neither `..` nor hidden files). */
export const DUMP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.sql(\.gz)?$/;

export interface DumpFile {
  name: string;
  path: string;
  bytes: number;
  modifiedAt: string;
}

/**
 * The file of a dump name inside `directory`. Refuses names with a path (API_DUMP_NAME_INVALID, 400) and
 * anything that resolves outside the directory or is not a regular file — a symlink included (404).
 */
export async function resolveDumpFile(directory: string, name: string): Promise<DumpFile> {
  if (!DUMP_NAME.test(name) || name.includes('..')) {
    throw new ApiError('API_DUMP_NAME_INVALID', 'params/name must be a plain dump file name (*.sql or *.sql.gz), without a path', { details: { field: 'params/name' } });
  }
  const root = resolve(directory);
  const path = resolve(root, name);
  if (!path.startsWith(root + sep)) throw new ApiError('API_DUMP_NAME_INVALID', 'params/name leaves the dump directory', { details: { field: 'params/name' } });
  const stat = await lstat(path).catch(() => null);
  if (!stat?.isFile()) throw new ApiError('API_DUMP_NOT_FOUND', `no dump "${name}"`);
  return { name, path, bytes: stat.size, modifiedAt: stat.mtime.toISOString() };
}

/** Complete dumps in `directory` (`*.sql`, `*.sql.gz`; `.partial` files are in progress), newest first. */
export async function listDumpFiles(directory: string): Promise<DumpFile[]> {
  const names = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const files = await Promise.all(names.filter((n) => DUMP_NAME.test(n)).map((n) => resolveDumpFile(directory, n).catch(() => null)));
  return files.filter((f): f is DumpFile => f !== null).sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt) || a.name.localeCompare(b.name));
}

/** The manifest summary of a dump, or null when it has none or it cannot be read. */
export async function dumpManifestSummary(path: string) {
  const m = await readManifest(path).catch(() => null);
  if (!m) return null;
  return { source: m.source, serverVersion: m.serverVersion, startedAt: m.startedAt, finishedAt: m.finishedAt, tables: m.tables.length, rows: m.rows, sha256: m.sha256 };
}
