import type { CollectionSpec } from '../spec.js';

/**
 * `components`: one document per component, with its category and part count. NULL tag elements are removed
 * in SQL: postgres.js reads an unquoted NULL array element back as the string "NULL".
 */
export const componentsSpec: CollectionSpec = {
  name: 'components',
  query: `SELECT c.id, c.slug, c.name, c.description, c.category_id, cat.slug AS category_slug, cat.name AS category,
       pg_catalog.array_remove(c.tags, NULL) AS tags, c.price, c.is_published,
       (SELECT pg_catalog.count(*) FROM public.parts p WHERE p.component_id = c.id) AS part_count,
       c.created_at, c.updated_at
  FROM public.components c
  LEFT JOIN public.categories cat ON cat.id = c.category_id`,
  fields: [
    { name: 'slug', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'description', type: 'string', optional: true },
    { name: 'category_id', type: 'int64', optional: true, facet: true },
    { name: 'category_slug', type: 'string', optional: true, facet: true },
    { name: 'category', type: 'string', optional: true, facet: true },
    { name: 'tags', type: 'string[]', facet: true },
    { name: 'price', type: 'float', optional: true },
    { name: 'is_published', type: 'bool', facet: true },
    { name: 'part_count', type: 'int32' },
    { name: 'created_at', type: 'int64' },
    { name: 'updated_at', type: 'int64' },
  ],
  defaultSortingField: 'updated_at',
};
