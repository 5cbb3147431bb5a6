import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';
import { renderProblems, type Problem } from './problems.js';

/** Environment variables as a process has them (what main.ts passes in), or a test's object. */
export type Variables = Readonly<Record<string, string | undefined>>;

export interface VariablesOptions {
  /** Variables whose values are never shown in a problem (URLs with passwords, keys, tokens). */
  secret?: readonly string[];
  /** Problems of rules beyond the schema, listed with the schema's in the schema's order. */
  more?: readonly Problem[];
}

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

/**
 * Reads the variables a schema names: each value trimmed (unset and empty take the schema's `default`), numbers
 * and booleans (true/false, 1/0, yes/no) converted, then `Value.Convert` and `Value.Default`. Returns the
 * settings and every problem, one line each (`NAME must be a number >= 1, got "many"`), secrets never echoed.
 * `settings` is only meaningful when `problems` is empty.
 */
export function readVariables<T extends TObject>(schema: T, variables: Variables, options: VariablesOptions = {}): { settings: Static<T>; problems: string[] } {
  const given: Record<string, string> = {};
  const typed: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  for (const [name, property] of Object.entries(properties)) {
    const text = variables[name]?.trim();
    if (text === undefined || text === '') continue;
    given[name] = text;
    if (isNumberOrBoolean(property)) typed[name] = preconvert(property, text);
    else rest[name] = text;
  }
  // numbers and booleans converted here (Value.Convert would cut "2.5" to the integer 2); the rest by TypeBox
  const settings = Value.Default(schema, { ...(Value.Convert(schema, rest) as object), ...typed }) as Static<T>;
  const secret = new Set(options.secret ?? []);
  const problems = renderProblems(schema, settings, {
    style: 'variable',
    original: given,
    secret: (path) => secret.has(String(path[0])),
    more: options.more ?? [],
  });
  return { settings, problems };
}

function isNumberOrBoolean(property: Record<string, unknown>): boolean {
  return property.type === 'number' || property.type === 'integer' || property.type === 'boolean';
}

/**
 * Numbers as `Number()` reads them, left as text when they are not numbers (so the schema names them): unlike
 * `Value.Convert`, "2.5" is not cut to the integer 2. Booleans in the words people write in `.env` files.
 */
function preconvert(property: Record<string, unknown>, text: string): unknown {
  if (property.type === 'number' || property.type === 'integer') {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  if (property.type === 'boolean') {
    const lower = text.toLowerCase();
    return TRUE.has(lower) ? true : FALSE.has(lower) ? false : text;
  }
  return text;
}
