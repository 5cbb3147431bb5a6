import { isJsonObject } from './json.js';

/** A field as the server stores it, after defaults (contract §1.2, `field.cpp:10-60`). */
export interface FieldSchema {
  name: string;
  type: string;
  facet: boolean;
  optional: boolean;
  index: boolean;
  sort: boolean;
  infix: boolean;
  locale: string;
  stem: boolean;
  store: boolean;
}

/** A collection schema after validation and defaults. */
export interface CollectionSchema {
  name: string;
  fields: FieldSchema[];
  default_sorting_field: string;
  enable_nested_fields: boolean;
  token_separators: string[];
  symbols_to_index: string[];
  metadata: Record<string, unknown> | undefined;
}

/** Either a value or a Typesense error (status + message text). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: number; message: string };

/** Shorthand for a failed outcome. */
export function fail(code: number, message: string): { ok: false; code: number; message: string } {
  return { ok: false, code, message };
}

/** Valid field types ([W] `collections.md#field-types`, `include/field.h:18-39`). */
export const FIELD_TYPES: ReadonlySet<string> = new Set([
  'string', 'string[]', 'int32', 'int32[]', 'int64', 'int64[]', 'float', 'float[]', 'bool', 'bool[]',
  'geopoint', 'geopoint[]', 'geopolygon', 'object', 'object[]', 'string*', 'image', 'auto',
]);

/** Types whose `sort` defaults to true (contract §1.2). */
const SORT_BY_DEFAULT = new Set(['int32', 'int64', 'float', 'bool', 'geopoint', 'geopoint[]']);
/** Types that may enable `sort` (`field.cpp:962`): numeric ones (the defaults above) and `string`. */
const SORTABLE = new Set([...SORT_BY_DEFAULT, 'string']);
/** Types allowed as `default_sorting_field` (single-valued numbers; bool/string when sortable). */
const DEFAULT_SORTABLE = new Set(['int32', 'int64', 'float', 'bool', 'string']);

/** Dynamic fields: `.*`, type `auto` or `string*`, or a name containing `.*` (contract §1.2). */
export function isDynamicField(field: Pick<FieldSchema, 'name' | 'type'>): boolean {
  return field.name.includes('.*') || field.type === 'auto' || field.type === 'string*';
}

const FORMAT_ERROR =
  'Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.';

/**
 * Validates one field definition and applies its defaults. `null` means "ignore it": a field named
 * `id` is silently dropped (`field.cpp:748-753`). Checks follow `field::json_field_to_field`'s order.
 */
export function parseField(json: unknown, enableNested: boolean): Outcome<FieldSchema | null> {
  if (isJsonObject(json) && json.name === 'id') return { ok: true, value: null };
  if (!isJsonObject(json) || typeof json.name !== 'string' || typeof json.type !== 'string') return fail(400, FORMAT_ERROR);
  const { name, type } = json;
  if (json.drop !== undefined) {
    return fail(400, `Invalid property \`drop\` on field \`${name}\`: it is allowed only during schema update.`);
  }
  for (const key of ['store', 'facet', 'optional', 'index', 'sort', 'infix', 'stem'] as const) {
    if (json[key] !== undefined && typeof json[key] !== 'boolean') {
      return fail(400, `The \`${key}\` property of the field \`${name}\` should be a boolean.`);
    }
  }
  if (json.locale !== undefined && typeof json.locale !== 'string') {
    return fail(400, `The \`locale\` property of the field \`${name}\` should be a string.`);
  }
  const dynamic = isDynamicField({ name, type });
  const field: FieldSchema = {
    name,
    type,
    facet: (json.facet as boolean | undefined) ?? false,
    optional: (json.optional as boolean | undefined) ?? dynamic,
    index: (json.index as boolean | undefined) ?? true,
    sort: (json.sort as boolean | undefined) ?? SORT_BY_DEFAULT.has(type),
    infix: (json.infix as boolean | undefined) ?? false,
    locale: (json.locale as string | undefined) ?? '',
    stem: (json.stem as boolean | undefined) ?? false,
    store: (json.store as boolean | undefined) ?? true,
  };
  if (name === '.*') {
    // `field.cpp:200-228`: the catch-all field must be optional, indexed, and not a facet.
    if (!field.optional) return fail(400, 'Field `.*` must be an optional field.');
    if (field.facet) return fail(400, 'Field `.*` cannot be a facet field.');
    if (!field.index) return fail(400, 'Field `.*` must be an index field.');
    if (!FIELD_TYPES.has(type)) return fail(400, 'The `type` of field `.*` is invalid.');
    return { ok: true, value: field };
  }
  if ((type === 'object' || type === 'object[]') && !enableNested) {
    return fail(400, 'Type `object` or `object[]` can be used only when nested fields are enabled by setting` enable_nested_fields` to true.');
  }
  if (!FIELD_TYPES.has(type)) {
    return fail(400, `Field \`${name}\` has an invalid data type \`${type}\`, see docs for supported data types.`);
  }
  if (field.sort && !SORTABLE.has(type)) {
    // Contract §1.2 (`field.cpp:962`); the exact text is not quoted there, so this one is ours.
    return fail(400, `Field \`${name}\` cannot be sortable: only numerical and string fields can be sorted.`);
  }
  return { ok: true, value: field };
}

/** Validates a `POST /collections` body (contract §1.2, `collection_manager.cpp:1608-1750`). */
export function parseCollectionSchema(body: unknown): Outcome<CollectionSchema> {
  if (!isJsonObject(body)) return fail(400, 'Bad JSON.');
  if (body.name === undefined) return fail(400, 'Parameter `name` is required.');
  if (typeof body.name !== 'string' || body.name === '') return fail(400, 'Parameter `name` must be a non-empty string.');
  if (body.fields === undefined) return fail(400, 'Parameter `fields` is required.');
  if (!Array.isArray(body.fields)) return fail(400, FORMAT_ERROR);
  // The contract quotes no texts for the three type checks below; status 400 is what matters.
  const sortingField = body.default_sorting_field ?? '';
  if (typeof sortingField !== 'string') return fail(400, '`default_sorting_field` should be a string.');
  const enableNested = body.enable_nested_fields ?? false;
  if (typeof enableNested !== 'boolean') return fail(400, 'The `enable_nested_fields` property should be a boolean.');
  const metadata = body.metadata;
  if (metadata !== undefined && !isJsonObject(metadata)) return fail(400, 'The `metadata` value should be an object.');

  const fields: FieldSchema[] = [];
  for (const json of body.fields as unknown[]) {
    const parsed = parseField(json, enableNested);
    if (!parsed.ok) return parsed;
    if (parsed.value !== null) fields.push(parsed.value);
  }
  if (new Set(fields.map((f) => f.name)).size !== fields.length) {
    return fail(400, 'There are duplicate field names in the schema.');
  }
  if (sortingField !== '') {
    const field = fields.find((f) => f.name === sortingField);
    if (sortingField === 'id' || field === undefined) {
      return fail(400, `Default sorting field is defined as \`${sortingField}\` but is not found in the schema.`);
    }
    if (!DEFAULT_SORTABLE.has(field.type) || !field.sort) {
      return fail(400, `Default sorting field \`${sortingField}\` is not a sortable type.`);
    }
    if (field.optional) return fail(400, `Default sorting field \`${sortingField}\` cannot be an optional field.`);
  }
  return {
    ok: true,
    value: {
      name: body.name,
      fields,
      default_sorting_field: sortingField,
      enable_nested_fields: enableNested,
      token_separators: stringArray(body.token_separators),
      symbols_to_index: stringArray(body.symbols_to_index),
      metadata: metadata !== undefined && Object.keys(metadata).length > 0 ? metadata : undefined,
    },
  };
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
