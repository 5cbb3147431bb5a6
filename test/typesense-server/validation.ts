import { isDynamicField, type CollectionSchema, type FieldSchema } from './schema.js';
import type { TypesenseDocument } from './state.js';

/** How type mismatches are handled ([W] `documents.md#dealing-with-dirty-data`). */
export type DirtyValues = 'reject' | 'drop' | 'coerce_or_reject' | 'coerce_or_drop';

/** Which write is being validated: `full` needs every required field, `partial` (update) does not. */
export interface ValidationMode {
  /** `create`/`upsert`/new `emplace` documents must be complete (contract §1.3). */
  complete: boolean;
  /** Only `create` and `upsert` check the default sorting field first (`validator.cpp` v29). */
  checkDefaultSortingField: boolean;
}

/** A validation failure: the import line's `code` and `error`. */
export interface ValidationError {
  code: number;
  error: string;
}

const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The default `dirty_values`: `reject` unless the schema has a `.*` field or regex field names, then
 * `coerce_or_reject` (contract §1.3, `collection.cpp:6935-6947`).
 */
export function defaultDirtyValues(schema: CollectionSchema): DirtyValues {
  return schema.fields.some((f) => f.name.includes('.*')) ? 'coerce_or_reject' : 'reject';
}

/** Parses `dirty_values` case-insensitively; an invalid value silently falls back (§1.3). */
export function parseDirtyValues(raw: string | null, schema: CollectionSchema): DirtyValues {
  const value = raw?.toLowerCase();
  if (value === 'reject' || value === 'drop' || value === 'coerce_or_reject' || value === 'coerce_or_drop') return value;
  return defaultDirtyValues(schema);
}

/**
 * Validates (and, when coercing, rewrites) `doc` in place against the schema, following
 * `validator_t::validate_index_in_memory` (contract §1.3): default sorting field first, then every
 * schema field in schema order. Fields outside the schema are never looked at.
 */
export function validateDocument(
  schema: CollectionSchema,
  doc: TypesenseDocument,
  mode: ValidationMode,
  dirty: DirtyValues,
  floats: ReadonlySet<string> = new Set(),
): ValidationError | undefined {
  const sortingField = schema.default_sorting_field;
  if (mode.checkDefaultSortingField && sortingField !== '' && !(sortingField in doc)) {
    return bad(`Field \`${sortingField}\` has been declared as a default sorting field, but is not found in the document.`);
  }
  for (const field of schema.fields) {
    // Dynamic and object fields are not type-checked here (see the report's "left out").
    if (isDynamicField(field) || field.type === 'object' || field.type === 'object[]') continue;
    if (!(field.name in doc)) {
      if (field.optional || !mode.complete) continue;
      return bad(`Field \`${field.name}\` has been declared in the schema, but is not found in the document.`);
    }
    if (doc[field.name] === null && field.optional) {
      // `null` on an optional field counts as absent; on update it removes the stored value.
      if (mode.complete) delete doc[field.name];
      continue;
    }
    const error = checkValue(field, doc, dirty, floats);
    if (error !== undefined) return error;
  }
  return undefined;
}

function bad(error: string): ValidationError {
  return { code: 400, error };
}

/** Checks one present field (`validator_t::coerce_element`). */
function checkValue(
  field: FieldSchema,
  doc: TypesenseDocument,
  dirty: DirtyValues,
  floats: ReadonlySet<string>,
): ValidationError | undefined {
  const { name, type } = field;
  if (type === 'geopoint') {
    const value = doc[name];
    if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number')) {
      return bad(`Field \`${name}\` must be a 2 element array: [lat, lng].`);
    }
    return undefined;
  }
  if (!type.endsWith('[]')) {
    const scalar = SCALARS[type];
    if (scalar === undefined) return undefined; // geopolygon, image: not validated by the fake
    const isFloat = floats.has(name);
    return checkScalar(field, scalar, doc[name], isFloat, false, dirty, (v) => (doc[name] = v), () => delete doc[name]);
  }
  if (doc[name] === null) doc[name] = []; // `null` on a required array becomes `[]` (§1.3)
  const array = doc[name];
  if (!Array.isArray(array)) {
    if (field.optional && (dirty === 'drop' || dirty === 'coerce_or_drop')) {
      delete doc[name];
      return undefined;
    }
    return bad(`Field \`${name}\` must be an array.`);
  }
  if (type === 'geopoint[]') {
    const ok = array.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number'));
    return ok ? undefined : bad(`Field \`${name}\` must contain 2 element arrays: [ [lat, lng],... ].`);
  }
  const scalar = SCALARS[type.slice(0, -2)];
  if (scalar === undefined) return undefined;
  // Float-literal paths are indexed by the original position, which erasing elements shifts.
  for (let i = 0, original = 0; i < array.length; original++) {
    let erased = false;
    const isFloat = floats.has(`${name}/${original}`);
    const error = checkScalar(field, scalar, array[i], isFloat, true, dirty, (v) => (array[i] = v), () => {
      array.splice(i, 1);
      erased = true;
    });
    if (error !== undefined) return error;
    if (!erased) i++;
  }
  return undefined;
}

interface ScalarRule {
  /** The value needs no coercion; `isFloat` tells a `5.0` literal from `5`. */
  accepts(value: unknown, isFloat: boolean): boolean;
  /** Coerces a mismatching value, or returns `undefined` when it cannot. */
  coerce(value: unknown): unknown;
  /** Error text after "must be " for a scalar and for an array element. */
  single: string;
  element: string;
}

const SCALARS: Record<string, ScalarRule> = {
  string: {
    accepts: (v) => typeof v === 'string',
    coerce: (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined),
    single: 'a string',
    element: 'an array of string',
  },
  int32: {
    // JSON integers only: `5.0` is a float to nlohmann (§1.3). No range check here: in v29 only the
    // coercion path checks the int32 range (`validator.cpp`).
    accepts: (v, isFloat) => typeof v === 'number' && Number.isInteger(v) && !isFloat,
    coerce: (v) => coerceInteger(v, (n) => n >= -(2n ** 31n) && n <= BigInt(INT32_MAX)),
    single: 'an int32',
    element: 'an array of int32',
  },
  int64: {
    accepts: (v, isFloat) => typeof v === 'number' && Number.isInteger(v) && !isFloat,
    coerce: (v) => coerceInteger(v, inInt64),
    single: 'an int64',
    element: 'an array of int64',
  },
  float: {
    accepts: (v) => typeof v === 'number', // integers are accepted too
    coerce: (v) => {
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      return undefined;
    },
    single: 'a float',
    element: 'a array of float', // sic: `validator.cpp` says "a array of" for float and bool
  },
  bool: {
    accepts: (v) => typeof v === 'boolean',
    coerce: (v) => {
      if (v === 'true' || v === 1) return true;
      if (v === 'false' || v === 0) return false;
      return undefined;
    },
    single: 'a bool',
    element: 'a array of bool',
  },
};

function inInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** `coerce_int32_t`/`coerce_int64_t`: floats truncate, bools become 0/1, integer strings parse. */
function coerceInteger(value: unknown, inRange: (n: bigint) => boolean): unknown {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && /^-?\d+$/.test(value) && inRange(BigInt(value))) return Number(value);
  return undefined;
}

function checkScalar(
  field: FieldSchema,
  rule: ScalarRule,
  value: unknown,
  isFloat: boolean,
  inArray: boolean,
  dirty: DirtyValues,
  replace: (value: unknown) => void,
  erase: () => void,
): ValidationError | undefined {
  if (rule.accepts(value, isFloat)) return undefined;
  const mismatch = bad(`Field \`${field.name}\` must be ${inArray ? rule.element : rule.single}.`);
  if (dirty === 'reject') return mismatch;
  if (dirty === 'drop') {
    if (!field.optional) return mismatch;
    erase();
    return undefined;
  }
  const coerced = rule.coerce(value);
  if (coerced === undefined) {
    if (dirty === 'coerce_or_drop' && field.optional) {
      erase();
      return undefined;
    }
    return mismatch;
  }
  if (field.type.startsWith('int32') && typeof coerced === 'number' && coerced > INT32_MAX) {
    // Range check on the coercion path only (contract §1.3). `validator.cpp` drops an optional
    // value under coerce_or_reject (sic) and rejects it under coerce_or_drop.
    if (field.optional && dirty === 'coerce_or_reject') {
      erase();
      return undefined;
    }
    return bad(`Field \`${field.name}\` exceeds maximum value of int32.`);
  }
  replace(coerced);
  return undefined;
}
