import { quoteIdent } from '../ddl/quote.js';

/**
 * Decides where a schema-qualified reference points once the replacement schemas are built under temporary
 * names: the new schema's name, or null to leave the reference as it is.
 */
export type SchemaResolver = (schema: string, name: string) => string | null;

/** Casts that resolve a name held in a string literal when the statement runs ('public.seq'::regclass). */
const NAME_CASTS = new Set([
  'regclass', 'regtype', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regconfig', 'regdictionary',
  'regnamespace', 'regcollation',
]);

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OPERATOR_CHAR = /[+\-*/<>=~!@#%^&|`?]/;

interface Ident {
  value: string;
  end: number;
}

/** An identifier at `i` (unquoted: case-folded; quoted: unescaped), or null. */
function readIdent(text: string, i: number): Ident | null {
  if (text[i] === '"') {
    let j = i + 1;
    let value = '';
    for (;;) {
      const q = text.indexOf('"', j);
      if (q === -1) return null;
      value += text.slice(j, q);
      if (text[q + 1] === '"') {
        value += '"';
        j = q + 2;
        continue;
      }
      return { value, end: q + 1 };
    }
  }
  if (!IDENT_START.test(text[i] ?? '')) return null;
  let j = i + 1;
  while (j < text.length && IDENT_PART.test(text[j]!)) j++;
  return { value: text.slice(i, j).toLowerCase(), end: j };
}

/** The end of a literal starting at `i` ('…', E'…', $tag$…$tag$), or -1 when it does not close. */
function literalEnd(text: string, i: number, escapes: boolean): number {
  let j = i + 1;
  for (;;) {
    if (j >= text.length) return -1;
    const ch = text[j]!;
    if (escapes && ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === "'") {
      if (text[j + 1] === "'") {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
}

/** The reg* type a literal ending at `i` is cast to (`::regclass`, `::pg_catalog.regclass`), or null. */
function castAfter(text: string, i: number): string | null {
  const m = /^::\s*(?:pg_catalog\s*\.\s*)?([a-z]+)/i.exec(text.slice(i, i + 40));
  const type = m?.[1]?.toLowerCase();
  return type && NAME_CASTS.has(type) ? type : null;
}

/** Rewrites the schema of the qualified name inside a reg* literal's text ('public.seq', 'public.f(integer)'). */
function rewriteNameLiteral(content: string, type: string, resolve: SchemaResolver): string {
  const schema = readIdent(content, 0);
  if (!schema) return content;
  if (type === 'regnamespace') {
    if (schema.end !== content.length) return content;
    const target = resolve(schema.value, '');
    return target === null ? content : quoteIdent(target);
  }
  if (content[schema.end] !== '.') return content;
  const rest = content.slice(schema.end + 1);
  const name = readIdent(rest, 0)?.value ?? /^[+\-*/<>=~!@#%^&|`?]+/.exec(rest)?.[0];
  if (name === undefined) return content;
  const target = resolve(schema.value, name);
  return target === null ? content : `${quoteIdent(target)}.${rest}`;
}

/**
 * After the keyword SCHEMA: the comma-separated schema names that follow (IF NOT EXISTS skipped), each rewritten
 * as a schema of its own. Returns where reading stopped.
 */
function rewriteSchemaList(text: string, from: number, resolve: SchemaResolver, replace: (from: number, to: number, value: string) => void): number {
  let i = from;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipSpace();
  const ifNotExists = /^IF\s+NOT\s+EXISTS\b/i.exec(text.slice(i, i + 40));
  if (ifNotExists) {
    i += ifNotExists[0].length;
    skipSpace();
  }
  for (;;) {
    const name = readIdent(text, i);
    // a qualified name after SCHEMA is not a schema (e.g. a column called schema); leave it to the caller's scan
    if (!name || text[name.end] === '.') return i;
    const target = resolve(name.value, '');
    if (target !== null) replace(i, name.end, quoteIdent(target));
    i = name.end;
    skipSpace();
    if (text[i] !== ',') return i;
    i++;
    skipSpace();
  }
}

/**
 * Rewrites the schema of every schema-qualified reference in a statement the server deparsed under an empty
 * search_path (so every name outside pg_catalog is qualified): `schema.name` and `OPERATOR(schema.op)` in the
 * SQL text, and the names in literals cast to reg* types. String literals, dollar-quoted bodies and comments
 * are otherwise left untouched: a function body is bound when it runs, by its own search_path.
 *
 * Purely lexical, so a table alias spelled like a replaced schema (`SELECT public.id FROM t public`) would be
 * rewritten too: the caller checks the built objects against the dump's model and falls back when they differ.
 */
export function rewriteSchemas(text: string, resolve: SchemaResolver): string {
  let out = '';
  let i = 0;
  let copied = 0;
  // the previous significant character: a `.` before an identifier makes it a second name part, never a schema
  let previous = '';
  const replace = (from: number, to: number, value: string) => {
    out += text.slice(copied, from) + value;
    copied = to;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < text.length && depth > 0) {
        if (text[j] === '/' && text[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (text[j] === '*' && text[j + 1] === '/') {
          depth--;
          j += 2;
        } else {
          j++;
        }
      }
      i = j;
      continue;
    }
    if (ch === "'" || ((ch === 'E' || ch === 'e') && text[i + 1] === "'" && !IDENT_PART.test(text[i - 1] ?? ' '))) {
      const start = ch === "'" ? i : i + 1;
      const end = literalEnd(text, start, ch !== "'");
      if (end === -1) break;
      const type = ch === "'" ? castAfter(text, end) : null;
      if (type) {
        const content = text.slice(start + 1, end - 1);
        const rewritten = rewriteNameLiteral(content.replace(/''/g, "'"), type, resolve).replace(/'/g, "''");
        if (rewritten !== content) replace(start + 1, end - 1, rewritten);
      }
      i = end;
      previous = "'";
      continue;
    }
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag && !IDENT_PART.test(text[i - 1] ?? ' ')) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? text.length : end + tag[0].length;
        previous = '$';
        continue;
      }
    }
    const ident = readIdent(text, i);
    if (ident) {
      if (text[i] !== '"' && ident.value === 'schema' && previous !== '.') {
        // a schema named on its own: CREATE/ALTER/COMMENT ON SCHEMA s, WITH SCHEMA s, SET SCHEMA s, IN SCHEMA s, t
        i = rewriteSchemaList(text, ident.end, resolve, replace);
        previous = 'a';
        continue;
      }
      if (previous !== '.' && text[ident.end] === '.') {
        const after = ident.end + 1;
        const next = readIdent(text, after);
        const name = next?.value ?? /^[+\-*/<>=~!@#%^&|`?]+/.exec(text.slice(after, after + 64))?.[0];
        if (name !== undefined && (next !== null || OPERATOR_CHAR.test(text[after] ?? ''))) {
          const target = resolve(ident.value, name);
          if (target !== null) replace(i, ident.end, quoteIdent(target));
        }
      }
      i = ident.end;
      previous = 'a';
      continue;
    }
    if (/[0-9]/.test(ch)) {
      // a number (1.5, 1e3) is not a qualified name
      const m = /^[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 64));
      i += m?.[0].length ?? 1;
      previous = '0';
      continue;
    }
    previous = ch;
    i++;
  }
  return out + text.slice(copied);
}
