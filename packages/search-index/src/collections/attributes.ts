import type { CollectionSpec } from '../spec.js';

/** `attributes`: one document per attribute definition, with how many parts carry it. */
export const attributesSpec: CollectionSpec = {
  name: 'attributes',
  query: `SELECT a.id, a.slug, a.name, a.data_type, a.unit,
       (SELECT pg_catalog.count(*) FROM public.part_attributes pa WHERE pa.attribute_id = a.id) AS part_count
  FROM public.attributes a`,
  fields: [
    { name: 'slug', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'data_type', type: 'string', facet: true },
    { name: 'unit', type: 'string', optional: true, facet: true },
    { name: 'part_count', type: 'int64' },
  ],
  defaultSortingField: 'part_count',
};
