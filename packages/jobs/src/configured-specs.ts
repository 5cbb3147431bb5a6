import type { CollectionSpec } from '@mbsync/search-index/specs';
import { DEFAULT_COLLECTION_SPECS, readCollectionSpecsFile } from '@mbsync/search-index/specs';
import type { CoreConfig } from './config.js';
import { readSearchSpecs } from './search-specs.js';

/**
 * TYPESENSE_SPECS_FILE (the setting's value) read and validated at once, for the processes that load TypeBox anyway (api, worker):
 * null when unset, JOBS_CONFIG_INVALID listing every problem otherwise. The CLI uses `loadSearchSpecs`.
 */
export function readConfiguredSpecs(file: string | undefined): readonly CollectionSpec[] | null {
  return readSearchSpecs(file, readCollectionSpecsFile);
}

/** The collections a reindex rebuilds: TYPESENSE_SPECS_FILE's, else the built-in components, parts, attributes. */
export function configuredCollectionNames(config: Pick<CoreConfig, 'searchSpecs'>): string[] {
  return (config.searchSpecs ?? DEFAULT_COLLECTION_SPECS).map((spec) => spec.name);
}
