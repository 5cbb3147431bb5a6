import { fail, type CollectionSchema, type FieldSchema, type Outcome } from './schema.js';
import type { TypesenseDocument } from './state.js';

/** A compiled `filter_by`: true when the document matches. */
export type DocumentFilter = (doc: TypesenseDocument) => boolean;

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'clause'; field: string; op: Op; values: string[] };
type Op = ':' | '=' | '!=' | '>' | '>=' | '<' | '<=';

const PARSE_ERROR = 'Could not parse the filter query.';

/**
 * Compiles the `filter_by` subset of contract §1.4: `f:v`, `f:=v`, `f:[a,b]`, `f:!=v`, `f:!=[…]`,
 * `f:>n` `>=` `<` `<=`, ranges `f:[a..b]`, `&&`/`||` with parentheses, `id:[…]`, backtick quoting.
 * Only schema fields and `id` can be filtered: others give 404 (`src/filter.cpp:505`).
 */
export function compileFilter(expression: string, schema: CollectionSchema): Outcome<DocumentFilter> {
  const parser = new FilterParser(expression);
  let ast: Node;
  try {
    ast = parser.parseExpression();
    if (!parser.done()) return fail(400, PARSE_ERROR);
  } catch {
    return fail(400, PARSE_ERROR);
  }
  return compileNode(ast, schema);
}

function compileNode(node: Node, schema: CollectionSchema): Outcome<DocumentFilter> {
  if (node.kind !== 'clause') {
    const left = compileNode(node.left, schema);
    if (!left.ok) return left;
    const right = compileNode(node.right, schema);
    if (!right.ok) return right;
    const [l, r] = [left.value, right.value];
    return { ok: true, value: node.kind === 'and' ? (d) => l(d) && r(d) : (d) => l(d) || r(d) };
  }
  const field: Pick<FieldSchema, 'name' | 'type'> | undefined =
    node.field === 'id' ? { name: 'id', type: 'string' } : schema.fields.find((f) => f.name === node.field);
  if (field === undefined) return fail(404, `Could not find a filter field named \`${node.field}\` in the schema.`);
  const base = field.type.replace(/\[\]$/, '');
  const match = base === 'string' ? stringMatcher(node, field.name === 'id') : scalarMatcher(node, base);
  if (!match.ok) return match;
  const test = match.value;
  const matches = (doc: TypesenseDocument): boolean => {
    const value = doc[field.name];
    return Array.isArray(value) ? value.some(test) : value !== undefined && value !== null && test(value);
  };
  // `!=` is the complement of `=`: documents without the field match it too.
  return { ok: true, value: node.op === '!=' ? (d) => !matches(d) : matches };
}

function tokens(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t !== '');
}

function stringMatcher(node: Extract<Node, { kind: 'clause' }>, isId: boolean): Outcome<(v: unknown) => boolean> {
  if (!['=', '!=', ':'].includes(node.op)) return fail(400, PARSE_ERROR);
  if (isId || node.op !== ':') {
    // Exact match (ids compare byte for byte; string values case-insensitively, like Typesense's normalisation).
    const wanted = new Set(node.values.map((v) => (isId ? v : v.toLowerCase())));
    return { ok: true, value: (v) => typeof v === 'string' && wanted.has(isId ? v : v.toLowerCase()) };
  }
  // `f:v` on a string is a token match: every token of a value must occur in the field.
  const wanted = node.values.map(tokens);
  return {
    ok: true,
    value: (v) => {
      if (typeof v !== 'string') return false;
      const have = new Set(tokens(v));
      return wanted.some((words) => words.every((w) => have.has(w)));
    },
  };
}

function scalarMatcher(node: Extract<Node, { kind: 'clause' }>, type: string): Outcome<(v: unknown) => boolean> {
  if (type === 'bool') {
    if (!['=', '!=', ':'].includes(node.op) || !node.values.every((v) => v === 'true' || v === 'false')) return fail(400, PARSE_ERROR);
    const wanted = new Set(node.values.map((v) => v === 'true'));
    return { ok: true, value: (v) => typeof v === 'boolean' && wanted.has(v) };
  }
  if (type !== 'int32' && type !== 'int64' && type !== 'float') return fail(400, PARSE_ERROR);
  const tests: ((n: number) => boolean)[] = [];
  for (const raw of node.values) {
    const range = /^(.+?)\.\.(.+)$/.exec(raw);
    if (range !== null) {
      const [low, high] = [Number(range[1]), Number(range[2])];
      if (Number.isNaN(low) || Number.isNaN(high)) return fail(400, PARSE_ERROR);
      tests.push((n) => n >= low && n <= high);
      continue;
    }
    const x = raw.trim() === '' ? NaN : Number(raw);
    if (Number.isNaN(x)) return fail(400, PARSE_ERROR);
    const compare: Record<Op, (n: number) => boolean> = {
      ':': (n) => n === x, '=': (n) => n === x, '!=': (n) => n === x,
      '>': (n) => n > x, '>=': (n) => n >= x, '<': (n) => n < x, '<=': (n) => n <= x,
    };
    tests.push(compare[node.op]);
  }
  return { ok: true, value: (v) => typeof v === 'number' && tests.some((t) => t(v)) };
}

/** A small recursive-descent parser; `&&` binds tighter than `||`. */
class FilterParser {
  #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  done(): boolean {
    this.#skipSpace();
    return this.#pos >= this.#text.length;
  }

  parseExpression(): Node {
    let left = this.#parseAnd();
    while (this.#eat('||')) left = { kind: 'or', left, right: this.#parseAnd() };
    return left;
  }

  #parseAnd(): Node {
    let left = this.#parsePrimary();
    while (this.#eat('&&')) left = { kind: 'and', left, right: this.#parsePrimary() };
    return left;
  }

  #parsePrimary(): Node {
    if (this.#eat('(')) {
      const inner = this.parseExpression();
      if (!this.#eat(')')) throw new Error('unbalanced');
      return inner;
    }
    this.#skipSpace();
    const colon = this.#text.indexOf(':', this.#pos);
    if (colon < 0) throw new Error('no colon');
    const field = this.#text.slice(this.#pos, colon).trim();
    if (field === '') throw new Error('no field');
    this.#pos = colon + 1;
    this.#skipSpace();
    let op: Op = ':';
    for (const candidate of ['!=', '>=', '<=', '=', '>', '<'] as const) {
      if (this.#text.startsWith(candidate, this.#pos)) {
        op = candidate;
        this.#pos += candidate.length;
        break;
      }
    }
    this.#skipSpace();
    const values = this.#text[this.#pos] === '[' ? this.#parseList() : [this.#parseValue(false)];
    if (values.length === 0 || values.some((v) => v === '')) throw new Error('empty value');
    return { kind: 'clause', field, op, values };
  }

  #parseList(): string[] {
    this.#pos++; // '['
    const values: string[] = [];
    for (;;) {
      values.push(this.#parseValue(true));
      if (this.#eat(']')) return values;
      if (!this.#eat(',')) throw new Error('bad list');
    }
  }

  /** A bare or backtick-quoted value, ending at `&&`, `||`, `)` (or `,`/`]` inside a list). */
  #parseValue(inList: boolean): string {
    this.#skipSpace();
    if (this.#text[this.#pos] === '`') {
      const end = this.#text.indexOf('`', this.#pos + 1);
      if (end < 0) throw new Error('unterminated quote');
      const value = this.#text.slice(this.#pos + 1, end);
      this.#pos = end + 1;
      return value;
    }
    const start = this.#pos;
    while (this.#pos < this.#text.length) {
      const rest = this.#text.slice(this.#pos);
      if (rest.startsWith('&&') || rest.startsWith('||') || rest.startsWith(')')) break;
      if (inList && (rest.startsWith(',') || rest.startsWith(']'))) break;
      this.#pos++;
    }
    return this.#text.slice(start, this.#pos).trim();
  }

  #eat(token: string): boolean {
    this.#skipSpace();
    if (!this.#text.startsWith(token, this.#pos)) return false;
    this.#pos += token.length;
    return true;
  }

  #skipSpace(): void {
    while (this.#text[this.#pos] === ' ') this.#pos++;
  }
}
