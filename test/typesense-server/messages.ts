/**
 * Message texts that depend on the emulated server version (contract §1.8) plus the fixed bodies
 * of the request pipeline (§1.0). Everything else builds its text next to the check that emits it.
 */

/** The Typesense major versions the test server can emulate. */
export type TypesenseVersion = 27 | 28 | 29;

/** All emulated versions, oldest first. */
export const TYPESENSE_VERSIONS: readonly TypesenseVersion[] = [27, 28, 29];

/** §1.0: unknown route. Note the space after `{`, kept byte for byte. */
export const ROUTE_NOT_FOUND_BODY = '{ "message": "Not Found"}';

/** §1.0: readiness check failed (back-pressure). Same odd spacing as the 404 body. */
export const NOT_READY_BODY = '{ "message": "Not Ready or Lagging"}';

/** §1.0: auth failure text. */
export const FORBIDDEN_MESSAGE = 'Forbidden - a valid `x-typesense-api-key` header must be sent.';

/** §1.2/§1.5/§1.8: a missing collection or alias on most endpoints. */
export function collectionNotFound(version: TypesenseVersion): string {
  return version >= 29 ? 'Collection not found' : 'Not Found';
}

/** §1.8: v28 search on a missing collection has its own text. */
export function searchCollectionNotFound(version: TypesenseVersion): string {
  return version === 28 ? 'Not found.' : collectionNotFound(version);
}

/** §1.3/§1.4: a missing document. */
export function documentNotFound(id: string): string {
  return `Could not find a document with id: ${id}`;
}
