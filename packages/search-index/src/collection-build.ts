import postgres from 'postgres';
import { fingerprintSql, type DocumentsFingerprint } from './collection-record.js';
import { createDocumentMapper } from './documents.js';
import { SearchIndexError, throwIfCancelled } from './errors.js';
import type { ReindexMeter } from './progress.js';
import type { SearchServer } from './search-server.js';
import { specQuery, type CollectionSpec } from './spec.js';

/** A row that did not become a document: its id (null when the id itself was unusable) and why. */
export interface DocumentFailure {
  id: string | null;
  /** `convert`: the row could not be turned into a document; `import`: Typesense refused the line. */
  stage: 'convert' | 'import';
  /** Typesense's per-line code (400, 409, …) for `import` failures. */
  code?: number;
  error: string;
}

export interface BuildInput {
  sql: postgres.Sql;
  server: SearchServer;
  spec: CollectionSpec;
  /** Real name of the collection being filled. */
  collection: string;
  batchSize: number;
  maxFailures: number;
  meter: ReindexMeter;
  signal?: AbortSignal | undefined;
  /** also sum the rows' hashes in the snapshot the documents are read in (what a by-id update later starts from) */
  fingerprint?: boolean | undefined;
}

export interface BuildResult {
  /** count(*) of the spec query, taken in the same snapshot as the rows. */
  rows: number;
  /** Rows read through the cursor (equal to `rows`). */
  rowsRead: number;
  /** Documents Typesense accepted. */
  imported: number;
  failedCount: number;
  /** The first {@link MAX_REPORTED_FAILURES} failures. */
  failures: DocumentFailure[];
  batches: number;
  /** with `fingerprint`: the rows read, as count and hash sum */
  fingerprint?: DocumentsFingerprint;
}

/** Failures kept in results and errors: enough to act on, bounded in memory. */
export const MAX_REPORTED_FAILURES = 100;

/**
 * Streams the spec query through a cursor (one REPEATABLE READ READ ONLY snapshot, so the count and the rows
 * agree) and imports the documents batch by batch. One batch is in flight while the next is read and
 * converted: memory holds at most two batches. Aborts with SEARCH_INDEX_DOCUMENTS_FAILED as soon as more
 * documents failed than `maxFailures` allows.
 */
export async function buildCollection(input: BuildInput): Promise<BuildResult> {
  const { spec, collection, meter } = input;
  // stops an import still in flight (and its retries) when the build fails
  const stop = new AbortController();
  const signal = input.signal ? AbortSignal.any([input.signal, stop.signal]) : stop.signal;
  const server = input.server.withSignal(signal);
  const mapper = createDocumentMapper(spec);
  const query = specQuery(spec);
  const result: BuildResult = { rows: 0, rowsRead: 0, imported: 0, failedCount: 0, failures: [], batches: 0 };

  const fail = (failure: DocumentFailure): void => {
    result.failedCount++;
    if (result.failures.length < MAX_REPORTED_FAILURES) result.failures.push(failure);
  };
  const checkFailures = (): void => {
    if (result.failedCount > input.maxFailures) throw documentsFailed(spec.name, result, input.maxFailures);
  };
  const importBatch = async (lines: string[], ids: string[]): Promise<void> => {
    const { results, attempts } = await server.importLines(collection, lines);
    results.forEach((line, i) => {
      // a retried batch meets its own earlier writes whose answer was lost: 409 then means "already imported"
      if (line.success || (line.code === 409 && attempts > 1)) result.imported++;
      else fail({ id: ids[i] ?? null, stage: 'import', ...(line.code === undefined ? {} : { code: line.code }), error: line.error ?? 'import failed' });
    });
    result.batches++;
    meter.advance(lines.length);
    checkFailures();
  };

  try {
    await input.sql.begin('isolation level repeatable read read only', async (tx) => {
      if (input.fingerprint) {
        const [summed] = await pg(spec, signal, () => tx.unsafe<{ rows: string; checksum: string }[]>(fingerprintSql(query)));
        result.fingerprint = { rows: Number(summed?.rows ?? 0), checksum: summed?.checksum ?? '0' };
        result.rows = result.fingerprint.rows;
      } else {
        const [counted] = await pg(spec, signal, () => tx.unsafe<{ count: string }[]>(`SELECT pg_catalog.count(*) AS count FROM (${query}) AS q`));
        result.rows = Number(counted?.count ?? 0);
      }
      meter.start(spec.name, result.rows);

      const cursorQuery = tx.unsafe<Record<string, unknown>[]>(query);
      const rows = cursorQuery.cursor(input.batchSize)[Symbol.asyncIterator]();
      const onAbort = () => void cursorQuery.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      let inFlight: Promise<void> | undefined;
      const settle = async () => {
        const pending = inFlight;
        inFlight = undefined;
        await pending;
      };
      try {
        for (;;) {
          const step = await pg(spec, signal, () => rows.next());
          if (step.done === true) break;
          const lines: string[] = [];
          const ids: string[] = [];
          for (const row of step.value) {
            const converted = mapper(row);
            if (converted.ok) {
              lines.push(converted.json);
              ids.push(converted.id);
            } else {
              fail({ id: converted.id, stage: 'convert', error: converted.error });
            }
          }
          result.rowsRead += step.value.length;
          meter.advance(step.value.length - lines.length);
          checkFailures();
          await settle();
          if (lines.length > 0) {
            inFlight = importBatch(lines, ids);
            inFlight.catch(() => {}); // awaited by settle(); this only keeps it from counting as unhandled meanwhile
          }
        }
        await settle();
      } finally {
        signal.removeEventListener('abort', onAbort);
        // closes the cursor when we stop early (postgres.js's return() is synchronous)
        void rows.return?.();
      }
    });
  } catch (error) {
    throwIfCancelled(input.signal);
    if (error instanceof SearchIndexError) throw error;
    if (isDatabaseError(error)) throw queryFailed(spec, error);
    throw error;
  } finally {
    stop.abort();
  }
  return result;
}

/** Runs one database step; its failure becomes SEARCH_INDEX_QUERY_FAILED (or CANCELLED when we cancelled it). */
async function pg<T>(spec: CollectionSpec, signal: AbortSignal, step: () => PromiseLike<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throwIfCancelled(signal);
    throw queryFailed(spec, error);
  }
}

function queryFailed(spec: CollectionSpec, error: unknown): SearchIndexError {
  const message = error instanceof Error ? error.message : String(error);
  return new SearchIndexError('SEARCH_INDEX_QUERY_FAILED', `${spec.name}: the spec query failed: ${message}`, {
    cause: error,
    details: { collection: spec.name, ...(error instanceof postgres.PostgresError ? { sqlState: error.code } : {}) },
  });
}

/** A server error or a connection failure (errno codes such as ECONNREFUSED). */
function isDatabaseError(error: unknown): boolean {
  return error instanceof postgres.PostgresError || (error instanceof Error && typeof (error as { errno?: unknown }).errno === 'number');
}

function documentsFailed(name: string, result: BuildResult, maxFailures: number): SearchIndexError {
  const sample = result.failures.slice(0, 5).map((f) => `id ${f.id ?? '(none)'}: ${f.error}`).join('; ');
  const more = result.failedCount > 5 ? `; … (${result.failedCount - 5} more)` : '';
  return new SearchIndexError(
    'SEARCH_INDEX_DOCUMENTS_FAILED',
    `${name}: ${result.failedCount} document${result.failedCount === 1 ? '' : 's'} failed, more than the ${maxFailures} allowed (${sample}${more})`,
    { details: { collection: name, failedCount: result.failedCount, maxFailures, failures: result.failures } },
  );
}
