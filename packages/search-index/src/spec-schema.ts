import { renderProblems, show, type Problem } from '@mbsync/settings';
import { Type, type Static } from 'typebox';
import { SearchIndexError } from './errors.js';
import { FIELD_TYPES, type CollectionSpec, type FieldType } from './spec.js';

// The schemas say in words what they want (errorMessage): renderProblems puts it in each problem line, with the
// path and the value found.
const Name = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_-]{0,99}$',
  description: 'the alias searches use, e.g. "components"',
  errorMessage: 'must be a string of letters, digits, "_" or "-" starting with a letter (at most 100)',
});
const NonEmpty = Type.String({ minLength: 1, pattern: '\\S', errorMessage: 'must be a non-empty string' });
const Characters = Type.Array(Type.String({ minLength: 1, maxLength: 2, errorMessage: 'must be a single character' }), { errorMessage: 'must be an array of single characters' });

/** One field of a collection spec (FieldSpec). */
export const FieldSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[^.*]*\\S[^.*]*$', description: 'Typesense field name ("id" is reserved)', errorMessage: 'must be a non-empty string without "." or "*"' }),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    column: Type.Optional(NonEmpty),
    optional: Type.Optional(Type.Boolean()),
    facet: Type.Optional(Type.Boolean()),
    sort: Type.Optional(Type.Boolean()),
    index: Type.Optional(Type.Boolean()),
    infix: Type.Optional(Type.Boolean()),
    locale: Type.Optional(Type.String({ errorMessage: 'must be a string' })),
  },
  { additionalProperties: false, errorMessage: 'must be an object like { "name": "title", "type": "string" }' },
);

/** One collection: Typesense fields plus the SQL query producing its documents (CollectionSpec). */
export const CollectionSpecSchema = Type.Object(
  {
    name: Name,
    query: Type.String({ minLength: 1, pattern: '\\S', description: 'one SELECT with schema-qualified names', errorMessage: 'must be a non-empty SQL SELECT' }),
    idColumn: Type.Optional(NonEmpty),
    fields: Type.Array(FieldSpecSchema, { minItems: 1, errorMessage: 'must be a non-empty array of fields' }),
    defaultSortingField: Type.Optional(Type.String({ errorMessage: 'must name one of the fields' })),
    tokenSeparators: Type.Optional(Characters),
    symbolsToIndex: Type.Optional(Characters),
  },
  { additionalProperties: false, errorMessage: 'must be an object' },
);

/**
 * The JSON document of a specs file (TYPESENSE_SPECS_FILE, `mbsync reindex --specs`): `{ "collections": [ … ] }`.
 * The structure is checked with this schema; what a schema cannot say (unique names, "id" reserved, a sortable
 * defaultSortingField, one character per separator) by the rules of {@link collectionSpecProblems}.
 */
export const CollectionSpecsFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    collections: Type.Array(CollectionSpecSchema, { minItems: 1, errorMessage: 'must be a non-empty array of collection specs' }),
  },
  { additionalProperties: false, errorMessage: 'must be an object like { "collections": [ … ] }' },
);
export type CollectionSpecsFileDocument = Static<typeof CollectionSpecsFileSchema>;

const SORTABLE = new Set<FieldType>(['string', 'int32', 'int64', 'float', 'bool']);
const DEFAULT_SORTABLE = new Set<FieldType>(['int32', 'int64', 'float']);

/**
 * Checks a parsed specs file (`{ "collections": [ … ] }`) and returns a copy of its specs. Every problem is
 * reported at once, each naming the bad field by its path (`collections[1].fields[0].type: …`), as
 * SEARCH_INDEX_SPEC_INVALID.
 */
export function parseCollectionSpecs(value: unknown, origin = 'specs'): CollectionSpec[] {
  const problems = documentProblems(value);
  if (problems.length > 0) throw invalidSpecs(origin, problems);
  return (value as CollectionSpecsFileDocument).collections.map(copySpec);
}

/** {@link parseCollectionSpecs} of a JSON text (a specs file's content); bad JSON is SEARCH_INDEX_SPEC_INVALID too. */
export function parseCollectionSpecsJson(text: string, origin = 'specs'): CollectionSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidSpecs(origin, [`(root): not valid JSON: ${(error as Error).message}`]);
  }
  return parseCollectionSpecs(value, origin);
}

/**
 * Reads a specs file's text: JSON, then the TypeBox schema and the rules between fields. Every problem is
 * reported at once, named by its path (`collections[1].fields[0].type: …`), as SEARCH_INDEX_SPEC_INVALID.
 */
export function readCollectionSpecsFile(text: string, origin = 'specs'): CollectionSpec[] {
  return parseCollectionSpecsJson(text, origin);
}

/** Checks specs given in code (the defaults, or a caller's own); throws SEARCH_INDEX_SPEC_INVALID listing every problem. */
export function assertValidSpecs(specs: readonly unknown[], origin = 'specs'): void {
  const problems = collectionSpecProblems(specs);
  if (problems.length > 0) throw invalidSpecs(origin, problems);
}

/** Every problem of a list of specs, as `collections[i].path: message` lines (empty when valid or empty). */
export function collectionSpecProblems(specs: readonly unknown[]): string[] {
  return specs.length === 0 ? [] : documentProblems({ collections: specs });
}

/** The schema's problems and the rules', in document order. */
function documentProblems(value: unknown): string[] {
  const collections = isRecord(value) && Array.isArray(value.collections) ? value.collections : [];
  return renderProblems(CollectionSpecsFileSchema, value, { style: 'document', more: ruleProblems(collections) });
}

/** What the schema cannot say: names used twice, "id" reserved, single characters, sortable fields. */
function ruleProblems(specs: readonly unknown[]): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, number>();
  specs.forEach((spec, i) => {
    if (!isRecord(spec)) return;
    const at = ['collections', i];
    if (typeof spec.name === 'string') {
      const first = names.get(spec.name);
      if (first !== undefined) problems.push({ path: [...at, 'name'], message: `"${spec.name}" is already used by collections[${first}]`, last: true });
      else names.set(spec.name, i);
    }
    for (const key of ['tokenSeparators', 'symbolsToIndex'] as const) {
      const list = spec[key];
      if (!Array.isArray(list)) continue;
      list.forEach((s, k) => {
        if (typeof s === 'string' && s.length === 2 && [...s].length !== 1) problems.push({ path: [...at, key, k], message: `must be a single character, got ${show(s)}` });
      });
    }
    const fields = Array.isArray(spec.fields) ? (spec.fields as unknown[]) : [];
    const seen = new Map<string, number>();
    fields.forEach((field, j) => {
      if (!isRecord(field)) return;
      const fieldAt = [...at, 'fields', j];
      if (field.name === 'id') problems.push({ path: [...fieldAt, 'name'], message: `"id" is reserved: the document id comes from the collection's idColumn` });
      if (field.sort === true && typeof field.type === 'string' && (FIELD_TYPES as readonly string[]).includes(field.type) && !SORTABLE.has(field.type as FieldType)) {
        problems.push({ path: [...fieldAt, 'sort'], message: `a ${field.type} field cannot be sorted (only string, int32, int64, float and bool)`, last: true });
      }
      if (typeof field.name === 'string') {
        const first = seen.get(field.name);
        if (first !== undefined) problems.push({ path: [...fieldAt, 'name'], message: `"${field.name}" is already used by fields[${first}]`, last: true });
        else seen.set(field.name, j);
      }
    });
    const name = spec.defaultSortingField;
    if (typeof name === 'string' && fields.length > 0) {
      const field = fields.find((f) => isRecord(f) && f.name === name);
      const where = [...at, 'defaultSortingField'];
      if (!isRecord(field)) problems.push({ path: where, message: `must name one of the fields, got ${show(name)}` });
      else if (field.optional === true) problems.push({ path: where, message: `field "${name}" is optional; Typesense needs a non-optional one` });
      else if (!DEFAULT_SORTABLE.has(field.type as FieldType) && !(field.type === 'string' && field.sort === true)) {
        problems.push({ path: where, message: `field "${name}" has type ${show(field.type)}; it must be int32, int64, float, or a string with "sort": true` });
      }
    }
  });
  return problems;
}

function copySpec(spec: CollectionSpec): CollectionSpec {
  return {
    ...spec,
    fields: spec.fields.map((field) => ({ ...field })),
    ...(spec.tokenSeparators ? { tokenSeparators: [...spec.tokenSeparators] } : {}),
    ...(spec.symbolsToIndex ? { symbolsToIndex: [...spec.symbolsToIndex] } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidSpecs(origin: string, problems: string[]): SearchIndexError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new SearchIndexError('SEARCH_INDEX_SPEC_INVALID', `invalid collection specs in ${origin} (${count}): ${problems.join('; ')}`, { details: { problems } });
}
