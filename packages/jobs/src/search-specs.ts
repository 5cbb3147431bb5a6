import { readFileSync } from 'node:fs';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { configInvalid } from './config.js';

/** Reads a specs file's text into specs: `readCollectionSpecsFile` of @mbsync/search-index/specs. */
export type SpecsFileReader = (text: string, origin: string) => CollectionSpec[];

/**
 * The specs of TYPESENSE_SPECS_FILE (`file`, the setting's value), read and validated with `read` (null when the
 * setting is unset: the built-in specs). Every problem fails with JOBS_CONFIG_INVALID naming the variable, the
 * file and the bad fields by path.
 */
export function readSearchSpecs(file: string | undefined, read: SpecsFileReader): readonly CollectionSpec[] | null {
  if (!file?.trim()) return null;
  file = file.trim();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw invalid([`TYPESENSE_SPECS_FILE ${file} cannot be read: ${reason}`]);
  }
  try {
    return Object.freeze(read(text, file));
  } catch (error) {
    const problems = (error as { details?: { problems?: unknown } }).details?.problems;
    const list = Array.isArray(problems) ? problems.map(String) : [(error as Error).message];
    throw invalid(list.map((p) => `TYPESENSE_SPECS_FILE ${file}: ${p}`));
  }
}

/**
 * {@link readSearchSpecs} with the validator loaded only when the variable is set (TypeBox is heavy to load, and
 * a CLI command without a specs file should not pay for it).
 */
export async function loadSearchSpecs(file: string | undefined): Promise<readonly CollectionSpec[] | null> {
  if (!file?.trim()) return null;
  const { readCollectionSpecsFile } = await import('@mbsync/search-index/specs');
  return readSearchSpecs(file, readCollectionSpecsFile);
}

const invalid = configInvalid;
