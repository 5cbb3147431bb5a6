/** Zero-downtime Typesense reindex from PostgreSQL: collection specs, row → document conversion, alias swap. */
export { reindexCollections, collectionSchema, collectionTimestamp } from './reindex.js';
export type { CollectionReindexResult, ReindexLogger, ReindexOptions, ReindexResult } from './reindex.js';
export { MAX_REPORTED_FAILURES } from './collection-build.js';
export { DEFAULT_DOCUMENT_CHANGE_LIMITS, trackDocumentChanges } from './document-changes.js';
export type { DocumentChangeLimits, DocumentChangeOptions, DocumentChangeTracker, DocumentChanges, DocumentRebuild, DocumentUpdate } from './document-changes.js';
export { updateCollectionDocuments } from './document-update.js';
export type { DocumentUpdateOptions, DocumentUpdateResult } from './document-update.js';
export { readCollectionRecords, specHash, writeCollectionRecord } from './collection-record.js';
export type { CollectionRecord, DocumentsFingerprint } from './collection-record.js';
export type { DocumentFailure } from './collection-build.js';
// the specs' file format and checks are the light entry point's (`@mbsync/search-index/specs`); what a reindex
// call needs of them is here too
export type { CollectionSpec, CollectionSpecsFile, FieldSpec, FieldType } from './spec.js';
export { DEFAULT_COLLECTION_SPECS } from './collections/default-specs.js';
export { componentsSpec } from './collections/components.js';
export { partsSpec } from './collections/parts.js';
export { attributesSpec } from './collections/attributes.js';
export { createDocumentMapper } from './documents.js';
export type { ConvertedRow, DocumentMapper } from './documents.js';
export { DEFAULT_RETRY_POLICY, RequestTimeoutError, isTransientError, withRetry } from './retry.js';
export type { RetryEvent, RetryOptions, RetryPolicy } from './retry.js';
export { openTypesense } from './typesense-connection.js';
export type { TypesenseConnection, TypesenseConnectionOptions } from './typesense-connection.js';
export type { ReindexProgress, ReindexProgressCallback } from './progress.js';
export { SearchIndexError } from './errors.js';
export type { SearchIndexErrorCode } from './errors.js';
