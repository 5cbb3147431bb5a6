import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { SearchIndexError } from './errors.js';
import { FIELD_TYPES, collectionSpecProblems, parseCollectionSpecs, type CollectionSpec } from './spec.js';

const Name = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,99}$', description: 'the alias searches use, e.g. "components"' });
const NonEmpty = Type.String({ minLength: 1, pattern: '\\S' });

/** One field of a collection spec (FieldSpec). */
export const FieldSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[^.*]*\\S[^.*]*$', description: 'Typesense field name ("id" is reserved)' }),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    column: Type.Optional(NonEmpty),
    optional: Type.Optional(Type.Boolean()),
    facet: Type.Optional(Type.Boolean()),
    sort: Type.Optional(Type.Boolean()),
    index: Type.Optional(Type.Boolean()),
    infix: Type.Optional(Type.Boolean()),
    locale: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** One collection: Typesense fields plus the SQL query producing its documents (CollectionSpec). */
export const CollectionSpecSchema = Type.Object(
  {
    name: Name,
    query: Type.String({ minLength: 1, pattern: '\\S', description: 'one SELECT with schema-qualified names' }),
    idColumn: Type.Optional(NonEmpty),
    fields: Type.Array(FieldSpecSchema, { minItems: 1 }),
    defaultSortingField: Type.Optional(Type.String()),
    tokenSeparators: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2 }))),
    symbolsToIndex: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2 }))),
  },
  { additionalProperties: false },
);

/**
 * The JSON document of a specs file (TYPESENSE_SPECS_FILE, `mbsync reindex --specs`): `{ "collections": [ … ] }`.
 * The structure is checked with this schema; what a schema cannot say (unique names, "id" reserved, a sortable
 * defaultSortingField, one character per separator) by {@link collectionSpecProblems}.
 */
export const CollectionSpecsFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    collections: Type.Array(CollectionSpecSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type CollectionSpecsFileDocument = Static<typeof CollectionSpecsFileSchema>;

/**
 * Reads a specs file's text: JSON, then the TypeBox schema, then the rules between fields. Every problem is
 * reported at once, named by its path (`collections[1].fields[0].type: …`), as SEARCH_INDEX_SPEC_INVALID. A
 * document the schema refuses is always refused, whatever the readable problem list says.
 */
export function readCollectionSpecsFile(text: string, origin = 'specs'): CollectionSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidSpecs(origin, [`(root): not valid JSON: ${(error as Error).message}`]);
  }
  if (!Value.Check(CollectionSpecsFileSchema, value)) {
    // the hand-written checks name each problem more helpfully (and throw); the schema's own errors are the fallback
    parseCollectionSpecs(value, origin);
    throw invalidSpecs(origin, Value.Errors(CollectionSpecsFileSchema, value).map((e) => `${pathOf(e.instancePath)}: ${e.message}`));
  }
  const problems = collectionSpecProblems(value.collections);
  if (problems.length > 0) throw invalidSpecs(origin, problems);
  return parseCollectionSpecs(value, origin);
}

/** `/collections/1/fields/0/type` → `collections[1].fields[0].type` */
function pathOf(pointer: string): string {
  if (pointer === '') return '(root)';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function invalidSpecs(origin: string, problems: string[]): SearchIndexError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new SearchIndexError('SEARCH_INDEX_SPEC_INVALID', `invalid collection specs in ${origin} (${count}): ${problems.join('; ')}`, { details: { problems } });
}
