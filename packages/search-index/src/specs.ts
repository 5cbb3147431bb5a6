// The light entry point (`@mbsync/search-index/specs`): collection specs, their file format and their checks,
// without the Typesense client. Configuration loaders (api, worker, CLI start-up) use it.
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
export { SearchIndexError } from './errors.js';
export type { SearchIndexErrorCode } from './errors.js';
