import type { TSchema } from 'typebox';
import { Settings } from 'typebox/system';
import { Value } from 'typebox/value';

/** Where a problem is: property names and array indexes from the root of the checked value. */
export type ProblemPath = readonly (string | number)[];

/** A problem a schema cannot state (a repeated name, a rule between fields), merged into the list in document order. */
export interface Problem {
  path: ProblemPath;
  /** the text after the path, e.g. `"n" is already used by fields[1]` */
  message: string;
  /**
   * Sorts after the other problems of the same element (a rule checked once the element's parts are: a name
   * already used, a field that cannot sort), instead of at its property's place in the schema's order.
   */
  last?: boolean;
}

export interface RenderOptions {
  /**
   * `variable`: `NAME must be a number >= 1, got "many"` (environment variables); `document`:
   * `collections[1].fields[0].type: must be one of …, got "text"` (a JSON document).
   */
  style: 'variable' | 'document';
  /** The value as the user gave it (before conversion and defaults): what `got …` shows. Default: the checked value. */
  original?: unknown;
  /** Paths whose values must never be shown (passwords, keys, URLs with credentials): the line names them only. */
  secret?: (path: ProblemPath) => boolean;
  /** Problems found by rules beyond the schema, merged in document order. */
  more?: readonly Problem[];
}

/**
 * A schema may say in words what it wants (`errorMessage: 'must be a non-empty SQL SELECT'`); without it the
 * renderer words numbers, booleans and lists of allowed values itself, and falls back to TypeBox's message.
 */
export interface ProblemWording {
  errorMessage?: string;
}

/**
 * The one renderer of TypeBox errors: `Value.Errors(schema, value)` as one readable line per problem, each naming
 * its variable or path, what was wanted and what was found (never a secret's value), in document order, plus
 * the `more` problems of rules beyond the schema. Empty when the value is valid and no rule complained.
 */
export function renderProblems(schema: TSchema, value: unknown, options: RenderOptions): string[] {
  const original = 'original' in options ? options.original : value;
  const found = new Map<string, Problem>();
  const add = (problem: Problem) => {
    const key = JSON.stringify(problem.path);
    if (!found.has(key)) found.set(key, problem);
  };
  for (const error of allErrors(schema, value)) {
    const at = parsePointer(error.instancePath);
    const params = error.params as { additionalProperties?: string[]; requiredProperties?: string[] };
    if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) continue; // named below
    if (error.keyword === 'additionalProperties') {
      const allowed = Object.keys(propertiesOf(schemaAt(schema, at)) ?? {});
      for (const key of params.additionalProperties ?? []) add({ path: [...at, key], message: `unknown property (allowed: ${allowed.join(', ')})` });
      continue;
    }
    const paths = error.keyword === 'required' ? (params.requiredProperties ?? []).map((key) => [...at, key]) : [at];
    for (const path of paths) {
      const wanted = describe(schemaAt(schema, path)) ?? error.message;
      const got = options.secret?.(path) ? '' : `, got ${show(valueAt(original, path))}`;
      add({ path, message: `${wanted}${got}` });
    }
  }
  const problems = [...found.values(), ...(options.more ?? [])];
  const ordered = problems
    .map((problem, index) => ({ problem, index, rank: rankOf(schema, problem) }))
    .sort((a, b) => compareRanks(a.rank, b.rank) || a.index - b.index)
    .map(({ problem }) => problem);
  return ordered.map((p) => (options.style === 'variable' ? `${formatPath(p.path)} ${p.message}` : `${formatPath(p.path)}: ${p.message}`));
}

/** Every error of `value`: TypeBox stops at `maxErrors` (8) by default, too few to report every problem at once. */
function allErrors(schema: TSchema, value: unknown): ReturnType<typeof Value.Errors> {
  const limit = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: 10_000 });
  try {
    return Value.Errors(schema, value);
  } finally {
    Settings.Set({ maxErrors: limit });
  }
}

/** `['collections', 1, 'fields', 0, 'type']` → `collections[1].fields[0].type`; the empty path is `(root)`. */
export function formatPath(path: ProblemPath): string {
  if (path.length === 0) return '(root)';
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

/** A value as a problem line shows it: JSON, at most 60 characters; `nothing` when absent. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What a schema wants, in words: its errorMessage, or one for numbers, booleans and fixed lists; undefined otherwise. */
function describe(schema: Record<string, unknown> | undefined): string | undefined {
  if (!schema) return undefined;
  if (typeof schema.errorMessage === 'string') return schema.errorMessage;
  if (schema.type === 'boolean') return 'must be true or false';
  if (schema.type === 'number' || schema.type === 'integer') {
    const kind = schema.type === 'integer' ? 'a whole number' : 'a number';
    const { minimum: min, maximum: max } = schema as { minimum?: number; maximum?: number };
    if (min !== undefined && max !== undefined) return `must be ${kind} from ${min} to ${max}`;
    if (min !== undefined) return `must be ${kind} >= ${min}`;
    if (max !== undefined) return `must be ${kind} <= ${max}`;
    return `must be ${kind}`;
  }
  const choices = Array.isArray(schema.enum)
    ? schema.enum
    : Array.isArray(schema.anyOf) && (schema.anyOf as Record<string, unknown>[]).every((s) => 'const' in s)
      ? (schema.anyOf as Record<string, unknown>[]).map((s) => s.const)
      : null;
  if (choices) return `must be one of ${choices.map(String).join(', ')}`;
  return undefined;
}

function propertiesOf(schema: Record<string, unknown> | undefined): Record<string, Record<string, unknown>> | undefined {
  const properties = schema?.properties;
  return typeof properties === 'object' && properties !== null ? (properties as Record<string, Record<string, unknown>>) : undefined;
}

/** The sub-schema checking `path` (object properties and array items only), or undefined. */
function schemaAt(schema: TSchema, path: ProblemPath): Record<string, unknown> | undefined {
  let current: Record<string, unknown> | undefined = schema as Record<string, unknown>;
  for (const part of path) {
    if (!current) return undefined;
    if (typeof part === 'number') current = typeof current.items === 'object' ? (current.items as Record<string, unknown>) : undefined;
    else current = propertiesOf(current)?.[part];
  }
  return current;
}

function valueAt(value: unknown, path: ProblemPath): unknown {
  let current = value;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

/** `/collections/1/fields/0` → `['collections', 1, 'fields', 0]` */
function parsePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/**
 * Document order: array elements by index, properties in the schema's order (unknown properties first, as they
 * are usually the typo that explains the rest); a `last` problem after its element's other problems.
 */
function rankOf(schema: TSchema, problem: Problem): number[] {
  const rank: number[] = [];
  let current: Record<string, unknown> | undefined = schema as Record<string, unknown>;
  for (const part of problem.path) {
    if (typeof part === 'number') {
      rank.push(part);
      current = typeof current?.items === 'object' ? (current.items as Record<string, unknown>) : undefined;
    } else {
      const keys = Object.keys(propertiesOf(current) ?? {});
      rank.push(keys.indexOf(part));
      current = propertiesOf(current)?.[part];
    }
  }
  if (problem.last && rank.length > 0) rank[rank.length - 1] = Number.MAX_SAFE_INTEGER;
  return rank;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
