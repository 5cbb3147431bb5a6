import { fieldColumn, idColumn, type CollectionSpec, type FieldSpec, type FieldType } from './spec.js';

/** A row turned into one JSONL line, or the reason it could not be. */
export type ConvertedRow =
  | { ok: true; id: string; json: string }
  | { ok: false; id: string | null; error: string };

/** Turns one result row (as postgres.js returns it) into a document. */
export type DocumentMapper = (row: Readonly<Record<string, unknown>>) => ConvertedRow;

type ScalarType = 'string' | 'int32' | 'int64' | 'float' | 'bool';
/** Returns the value as a JSON fragment, or throws a {@link ConversionError}. */
type Encoder = (value: unknown) => string;

class ConversionError extends Error {}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** An integer written in decimal, optionally with a zero fraction (numeric(10,2) gives "12.00"). */
const INTEGER_TEXT = /^\s*([-+]?\d+)(?:\.0*)?\s*$/;
/** A decimal number as PostgreSQL prints numeric/float values (no NaN/Infinity: they are not JSON). */
const DECIMAL_TEXT = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/**
 * Compiles a spec's field list into a row → JSONL converter. The JSON text is written here rather than by
 * JSON.stringify so that an int64 beyond 2^53 keeps every digit (JSON has no precision limit and Typesense
 * parses int64 exactly; a JS number would round it, a string would be refused under `dirty_values=reject`).
 *
 * - string ← text, numbers (decimal text), booleans, timestamps (ISO 8601), jsonb (its JSON text)
 * - int32/int64 ← integers, int8 and numeric text with no fraction, timestamps (epoch seconds); range-checked
 *   (Typesense itself does not range-check int32 under `reject`)
 * - float ← numbers, numeric text; NaN and ±Infinity are errors
 * - bool ← booleans
 * - arrays ← PostgreSQL arrays (one dimension), every element converted as above; a NULL element is an error
 * - NULL: left out when the field is optional, `[]` for a non-optional array, otherwise an error
 */
export function createDocumentMapper(spec: CollectionSpec): DocumentMapper {
  const idKey = idColumn(spec);
  const fields = spec.fields.map((field) => ({
    key: JSON.stringify(field.name),
    column: fieldColumn(field),
    field,
    encode: fieldEncoder(field.type),
    isArray: field.type.endsWith('[]'),
  }));
  return (row) => {
    let id: string;
    try {
      id = documentId(row[idKey]);
    } catch (error) {
      return { ok: false, id: null, error: `id (column "${idKey}"): ${(error as Error).message}` };
    }
    let json = `{"id":${JSON.stringify(id)}`;
    for (const { key, column, field, encode, isArray } of fields) {
      const value = row[column];
      if (value === null || value === undefined) {
        if (field.optional === true) continue;
        if (isArray) {
          json += `,${key}:[]`;
          continue;
        }
        return { ok: false, id, error: `${describe(field)}: is NULL but the field is not optional` };
      }
      try {
        json += `,${key}:${encode(value)}`;
      } catch (error) {
        if (!(error instanceof ConversionError)) throw error;
        return { ok: false, id, error: `${describe(field)}: ${error.message}` };
      }
    }
    return { ok: true, id, json: `${json}}` };
  };
}

function describe(field: FieldSpec): string {
  const column = fieldColumn(field);
  return column === field.name ? `field "${field.name}" (${field.type})` : `field "${field.name}" (${field.type}, column "${column}")`;
}

function documentId(value: unknown): string {
  if (typeof value === 'string') {
    if (value === '') throw new ConversionError('is an empty string');
    return value;
  }
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) return String(value);
  if (value === null || value === undefined) throw new ConversionError('is NULL');
  throw new ConversionError(`${preview(value)} is not a string or an integer`);
}

function fieldEncoder(type: FieldType): Encoder {
  if (!type.endsWith('[]')) return SCALAR_ENCODERS[type as ScalarType];
  const element = SCALAR_ENCODERS[type.slice(0, -2) as ScalarType];
  return (value) => {
    if (!Array.isArray(value)) throw new ConversionError(`${preview(value)} is not an array`);
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || item === undefined) throw new ConversionError(`element [${i}] is NULL`);
      if (Array.isArray(item)) throw new ConversionError('is a multi-dimensional array');
      try {
        parts.push(element(item));
      } catch (error) {
        if (error instanceof ConversionError) throw new ConversionError(`element [${i}]: ${error.message}`);
        throw error;
      }
    }
    return `[${parts.join(',')}]`;
  };
}

const SCALAR_ENCODERS: Record<ScalarType, Encoder> = {
  string(value) {
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'number' && Number.isFinite(value)) return JSON.stringify(String(value));
    if (typeof value === 'bigint') return `"${value}"`;
    if (typeof value === 'boolean') return value ? '"true"' : '"false"';
    if (value instanceof Date) return JSON.stringify(isoTime(value));
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)) {
      return JSON.stringify(JSON.stringify(value)); // jsonb: its JSON text
    }
    throw new ConversionError(`${preview(value)} cannot be a string`);
  },
  int32: (value) => integer(value, INT32_MIN, INT32_MAX, 'int32'),
  int64: (value) => integer(value, INT64_MIN, INT64_MAX, 'int64'),
  float(value) {
    let n: number | undefined;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'bigint') n = Number(value);
    else if (typeof value === 'string' && DECIMAL_TEXT.test(value)) n = Number(value);
    if (n === undefined) throw new ConversionError(`${preview(value)} is not a number`);
    if (!Number.isFinite(n)) throw new ConversionError(`${preview(value)} is not a finite number`);
    return JSON.stringify(n);
  },
  bool(value) {
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    throw new ConversionError(`${preview(value)} is not a boolean`);
  },
};

/** An integer as exact JSON digits: a JS number when safe, the decimal text otherwise. */
function integer(value: unknown, min: bigint, max: bigint, type: string): string {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new ConversionError(`${preview(value)} is not an integer`);
    n = BigInt(value);
  } else if (typeof value === 'bigint') {
    n = value;
  } else if (typeof value === 'string') {
    const match = INTEGER_TEXT.exec(value);
    if (match === null) throw new ConversionError(`${preview(value)} is not an integer`);
    n = BigInt(match[1] as string);
  } else if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new ConversionError('is an invalid timestamp');
    n = BigInt(Math.floor(ms / 1000)); // epoch seconds; floor keeps pre-1970 instants in the right second
  } else {
    throw new ConversionError(`${preview(value)} is not an integer`);
  }
  if (n < min || n > max) throw new ConversionError(`${n} is out of the ${type} range`);
  return n.toString();
}

function isoTime(value: Date): string {
  if (Number.isNaN(value.getTime())) throw new ConversionError('is an invalid timestamp');
  return value.toISOString();
}

function preview(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'bigint') return `${value}`;
  if (Buffer.isBuffer(value)) return `bytea (${value.length} bytes)`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
