import { readFile } from 'node:fs/promises';
import type { SchemaModel } from '@mbsync/schema-diff';
import { DUMP_FORMAT_VERSION, TOOL_NAME, TOOL_VERSION } from './dump-format.js';
import { DumpError } from './errors.js';
import type { TableStats } from './dump-writer.js';
import type { PlatformTarget } from './platform.js';

/** The sidecar `<dump>.manifest.json`: what the dump holds and how to check it is whole. */
export interface DumpManifest {
  formatVersion: number;
  tool: { name: string; version: string };
  /** environment name of the source; never a URL */
  source: string;
  serverVersion: string;
  serverVersionNum: number;
  startedAt: string;
  finishedAt: string;
  compression: 'gzip' | 'none';
  /** file name of the dump, relative to the manifest */
  file: string;
  fileBytes: number;
  sha256: string;
  rows: number;
  dataBytes: number;
  tables: TableStats[];
  sequences: number;
  /** large objects in the dump (absent in manifests written before they were copied) */
  largeObjects?: number;
  schema: SchemaModel;
  /** The target platform the dump was written for (its schemas' structure left out, its data tables loaded data-only). */
  platform?: PlatformTarget;
  /** Whether the dump sets owners and privileges (absent in older manifests: neither). */
  carries?: { owners: boolean; privileges: boolean };
  /** Set on backups: the target they were taken of and the schemas an import was about to replace. */
  backupOf?: { target: string; schemas: string[] };
}

/** Path of the manifest that belongs to a dump file. */
/** What a dump's manifest adds to the dump's file name. */
export const MANIFEST_SUFFIX = '.manifest.json';

export function manifestPath(dumpFile: string): string {
  return `${dumpFile}${MANIFEST_SUFFIX}`;
}

export function buildManifest(fields: Omit<DumpManifest, 'formatVersion' | 'tool'>): DumpManifest {
  return { formatVersion: DUMP_FORMAT_VERSION, tool: { name: TOOL_NAME, version: TOOL_VERSION }, ...fields };
}

/** Reads and checks a manifest; null when the dump has none (e.g. pg_dump output). */
export async function readManifest(dumpFile: string): Promise<DumpManifest | null> {
  let text: string;
  try {
    text = await readFile(manifestPath(dumpFile), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DumpError('DUMP_MANIFEST_INVALID', `cannot read manifest ${manifestPath(dumpFile)}: ${(error as Error).message}`);
  }
  let manifest: DumpManifest;
  try {
    manifest = JSON.parse(text) as DumpManifest;
  } catch {
    throw new DumpError('DUMP_MANIFEST_INVALID', `manifest ${manifestPath(dumpFile)} is not valid JSON`);
  }
  if (manifest.formatVersion !== DUMP_FORMAT_VERSION) {
    throw new DumpError('DUMP_FORMAT_UNSUPPORTED', `manifest ${manifestPath(dumpFile)} has format version ${String(manifest.formatVersion)}, this tool reads ${DUMP_FORMAT_VERSION}`);
  }
  for (const key of ['sha256', 'fileBytes', 'tables', 'schema'] as const) {
    if (manifest[key] === undefined) throw new DumpError('DUMP_MANIFEST_INVALID', `manifest ${manifestPath(dumpFile)} lacks "${key}"`);
  }
  return manifest;
}
