import type postgres from 'postgres';
import type { Client, CollectionCreateSchema, CollectionFieldSchema } from 'typesense';
import { buildCollection, type DocumentFailure } from './collection-build.js';
import { DEFAULT_COLLECTION_SPECS } from './collections/default-specs.js';
import { SearchIndexError, throwIfCancelled } from './errors.js';
import { ReindexMeter, type ReindexProgressCallback } from './progress.js';
import { DEFAULT_RETRY_POLICY, describeError, type RetryEvent, type RetryPolicy } from './retry.js';
import { SearchServer } from './search-server.js';
import { assertValidSpecs, fieldColumn, idColumn, specQuery, type CollectionSpec } from './spec.js';

/** A pino-compatible logger (`logger.info({ … }, 'message')`). */
export interface ReindexLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface ReindexOptions {
  /** The database the documents come from (a pool; one connection is used at a time). */
  sql: postgres.Sql;
  /** A typesense-js client; use {@link openTypesense} for one with the client's own retries off. */
  client: Client;
  /** Collection specs (default {@link DEFAULT_COLLECTION_SPECS}). */
  specs?: readonly CollectionSpec[];
  /** Names of the specs to rebuild, in that order (default: all of them). */
  collections?: readonly string[];
  /** Documents per import request, and rows per cursor fetch (default 1000). */
  batchSize?: number;
  /** Failed documents tolerated per collection before giving up without swapping (default 0). */
  maxFailures?: number;
  /** Backoff for transient Typesense failures (default {@link DEFAULT_RETRY_POLICY}). */
  retry?: Partial<RetryPolicy>;
  /** Deadline of one import attempt (default 300 s); a stalled import is abandoned and retried. */
  importTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: ReindexProgressCallback;
  logger?: ReindexLogger;
  /** Clock for the `<name>_<timestamp>` collection names. */
  now?: () => Date;
}

/** What happened to one collection. */
export interface CollectionReindexResult {
  /** The alias searches use (the spec name). */
  name: string;
  /** The collection the alias now points to, e.g. `components_20261126T093000123Z`. */
  collection: string;
  /** Real names of the collections that served `name` before, dropped after the swap. */
  previous: string[];
  /** Previous collections that could not be dropped (the next reindex removes them as leftovers). */
  notDropped: string[];
  /** `name` was a plain collection and is now an alias (first run). */
  migrated: boolean;
  /** First run only: upper bound of the time searches on `name` could get 404 (from the DELETE sent to the alias PUT answered). */
  migrationGapMs?: number;
  /** `<name>_<timestamp>` collections of earlier, interrupted runs that were dropped. */
  leftoversDropped: string[];
  rows: number;
  documents: number;
  failedCount: number;
  failures: DocumentFailure[];
  /** Typesense requests retried. */
  retries: number;
  seconds: number;
}

export interface ReindexResult {
  collections: CollectionReindexResult[];
  seconds: number;
}

const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_IMPORT_TIMEOUT_MS = 300_000;
/** Cleanup after a failure is best effort: the next run removes whatever it leaves. */
const CLEANUP_RETRY: Readonly<RetryPolicy> = { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 1000, maxElapsedMs: 5000 };

/**
 * Rebuilds Typesense collections from PostgreSQL with zero downtime, one after the other: for each spec, the
 * rows of its query go into a new `<name>_<timestamp>` collection; every import line is checked and the
 * document count compared with the row count; only then is the alias `<name>` repointed (atomically), and the
 * collection it pointed to dropped by its real name. Any failure before the swap drops the new collection
 * and leaves the alias serving the old one. A first run over a plain collection named `<name>` migrates it to
 * an alias (see {@link reindexCollection}). Specs and their queries are checked before anything is written.
 */
export async function reindexCollections(options: ReindexOptions): Promise<ReindexResult> {
  const started = Date.now();
  const specs = selectSpecs(options.specs ?? DEFAULT_COLLECTION_SPECS, options.collections);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxFailures = options.maxFailures ?? 0;
  if (!Number.isInteger(maxFailures) || maxFailures < 0) throw new RangeError(`maxFailures must be a non-negative integer, got ${maxFailures}`);
  await checkQueries(options.sql, specs, options.signal);

  const meter = new ReindexMeter(options.onProgress, specs.length);
  let retries = 0;
  const server = new SearchServer({
    client: options.client,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    importTimeoutMs: options.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS,
    signal: options.signal,
    onRetry: (event: RetryEvent) => {
      retries++;
      options.logger?.warn({ ...event }, `retrying: ${event.what}`);
      // a progress event per retry: a job riding out a 503 storm is busy, not stalled (STALL_TIMEOUT_SECONDS)
      meter.note(`retrying ${event.what} (attempt ${event.attempt + 1}): ${event.error}`);
    },
  });
  const results: CollectionReindexResult[] = [];
  for (const spec of specs) {
    const before = retries;
    const result = await reindexCollection({ ...options, spec, server, meter, batchSize, maxFailures });
    results.push({ ...result, retries: retries - before });
    meter.idle();
  }
  return { collections: results, seconds: (Date.now() - started) / 1000 };
}

interface CollectionInput extends ReindexOptions {
  spec: CollectionSpec;
  server: SearchServer;
  meter: ReindexMeter;
  batchSize: number;
  maxFailures: number;
}

/**
 * One collection's lifecycle: inspect → drop leftovers → create `<name>_<timestamp>` → fill → verify →
 * swap → drop the old collection.
 *
 * First-run migration: Typesense refuses an alias whose name a real collection holds (500, contract §1.5), so
 * a plain collection `<name>` must be dropped before `PUT /aliases/<name>`. The new collection is complete and
 * verified first, and the DELETE and the PUT are sent back to back, so searches on `<name>` miss (404) only
 * for those two requests; this is the one unavoidable gap, and it happens once. If the PUT then fails, the
 * new collection is kept (it is the only copy) and SEARCH_INDEX_SWAP_FAILED says so.
 */
async function reindexCollection(input: CollectionInput): Promise<Omit<CollectionReindexResult, 'retries'>> {
  const { spec, server, meter, logger, signal } = input;
  const started = Date.now();
  const log = (message: string, details: Record<string, unknown> = {}) => logger?.info({ collection: spec.name, ...details }, message);

  throwIfCancelled(signal);
  const aliasTarget = await server.aliasTarget(spec.name);
  const names = await server.collectionNames();
  const plain = names.includes(spec.name);
  const leftoverPattern = new RegExp(`^${escapeRegExp(spec.name)}_\\d{8}T\\d{9}Z$`);
  const leftovers = names.filter((n) => leftoverPattern.test(n) && n !== aliasTarget);
  const leftoversDropped: string[] = [];
  for (const leftover of leftovers) {
    if (await server.dropCollection(leftover)) leftoversDropped.push(leftover);
  }
  if (leftoversDropped.length > 0) log('dropped leftover collections of interrupted runs', { leftovers: leftoversDropped });

  const collection = await createTarget(server, spec, input.now ?? (() => new Date()));
  log('created collection', { target: collection });
  const cleanup = async (error: unknown): Promise<never> => {
    try {
      await server.withSignal(undefined).dropCollection(collection, CLEANUP_RETRY);
    } catch (dropError) {
      logger?.warn({ collection: spec.name, target: collection, error: describeError(dropError) }, 'could not drop the new collection; the next reindex will');
      if (error instanceof SearchIndexError && error.details) error.details.leftover = collection;
    }
    throw error;
  };

  let build;
  try {
    build = await buildCollection({ sql: input.sql, server, spec, collection, batchSize: input.batchSize, maxFailures: input.maxFailures, meter, signal });
    const expected = build.rows - build.failedCount;
    const counted = await server.documentCount(collection);
    if (build.rowsRead !== build.rows || counted !== expected || build.imported !== expected) {
      throw new SearchIndexError(
        'SEARCH_INDEX_COUNT_MISMATCH',
        `${spec.name}: ${collection} holds ${counted} documents, expected ${expected} (${build.rows} rows, ${build.rowsRead} read, ${build.failedCount} failed, ${build.imported} accepted)`,
        { details: { collection: spec.name, target: collection, rows: build.rows, rowsRead: build.rowsRead, failedCount: build.failedCount, imported: build.imported, documents: counted } },
      );
    }
    throwIfCancelled(signal);
  } catch (error) {
    return cleanup(error);
  }

  // The swap. From here on the new collection is never dropped: it may already be live.
  meter.note(`${spec.name}: pointing the alias at ${collection}`);
  let migrationGapMs: number | undefined;
  try {
    if (plain) {
      const gapStarted = performance.now();
      await server.dropCollection(spec.name);
      await server.pointAlias(spec.name, collection);
      migrationGapMs = Math.round((performance.now() - gapStarted) * 10) / 10;
      log('migrated a plain collection to an alias', { target: collection, migrationGapMs });
    } else {
      await server.pointAlias(spec.name, collection);
    }
  } catch (error) {
    throw new SearchIndexError(
      'SEARCH_INDEX_SWAP_FAILED',
      plain
        ? `${spec.name}: could not replace the plain collection "${spec.name}" by an alias to the complete collection ${collection} (${describeError(error)}); run the reindex again, or PUT /aliases/${spec.name} {"collection_name":"${collection}"}`
        : `${spec.name}: could not point the alias at ${collection}; the alias still serves ${aliasTarget ?? 'nothing'} (${describeError(error)})`,
      { cause: error, details: { collection: spec.name, target: collection, previous: aliasTarget ?? null, plain } },
    );
  }

  const previous = [aliasTarget].filter((n): n is string => n !== undefined && n !== collection && n !== spec.name);
  if (plain) previous.unshift(spec.name);
  const notDropped: string[] = [];
  for (const old of previous) {
    if (old === spec.name) continue; // the plain collection, dropped during the swap
    try {
      await server.withSignal(undefined).dropCollection(old);
    } catch (error) {
      notDropped.push(old);
      logger?.warn({ collection: spec.name, previous: old, error: describeError(error) }, 'could not drop the previous collection; the next reindex will');
    }
  }
  meter.finish(`${spec.name}: ${build.imported.toLocaleString('en-US')} documents live in ${collection}`);
  log('reindexed', { target: collection, previous, documents: build.imported, failed: build.failedCount });
  return {
    name: spec.name,
    collection,
    previous,
    notDropped,
    migrated: plain,
    ...(migrationGapMs === undefined ? {} : { migrationGapMs }),
    leftoversDropped,
    rows: build.rows,
    documents: build.imported,
    failedCount: build.failedCount,
    failures: build.failures,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Creates `<name>_<timestamp>`, moving on by a millisecond when a concurrent run took the name. */
async function createTarget(server: SearchServer, spec: CollectionSpec, now: () => Date): Promise<string> {
  let time = now().getTime();
  for (let i = 0; i < 5; i++, time++) {
    const name = `${spec.name}_${collectionTimestamp(new Date(time))}`;
    if (await server.createCollection(collectionSchema(spec, name))) return name;
  }
  throw new SearchIndexError('SEARCH_INDEX_REQUEST_REJECTED', `${spec.name}: could not create a new collection: every name tried already exists`);
}

/** `2026-11-26T09:30:00.123Z` → `20261126T093000123Z` */
export function collectionTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** The Typesense schema of a spec under a given collection name. */
export function collectionSchema(spec: CollectionSpec, name: string): CollectionCreateSchema {
  const fields = spec.fields.map(
    (field): CollectionFieldSchema => ({
      name: field.name,
      type: field.type,
      ...(field.optional === undefined ? {} : { optional: field.optional }),
      ...(field.facet === undefined ? {} : { facet: field.facet }),
      ...(field.sort === undefined ? {} : { sort: field.sort }),
      ...(field.index === undefined ? {} : { index: field.index }),
      ...(field.infix === undefined ? {} : { infix: field.infix }),
      ...(field.locale === undefined ? {} : { locale: field.locale }),
    }),
  );
  return {
    name,
    fields,
    ...(spec.defaultSortingField === undefined ? {} : { default_sorting_field: spec.defaultSortingField }),
    ...(spec.tokenSeparators === undefined ? {} : { token_separators: spec.tokenSeparators }),
    ...(spec.symbolsToIndex === undefined ? {} : { symbols_to_index: spec.symbolsToIndex }),
  };
}

function selectSpecs(specs: readonly CollectionSpec[], names: readonly string[] | undefined): CollectionSpec[] {
  assertValidSpecs(specs);
  if (names === undefined) return [...specs];
  const unknown = names.filter((name) => !specs.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    throw new SearchIndexError('SEARCH_INDEX_UNKNOWN_COLLECTION', `no spec for collection${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (known: ${specs.map((s) => s.name).join(', ')})`, {
      details: { unknown, known: specs.map((s) => s.name) },
    });
  }
  return [...new Set(names)].map((name) => specs.find((spec) => spec.name === name) as CollectionSpec);
}

/**
 * Checks, before anything is written, that every spec query runs and returns the id column and every field's
 * column; all problems are reported at once as SEARCH_INDEX_SPEC_INVALID.
 */
async function checkQueries(sql: postgres.Sql, specs: readonly CollectionSpec[], signal: AbortSignal | undefined): Promise<void> {
  const problems: string[] = [];
  for (const [i, spec] of specs.entries()) {
    throwIfCancelled(signal);
    const at = `collections[${i}] (${spec.name})`;
    let columns: string[];
    try {
      const described = await sql.unsafe(specQuery(spec)).describe();
      columns = (described.columns ?? []).map((c) => c.name);
    } catch (error) {
      if (!(error instanceof Error) || typeof (error as { errno?: unknown }).errno === 'number') {
        throw new SearchIndexError('SEARCH_INDEX_QUERY_FAILED', `cannot reach the database: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      problems.push(`${at}.query: ${error.message}`);
      continue;
    }
    const missing = (what: string, column: string) => problems.push(`${at}.${what}: the query returns no column "${column}" (it returns ${columns.join(', ') || 'no columns'})`);
    if (!columns.includes(idColumn(spec))) missing('idColumn', idColumn(spec));
    spec.fields.forEach((field, j) => {
      if (!columns.includes(fieldColumn(field))) missing(`fields[${j}] (${field.name})`, fieldColumn(field));
    });
  }
  if (problems.length > 0) {
    throw new SearchIndexError('SEARCH_INDEX_SPEC_INVALID', `collection specs do not match the database (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
