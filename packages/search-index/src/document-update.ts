import type postgres from 'postgres';
import type { Client } from 'typesense';
import { forgetCollectionRecord, writeCollectionRecord } from './collection-record.js';
import type { DocumentUpdate } from './document-changes.js';
import { SearchIndexError, throwIfCancelled } from './errors.js';
import type { ReindexLogger } from './reindex.js';
import { DEFAULT_RETRY_POLICY, type RetryEvent, type RetryPolicy } from './retry.js';
import { SearchServer } from './search-server.js';

export interface DocumentUpdateOptions {
  /** the target database: its record of the collection is removed before the first write, written again after the last */
  sql: postgres.Sql;
  client: Client;
  update: DocumentUpdate;
  /** documents per import request (default 1000) */
  batchSize?: number;
  retry?: Partial<RetryPolicy>;
  /** deadline of one import attempt (default 300 s) */
  importTimeoutMs?: number;
  signal?: AbortSignal | undefined;
  logger?: ReindexLogger | undefined;
  /** a message per request batch and per retry (a job riding out a 503 storm is busy, not stalled) */
  onProgress?: ((message: string) => void) | undefined;
}

/** What a by-id update did to one collection. */
export interface DocumentUpdateResult {
  name: string;
  /** the physical collection updated (the alias still points at it) */
  collection: string;
  upserted: number;
  deleted: number;
  /** documents in the collection afterwards */
  documents: number;
  retries: number;
  seconds: number;
}

/**
 * Brings the collection behind `update.name` up to date in place: upserts the changed documents and deletes the
 * vanished ones, the alias left where it is. Only when the alias still points at the collection the record names and
 * that collection holds as many documents as the rows it was built from; then the record is removed (a half-updated
 * collection must never match it), the documents written (each request retried per the policy), the count checked
 * against the rows now, and the record written again. Throws SEARCH_INDEX_UPDATE_REFUSED when the collection is not
 * the one recorded, SEARCH_INDEX_DOCUMENTS_FAILED when Typesense refuses a document, SEARCH_INDEX_COUNT_MISMATCH
 * when the count is off afterwards: the caller rebuilds the collection then.
 */
export async function updateCollectionDocuments(options: DocumentUpdateOptions): Promise<DocumentUpdateResult> {
  const started = Date.now();
  const { update, signal, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  let retries = 0;
  const server = new SearchServer({
    client: options.client,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    importTimeoutMs: options.importTimeoutMs ?? 300_000,
    signal,
    onRetry: (event: RetryEvent) => {
      retries++;
      logger?.warn({ ...event }, `retrying: ${event.what}`);
      options.onProgress?.(`retrying ${event.what} (attempt ${event.attempt + 1}): ${event.error}`);
    },
  });
  throwIfCancelled(signal);
  const live = await server.aliasTarget(update.name);
  if (live !== update.collection) {
    throw new SearchIndexError('SEARCH_INDEX_UPDATE_REFUSED', `${update.name}: the alias points at ${live ?? 'nothing'}, not at ${update.collection}, the collection last built or updated from the target`, {
      details: { collection: update.name, alias: live ?? null, recorded: update.collection },
    });
  }
  const counted = await server.documentCount(update.collection);
  if (counted !== update.before.rows) {
    throw new SearchIndexError('SEARCH_INDEX_UPDATE_REFUSED', `${update.name}: ${update.collection} holds ${counted} documents, but was built from ${update.before.rows} rows`, {
      details: { collection: update.name, documents: counted, rows: update.before.rows },
    });
  }
  if (update.upserts.length > 0 || update.deletes.length > 0) await forgetCollectionRecord(options.sql, update.name);
  for (let i = 0; i < update.upserts.length; i += batchSize) {
    throwIfCancelled(signal);
    const lines = update.upserts.slice(i, i + batchSize);
    const { results } = await server.importLines(update.collection, lines, undefined, 'upsert');
    options.onProgress?.(`${update.name}: ${Math.min(i + batchSize, update.upserts.length)} of ${update.upserts.length} documents upserted`);
    const failed = results.map((r, j) => ({ r, line: lines[j]! })).filter(({ r }) => !r.success);
    if (failed.length > 0) {
      const sample = failed.slice(0, 5).map(({ r, line }) => `id ${idOf(line)}: ${r.error ?? 'import failed'}`).join('; ');
      throw new SearchIndexError('SEARCH_INDEX_DOCUMENTS_FAILED', `${update.name}: Typesense refused ${failed.length} changed document${failed.length === 1 ? '' : 's'} (${sample})`, {
        details: { collection: update.name, failedCount: failed.length },
      });
    }
  }
  throwIfCancelled(signal);
  if (update.deletes.length > 0) await server.deleteDocuments(update.collection, update.deletes);
  const documents = await server.documentCount(update.collection);
  if (documents !== update.after.rows) {
    throw new SearchIndexError('SEARCH_INDEX_COUNT_MISMATCH', `${update.name}: ${update.collection} holds ${documents} documents after the update, expected ${update.after.rows}`, {
      details: { collection: update.name, target: update.collection, documents, rows: update.after.rows },
    });
  }
  const recorded = await writeCollectionRecord(options.sql, { name: update.name, collection: update.collection, specHash: update.specHash, ...update.after });
  if (!recorded) logger?.warn({ collection: update.name }, 'could not record what the collection holds; the next sync rebuilds it');
  logger?.info({ collection: update.name, physical: update.collection, upserted: update.upserts.length, deleted: update.deletes.length, documents }, 'updated by id');
  return { name: update.name, collection: update.collection, upserted: update.upserts.length, deleted: update.deletes.length, documents, retries, seconds: (Date.now() - started) / 1000 };
}

function idOf(line: string): string {
  return /^\{"id":("(?:[^"\\]|\\.)*")/.exec(line)?.[1] ?? '(unknown)';
}
