import type { CollectionSpec } from '@mbsync/search-index/specs';
import { readConfiguredSpecs } from './configured-specs.js';
import { loadEnvironments, type Environments } from './environments.js';
import { JobsError } from './errors.js';

/**
 * What the api and the worker read beyond their own variables, the same way: the Redis URL parsed (named, never
 * echoed), the environments (`<NAME>_DATABASE_URL`, PROTECTED_ENVIRONMENTS) and TYPESENSE_SPECS_FILE read and
 * checked at start-up. Problems are added to `problems`; a part that failed is null.
 */
export function readServiceParts(
  settings: { REDIS_URL: string; TYPESENSE_SPECS_FILE?: string | undefined }, env: Readonly<Record<string, string | undefined>>, problems: string[],
): { environments: Environments | null; searchSpecs: readonly CollectionSpec[] | null } {
  // the pattern says redis:// or rediss://; a URL that does not parse past it fails here, named, not echoed
  if (/^rediss?:\/\//.test(settings.REDIS_URL) && !URL.canParse(settings.REDIS_URL)) {
    problems.push('REDIS_URL cannot be parsed as a URL (check the host and port; encode special characters of the password, e.g. @ as %40)');
  }
  const collect = <T>(read: () => T): T | null => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof JobsError)) throw error;
      problems.push(...((error.details?.errors as string[] | undefined) ?? [error.message]));
      return null;
    }
  };
  return { environments: collect(() => loadEnvironments(env)), searchSpecs: collect(() => readConfiguredSpecs(settings.TYPESENSE_SPECS_FILE)) };
}
