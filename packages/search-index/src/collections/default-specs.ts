import type { CollectionSpec } from '../spec.js';
import { attributesSpec } from './attributes.js';
import { componentsSpec } from './components.js';
import { partsSpec } from './parts.js';

/** The collections a sync refreshes, in reindex order. They read the demo schema (test/fixtures/multiboard/schema.sql). */
export const DEFAULT_COLLECTION_SPECS: readonly CollectionSpec[] = [componentsSpec, partsSpec, attributesSpec];
