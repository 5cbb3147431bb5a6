import { SearchIndexError } from './errors.js';

/** Typesense field types a spec may use: the scalar types and their arrays (no objects, geo or auto). */
export const FIELD_TYPES = ['string', 'string[]', 'int32', 'int32[]', 'int64', 'int64[]', 'float', 'float[]', 'bool', 'bool[]'] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

/** One Typesense field and the result column its value comes from. */
export interface FieldSpec {
  /** Typesense field name; `id` is reserved (the document id comes from the spec's `idColumn`). */
  name: string;
  type: FieldType;
  /** Result column of the spec query holding the value; defaults to `name`. */
  column?: string;
  /** NULL values are left out of the document; without it a NULL is a conversion error (arrays become `[]`). */
  optional?: boolean;
  facet?: boolean;
  sort?: boolean;
  index?: boolean;
  infix?: boolean;
  locale?: string;
}

/**
 * A collection: the Typesense schema plus the SQL query whose rows become its documents, one per row.
 * Plain data, so a user can supply it as JSON (see {@link parseCollectionSpecs}).
 */
export interface CollectionSpec {
  /** The alias searches use, e.g. `components`; each reindex builds `<name>_<timestamp>` behind it. */
  name: string;
  /** A single SELECT (schema-qualified names: the session search_path is not assumed). */
  query: string;
  /** Result column holding the document id (default `id`): a non-empty string or an integer. */
  idColumn?: string;
  fields: FieldSpec[];
  /** A non-optional numeric (or sortable string) field. */
  defaultSortingField?: string;
  tokenSeparators?: string[];
  symbolsToIndex?: string[];
}

/** The JSON document `--specs file.json` holds. */
export interface CollectionSpecsFile {
  collections: CollectionSpec[];
}

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;
const SORTABLE = new Set<FieldType>(['string', 'int32', 'int64', 'float', 'bool']);
const DEFAULT_SORTABLE = new Set<FieldType>(['int32', 'int64', 'float']);
const FILE_KEYS = new Set(['$schema', 'collections']);
const SPEC_KEYS = new Set(['name', 'query', 'idColumn', 'fields', 'defaultSortingField', 'tokenSeparators', 'symbolsToIndex']);
const FIELD_KEYS = new Set(['name', 'type', 'column', 'optional', 'facet', 'sort', 'index', 'infix', 'locale']);
const BOOLEAN_KEYS = ['optional', 'facet', 'sort', 'index', 'infix'] as const;

/**
 * Checks a parsed specs file (`{ "collections": [ … ] }`) and returns its specs. Every problem is reported at
 * once, each naming the bad field by its path (`collections[1].fields[0].type: …`), as SEARCH_INDEX_SPEC_INVALID.
 */
export function parseCollectionSpecs(value: unknown, origin = 'specs'): CollectionSpec[] {
  const problems: string[] = [];
  if (!isRecord(value)) {
    throw invalid(origin, ['(root): must be an object like { "collections": [ … ] }']);
  }
  unknownKeys(value, FILE_KEYS, '(root)', problems);
  const collections = value.collections;
  if (!Array.isArray(collections) || collections.length === 0) {
    problems.push('collections: must be a non-empty array of collection specs');
  } else {
    problems.push(...collectionSpecProblems(collections));
  }
  if (problems.length > 0) throw invalid(origin, problems);
  return (collections as CollectionSpec[]).map(copySpec);
}

/** {@link parseCollectionSpecs} of a JSON text (a specs file's content); bad JSON is SEARCH_INDEX_SPEC_INVALID too. */
export function parseCollectionSpecsJson(text: string, origin = 'specs'): CollectionSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(origin, [`(root): not valid JSON: ${(error as Error).message}`]);
  }
  return parseCollectionSpecs(value, origin);
}

/** Checks specs given in code (the defaults, or a caller's own); throws SEARCH_INDEX_SPEC_INVALID listing every problem. */
export function assertValidSpecs(specs: readonly unknown[], origin = 'specs'): void {
  const problems = collectionSpecProblems(specs);
  if (problems.length > 0) throw invalid(origin, problems);
}

/** Every problem of a list of specs, as `collections[i].path: message` lines (empty when valid). */
export function collectionSpecProblems(specs: readonly unknown[]): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  specs.forEach((spec, i) => {
    const at = `collections[${i}]`;
    problems.push(...specProblems(spec, at));
    if (isRecord(spec) && typeof spec.name === 'string') {
      const first = names.get(spec.name);
      if (first !== undefined) problems.push(`${at}.name: "${spec.name}" is already used by collections[${first}]`);
      else names.set(spec.name, i);
    }
  });
  return problems;
}

function specProblems(spec: unknown, at: string): string[] {
  if (!isRecord(spec)) return [`${at}: must be an object`];
  const problems: string[] = [];
  unknownKeys(spec, SPEC_KEYS, at, problems);
  if (typeof spec.name !== 'string' || !NAME_PATTERN.test(spec.name)) {
    problems.push(`${at}.name: must be a string of letters, digits, "_" or "-" starting with a letter (at most 100), got ${show(spec.name)}`);
  }
  if (typeof spec.query !== 'string' || spec.query.trim() === '') {
    problems.push(`${at}.query: must be a non-empty SQL SELECT, got ${show(spec.query)}`);
  }
  if (spec.idColumn !== undefined && !nonEmptyString(spec.idColumn)) problems.push(`${at}.idColumn: must be a non-empty string, got ${show(spec.idColumn)}`);
  for (const key of ['tokenSeparators', 'symbolsToIndex'] as const) {
    const list = spec[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && [...s].length === 1))) {
      problems.push(`${at}.${key}: must be an array of single characters, got ${show(list)}`);
    }
  }
  const fields = spec.fields;
  if (!Array.isArray(fields) || fields.length === 0) {
    problems.push(`${at}.fields: must be a non-empty array of fields, got ${show(fields)}`);
    return problems;
  }
  const seen = new Map<string, number>();
  fields.forEach((field, j) => {
    const fieldAt = `${at}.fields[${j}]`;
    problems.push(...fieldProblems(field, fieldAt));
    if (isRecord(field) && typeof field.name === 'string') {
      const first = seen.get(field.name);
      if (first !== undefined) problems.push(`${fieldAt}.name: "${field.name}" is already used by fields[${first}]`);
      else seen.set(field.name, j);
    }
  });
  if (spec.defaultSortingField !== undefined) {
    const name = spec.defaultSortingField;
    const field = typeof name === 'string' ? (fields as unknown[]).find((f) => isRecord(f) && f.name === name) : undefined;
    if (!isRecord(field)) {
      problems.push(`${at}.defaultSortingField: must name one of the fields, got ${show(name)}`);
    } else if (field.optional === true) {
      problems.push(`${at}.defaultSortingField: field "${String(name)}" is optional; Typesense needs a non-optional one`);
    } else if (!DEFAULT_SORTABLE.has(field.type as FieldType) && !(field.type === 'string' && field.sort === true)) {
      problems.push(`${at}.defaultSortingField: field "${String(name)}" has type ${show(field.type)}; it must be int32, int64, float, or a string with "sort": true`);
    }
  }
  return problems;
}

function fieldProblems(field: unknown, at: string): string[] {
  if (!isRecord(field)) return [`${at}: must be an object like { "name": "title", "type": "string" }`];
  const problems: string[] = [];
  unknownKeys(field, FIELD_KEYS, at, problems);
  if (!nonEmptyString(field.name) || /[.*]/.test(field.name)) {
    problems.push(`${at}.name: must be a non-empty string without "." or "*", got ${show(field.name)}`);
  } else if (field.name === 'id') {
    problems.push(`${at}.name: "id" is reserved: the document id comes from the collection's idColumn`);
  }
  const typeOk = typeof field.type === 'string' && (FIELD_TYPES as readonly string[]).includes(field.type);
  if (!typeOk) problems.push(`${at}.type: must be one of ${FIELD_TYPES.join(', ')}, got ${show(field.type)}`);
  if (field.column !== undefined && !nonEmptyString(field.column)) problems.push(`${at}.column: must be a non-empty string, got ${show(field.column)}`);
  for (const key of BOOLEAN_KEYS) {
    if (field[key] !== undefined && typeof field[key] !== 'boolean') problems.push(`${at}.${key}: must be true or false, got ${show(field[key])}`);
  }
  if (field.locale !== undefined && typeof field.locale !== 'string') problems.push(`${at}.locale: must be a string, got ${show(field.locale)}`);
  if (typeOk && field.sort === true && !SORTABLE.has(field.type as FieldType)) {
    problems.push(`${at}.sort: a ${String(field.type)} field cannot be sorted (only string, int32, int64, float and bool)`);
  }
  return problems;
}

/** The query as it is wrapped in `SELECT … FROM (<query>) AS q`: without trailing semicolons. */
export function specQuery(spec: CollectionSpec): string {
  return stripTrailingSemicolons(spec.query);
}

/** The column a field reads. */
export function fieldColumn(field: FieldSpec): string {
  return field.column ?? field.name;
}

/** The column the document id comes from. */
export function idColumn(spec: CollectionSpec): string {
  return spec.idColumn ?? 'id';
}

function stripTrailingSemicolons(query: string): string {
  return query.replace(/[\s;]+$/, '');
}

function copySpec(spec: CollectionSpec): CollectionSpec {
  return {
    ...spec,
    fields: spec.fields.map((field) => ({ ...field })),
    ...(spec.tokenSeparators ? { tokenSeparators: [...spec.tokenSeparators] } : {}),
    ...(spec.symbolsToIndex ? { symbolsToIndex: [...spec.symbolsToIndex] } : {}),
  };
}

function unknownKeys(value: Record<string, unknown>, allowed: Set<string>, at: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) problems.push(`${at}.${key}: unknown property (allowed: ${[...allowed].join(', ')})`);
  }
}

function invalid(origin: string, problems: string[]): SearchIndexError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new SearchIndexError('SEARCH_INDEX_SPEC_INVALID', `invalid collection specs in ${origin} (${count}): ${problems.join('; ')}`, { details: { problems } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
