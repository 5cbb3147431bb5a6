import { codedError } from '@mbsync/errors';
/** Every failure the search-index package reports carries one of these codes; the api maps them to HTTP statuses. */
export type SearchIndexErrorCode =
  /** a collection spec (default or user-supplied) is invalid; `details.problems` lists every problem */
  | 'SEARCH_INDEX_SPEC_INVALID'
  /** `collections` names a collection that has no spec */
  | 'SEARCH_INDEX_UNKNOWN_COLLECTION'
  /** Typesense stayed unreachable or answered 5xx/429 after every retry (transient: the job may be retried) */
  | 'SEARCH_INDEX_UNAVAILABLE'
  /** Typesense refused a request for good (400, 401, 404, 409, 422): bad key, schema rejected, … */
  | 'SEARCH_INDEX_REQUEST_REJECTED'
  /** an import answered something that is not one result line per document */
  | 'SEARCH_INDEX_INVALID_RESPONSE'
  /** more documents failed (conversion or import) than `maxFailures` allows; `details.failures` has ids and errors */
  | 'SEARCH_INDEX_DOCUMENTS_FAILED'
  /** the new collection does not hold as many documents as the query returned rows */
  | 'SEARCH_INDEX_COUNT_MISMATCH'
  /** the spec's SQL query failed */
  | 'SEARCH_INDEX_QUERY_FAILED'
  /** the alias could not be pointed at the new collection (after a first-run migration: see `details`) */
  | 'SEARCH_INDEX_SWAP_FAILED'
  /** a collection cannot be updated by id (its alias moved, its count is off): it is rebuilt instead */
  | 'SEARCH_INDEX_UPDATE_REFUSED'
  /** the AbortSignal fired */
  | 'SEARCH_INDEX_CANCELLED';

/** Base class for the search-index package's errors. Messages never contain API keys or connection strings. */
export class SearchIndexError extends codedError<SearchIndexErrorCode>('SearchIndexError') {}

/** Throws SEARCH_INDEX_CANCELLED when the signal has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SearchIndexError('SEARCH_INDEX_CANCELLED', 'reindex cancelled');
}
