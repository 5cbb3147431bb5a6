/** Zero-downtime Typesense reindex from PostgreSQL: collection specs, row → document conversion, alias swap. */
export { reindexCollections, collectionSchema, collectionTimestamp } from './reindex.js';
export type { CollectionReindexResult, ReindexLogger, ReindexOptions, ReindexResult } from './reindex.js';
export { MAX_REPORTED_FAILURES } from './collection-build.js';
export type { DocumentFailure } from './collection-build.js';
export { FIELD_TYPES } from './spec.js';
export type { CollectionSpec, CollectionSpecsFile, FieldSpec, FieldType } from './spec.js';
export {
  CollectionSpecSchema,
  CollectionSpecsFileSchema,
  FieldSpecSchema,
  assertValidSpecs,
  collectionSpecProblems,
  parseCollectionSpecs,
  parseCollectionSpecsJson,
  readCollectionSpecsFile,
} from './spec-schema.js';
export type { CollectionSpecsFileDocument } from './spec-schema.js';
export { specModelProblems, specReferences } from './spec-references.js';
export type { ColumnReference, KnownRelation, RelationReference } from './spec-references.js';
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
