import { readFile } from 'node:fs/promises';
import type { ProgressCallback } from '@mbsync/dump';
import type { ReindexLogger, ReindexResult, RetryPolicy } from '@mbsync/search-index';
import { readCollectionSpecsFile, type CollectionSpec } from '@mbsync/search-index/specs';
import { openDatabase, type DatabaseScope } from '../database.js';
import { type Environment, JobsError } from '@mbsync/jobs';

export interface ReindexJobInput {
  /** The environment whose database is read and whose Typesense (`<NAME>_TYPESENSE_URL`/`_API_KEY`) is rebuilt. */
  environment: Environment;
  /** Collections to rebuild (default: every spec). */
  collections?: string[];
  /** A JSON specs file (`{ "collections": [ … ] }`) replacing the default specs. */
  specsFile?: string;
  /** Specs replacing the default ones (TYPESENSE_SPECS_FILE, read at start-up); `specsFile` wins. */
  specs?: readonly CollectionSpec[] | undefined;
  /** Documents per import request (default 1000). */
  batchSize?: number;
  /** Failed documents tolerated per collection (default 0: any failure aborts before the swap). */
  maxFailures?: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  /** the stall watchdog's scope (WatchedRun.scope): the runner's connections are opened in it */
  scope?: DatabaseScope | undefined;
  /** Also return what each collection was built from (rows and their hash sum), to record in the target. */
  fingerprint?: boolean;
  /** Per-collection progress; the byte fields carry documents (see @mbsync/search-index ReindexProgress). */
  onProgress?: ProgressCallback;
  logger?: ReindexLogger;
}

/** Rebuilds an environment's Typesense collections from its database, owning both connections for the duration. */
export async function runReindex(input: ReindexJobInput): Promise<ReindexResult> {
  const { environment } = input;
  const prefix = environment.name.toUpperCase();
  if (!environment.typesense?.url) {
    throw new JobsError('JOBS_INVALID_INPUT', `environment "${environment.name}" has no Typesense: set ${prefix}_TYPESENSE_URL and ${prefix}_TYPESENSE_API_KEY`, { details: {
      environment: environment.name,
    } });
  }
  if (!environment.typesense.apiKey) {
    throw new JobsError('JOBS_INVALID_INPUT', `environment "${environment.name}" has no Typesense API key: set ${prefix}_TYPESENSE_API_KEY`, { details: { environment: environment.name } });
  }
  // loaded on demand: the Typesense client is heavy, and exports and imports never need it
  const { openTypesense, reindexCollections } = await import('@mbsync/search-index');
  const specs = input.specsFile === undefined ? input.specs : readCollectionSpecsFile(await readSpecsFile(input.specsFile), input.specsFile);
  const sql = openDatabase(environment, { role: 'source', applicationName: 'mbsync reindex', scope: input.scope });
  const typesense = openTypesense(environment.typesense);
  try {
    return await reindexCollections({
      sql,
      client: typesense.client,
      ...(specs === undefined ? {} : { specs }),
      ...(input.collections === undefined ? {} : { collections: input.collections }),
      ...(input.batchSize === undefined ? {} : { batchSize: input.batchSize }),
      ...(input.maxFailures === undefined ? {} : { maxFailures: input.maxFailures }),
      ...(input.retry === undefined ? {} : { retry: input.retry }),
      ...(input.fingerprint === undefined ? {} : { fingerprint: input.fingerprint }),
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }),
      ...(input.logger === undefined ? {} : { logger: input.logger }),
    });
  } finally {
    typesense.close();
    await sql.end({ timeout: 1 });
  }
}

async function readSpecsFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new JobsError('JOBS_INVALID_INPUT', `cannot read the specs file ${file}: ${(error as Error).message}`, { details: { file } });
  }
}
