import type postgres from 'postgres';
import type { Client, CollectionCreateSchema, CollectionFieldSchema } from 'typesense';
import { buildCollection, type DocumentFailure } from './collection-build.js';
import { specHash, type DocumentsFingerprint } from './collection-record.js';
import { DEFAULT_COLLECTION_SPECS } from './collections/default-specs.js';
import { SearchIndexError, throwIfCancelled } from './errors.js';
import { ReindexMeter, type ReindexProgressCallback } from './progress.js';
import { DEFAULT_RETRY_POLICY, describeError, type RetryEvent, type RetryPolicy } from './retry.js';
import { SearchServer } from './search-server.js';
import { assertValidSpecs } from './spec-schema.js';
import { fieldColumn, idColumn, specQuery, type CollectionSpec } from './spec.js';

/** A pino-compatible logger (`logger.info({ … }, 'message')`); the job's own bindings (jobId, source, target) are never overridden: a collection is `collection`, its physical name `physical`. */
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
  /** Also return each collection's rows as count and hash sum, read in the documents' snapshot (for its record). */
  fingerprint?: boolean;
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
  /** with `fingerprint`: the rows the documents came from (a target's record of the collection) */
  fingerprint?: DocumentsFingerprint;
  /** with `fingerprint`: the hash of the spec it was built with */
  specHash?: string;
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
 * Rebuilds Typesense collections from PostgreSQL with zero downtime, and moves their aliases together: first every
 * spec's rows go into a new `<name>_<timestamp>` collection, each checked line by line and counted against its
 * rows; only when ALL are complete are the aliases `<name>` repointed (each atomically, one after the other), and
 * the collections they pointed to dropped by their real names. Any failure before the swap drops every new
 * collection and leaves every alias serving the old one; an alias that cannot be moved puts back those already
 * moved (see {@link swapAliases}), so searches never see one collection new and another old. A first run over a
 * plain collection named `<name>` migrates it to an alias. Specs and their queries are checked before anything
 * is written. The signal is honoured until the swap starts; the swap itself is not interrupted.
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
  const built: BuiltCollection[] = [];
  try {
    for (const spec of specs) {
      const before = retries;
      const one = await buildNewCollection({ ...options, spec, server, meter, batchSize, maxFailures });
      built.push({ ...one, retries: retries - before });
      meter.idle();
    }
    throwIfCancelled(options.signal);
  } catch (error) {
    return dropBuilt(server, built, options.logger, error);
  }
  const before = retries;
  await swapAliases(server, built, meter, options.logger);
  const swapRetries = retries - before;
  const results: CollectionReindexResult[] = [];
  for (const one of built) results.push(await dropPrevious(server, one, options.logger));
  // the swap's own retries are counted on the first collection (they are few, and not one collection's)
  if (results[0]) results[0].retries += swapRetries;
  meter.note(`${results.length} alias${results.length === 1 ? '' : 'es'} moved: ${results.map((r) => `${r.name} → ${r.collection}`).join(', ')}`);
  return { collections: results, seconds: (Date.now() - started) / 1000 };
}

interface CollectionInput extends ReindexOptions {
  spec: CollectionSpec;
  server: SearchServer;
  meter: ReindexMeter;
  batchSize: number;
  maxFailures: number;
}

/** A new collection, complete and checked, not yet behind its alias. */
interface BuiltCollection extends Omit<CollectionReindexResult, 'previous' | 'notDropped' | 'migrated' | 'migrationGapMs'> {
  /** where the alias pointed before (undefined: no alias yet) */
  aliasTarget: string | undefined;
  /** `name` is a plain collection, replaced by the alias on the swap (first run) */
  plain: boolean;
  migrationGapMs?: number;
  /** the alias now points to `collection` */
  swapped?: boolean;
}

/**
 * One collection up to the swap: inspect → drop leftovers → create `<name>_<timestamp>` → fill → verify. On
 * failure the new collection is dropped again and the alias was never touched.
 */
async function buildNewCollection(input: CollectionInput): Promise<Omit<BuiltCollection, 'retries'>> {
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
  log('created collection', { physical: collection });
  try {
    const build = await buildCollection({ sql: input.sql, server, spec, collection, batchSize: input.batchSize, maxFailures: input.maxFailures, meter, signal, fingerprint: input.fingerprint });
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
    meter.finish(`${spec.name}: ${build.imported.toLocaleString('en-US')} documents ready in ${collection}`);
    log('built', { physical: collection, documents: build.imported, failed: build.failedCount });
    return {
      name: spec.name,
      collection,
      aliasTarget,
      plain,
      leftoversDropped,
      rows: build.rows,
      documents: build.imported,
      failedCount: build.failedCount,
      failures: build.failures,
      seconds: (Date.now() - started) / 1000,
      ...(build.fingerprint ? { fingerprint: build.fingerprint, specHash: specHash(spec) } : {}),
    };
  } catch (error) {
    return dropBuilt(server, [{ name: spec.name, collection }], logger, error);
  }
}

/**
 * Drops new collections that will not go live (best effort, after the reindex's own signal may have fired) and
 * rethrows `error`; a collection that could not be dropped is named in the error's details (`leftover`), and the
 * next reindex drops it.
 */
async function dropBuilt(server: SearchServer, built: readonly Pick<BuiltCollection, 'name' | 'collection'>[], logger: ReindexLogger | undefined, error: unknown): Promise<never> {
  for (const one of built) {
    try {
      await server.withSignal(undefined).dropCollection(one.collection, CLEANUP_RETRY);
    } catch (dropError) {
      logger?.warn({ collection: one.name, physical: one.collection, error: describeError(dropError) }, 'could not drop the new collection; the next reindex will');
      if (error instanceof SearchIndexError && error.details) error.details.leftover = one.collection;
    }
  }
  throw error;
}

/**
 * Points every alias at its new collection. Aliases that already exist are moved first (each PUT is atomic and
 * can be undone); first-run migrations of plain collections come last, because a dropped plain collection cannot
 * be brought back. Runs without the signal: stopping half way would leave the set split.
 *
 * If an alias cannot be moved, the aliases already moved are put back where they pointed (a new alias is
 * deleted), the new collections are dropped, and SEARCH_INDEX_SWAP_FAILED says so (`details.rolledBack`). A
 * failed migration keeps its new collection (the plain one is gone): the error says how to finish by hand.
 */
async function swapAliases(server: SearchServer, built: BuiltCollection[], meter: ReindexMeter, logger: ReindexLogger | undefined): Promise<void> {
  const swap = server.withSignal(undefined);
  const order = [...built.filter((b) => !b.plain), ...built.filter((b) => b.plain)];
  meter.note(`moving ${order.length} alias${order.length === 1 ? '' : 'es'} together`);
  for (const one of order) {
    try {
      if (one.plain) {
        const gapStarted = performance.now();
        await swap.dropCollection(one.name);
        await swap.pointAlias(one.name, one.collection);
        one.migrationGapMs = Math.round((performance.now() - gapStarted) * 10) / 10;
        logger?.info({ collection: one.name, physical: one.collection, migrationGapMs: one.migrationGapMs }, 'migrated a plain collection to an alias');
      } else {
        await swap.pointAlias(one.name, one.collection);
      }
      one.swapped = true;
    } catch (error) {
      const moved = order.filter((b) => b.swapped && !b.plain);
      const undone = await rollBackAliases(swap, moved, logger);
      const stuck = moved.filter((b) => !undone.includes(b.name)).map((b) => b.name);
      const failure = new SearchIndexError(
        'SEARCH_INDEX_SWAP_FAILED',
        one.plain
          ? `${one.name}: could not replace the plain collection "${one.name}" by an alias to the complete collection ${one.collection} (${describeError(error)}); run the reindex again, or PUT /aliases/${one.name} {"collection_name":"${one.collection}"}`
          : `${one.name}: could not point the alias at ${one.collection} (${describeError(error)}); ${stuck.length === 0 ? 'every alias still serves its previous collection' : `aliases that could not be put back: ${stuck.join(', ')}`}`,
        { cause: error, details: { collection: one.name, target: one.collection, previous: one.aliasTarget ?? null, plain: one.plain, rolledBack: stuck.length === 0, movedBack: undone } },
      );
      // kept: collections an alias still points to (migrations, failed put-backs) and a failed migration's own
      const live = (b: BuiltCollection) => (b.swapped === true && !undone.includes(b.name)) || (b === one && b.plain);
      return dropBuilt(server, built.filter((b) => !live(b)), logger, failure);
    }
  }
}

/** Points each moved alias back where it pointed before (a new alias is deleted); returns the names put back. */
async function rollBackAliases(server: SearchServer, moved: readonly BuiltCollection[], logger: ReindexLogger | undefined): Promise<string[]> {
  const undone: string[] = [];
  for (const one of moved) {
    try {
      if (one.aliasTarget === undefined) await server.deleteAlias(one.name, CLEANUP_RETRY);
      else await server.pointAlias(one.name, one.aliasTarget, CLEANUP_RETRY);
      undone.push(one.name);
    } catch (error) {
      logger?.warn({ collection: one.name, physical: one.collection, error: describeError(error) }, 'could not put the alias back');
    }
  }
  return undone;
}

/** After the swap: the collections that served `name` before are dropped by their real names (best effort). */
async function dropPrevious(server: SearchServer, one: BuiltCollection, logger: ReindexLogger | undefined): Promise<CollectionReindexResult> {
  const previous = [one.aliasTarget].filter((n): n is string => n !== undefined && n !== one.collection && n !== one.name);
  if (one.plain) previous.unshift(one.name);
  const notDropped: string[] = [];
  for (const old of previous) {
    if (old === one.name) continue; // the plain collection, dropped during the swap
    try {
      await server.withSignal(undefined).dropCollection(old);
    } catch (error) {
      notDropped.push(old);
      logger?.warn({ collection: one.name, previous: old, error: describeError(error) }, 'could not drop the previous collection; the next reindex will');
    }
  }
  logger?.info({ collection: one.name, physical: one.collection, previous, documents: one.documents, failed: one.failedCount }, 'reindexed');
  return {
    name: one.name,
    collection: one.collection,
    previous,
    notDropped,
    migrated: one.plain,
    ...(one.migrationGapMs === undefined ? {} : { migrationGapMs: one.migrationGapMs }),
    leftoversDropped: one.leftoversDropped,
    rows: one.rows,
    documents: one.documents,
    failedCount: one.failedCount,
    failures: one.failures,
    retries: one.retries,
    seconds: one.seconds,
    ...(one.fingerprint ? { fingerprint: one.fingerprint, specHash: one.specHash! } : {}),
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
