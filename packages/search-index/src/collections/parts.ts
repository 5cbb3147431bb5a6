import type { CollectionSpec } from '../spec.js';

/**
 * `parts`: one document per part, with its component and its attributes as `slug:value` facets. A weight of
 * ±Infinity or NaN (double precision allows them, JSON and Typesense floats do not) is indexed as absent.
 */
export const partsSpec: CollectionSpec = {
  name: 'parts',
  query: `SELECT p.id, p.component_id, c.slug AS component_slug, c.name AS component_name, p.sku, p.name, p.material,
       p.width_mm, p.height_mm, p.depth_mm,
       CASE WHEN p.weight_g IN ('Infinity', '-Infinity', 'NaN') THEN NULL ELSE p.weight_g END AS weight_g,
       p.print_minutes, p.downloads,
       ARRAY(SELECT a.slug || ':' || pa.value
               FROM public.part_attributes pa JOIN public.attributes a ON a.id = pa.attribute_id
              WHERE pa.part_id = p.id ORDER BY a.slug) AS attributes,
       p.created_at
  FROM public.parts p
  JOIN public.components c ON c.id = p.component_id`,
  fields: [
    { name: 'component_id', type: 'int64', facet: true },
    { name: 'component_slug', type: 'string', facet: true },
    { name: 'component_name', type: 'string' },
    { name: 'sku', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'material', type: 'string', optional: true, facet: true },
    { name: 'width_mm', type: 'float', optional: true },
    { name: 'height_mm', type: 'float', optional: true },
    { name: 'depth_mm', type: 'float', optional: true },
    { name: 'weight_g', type: 'float', optional: true },
    { name: 'print_minutes', type: 'int32', optional: true },
    { name: 'downloads', type: 'int64' },
    { name: 'attributes', type: 'string[]', facet: true },
    { name: 'created_at', type: 'int64' },
  ],
  defaultSortingField: 'downloads',
};
