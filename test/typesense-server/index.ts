/** The in-memory Typesense-compatible test server: the public surface for other packages' tests. */
export { createTypesenseServer } from './server.js';
export type { RequestRecord, TypesenseServer, TypesenseServerOptions } from './server.js';
export { Faults } from './faults.js';
export type { AppliedFault, FaultCandidate, FaultKind, FaultMatch, FaultSpec } from './faults.js';
export { TypesenseState } from './state.js';
export type { StoredCollection, TypesenseDocument } from './state.js';
export { TYPESENSE_VERSIONS, collectionNotFound, searchCollectionNotFound } from './messages.js';
export type { TypesenseVersion } from './messages.js';
export type { CollectionSchema, FieldSchema } from './schema.js';
