import type { CollectionSpec } from './spec.js';

/** A table or view as a schema model knows it: what a spec query may read. */
export interface KnownRelation {
  schema: string;
  name: string;
  columns: readonly string[];
}

/** A relation a spec query reads (`FROM schema.table [AS] alias`, `JOIN …`). */
export interface RelationReference {
  schema: string;
  name: string;
  /** the alias, or the table name when there is none */
  alias: string;
  /** the alias renames the columns (`AS t(a, b)`): its columns cannot be checked by name */
  renamed: boolean;
}

/** A qualified column reference (`alias.column`). */
export interface ColumnReference {
  qualifier: string;
  column: string;
}

interface Token {
  kind: 'word' | 'quoted' | 'punct' | 'other';
  /** words lower-cased (as PostgreSQL folds them); quoted identifiers as written */
  text: string;
}

/** Words that end a FROM list at their depth. */
const FROM_ENDS = new Set(['where', 'group', 'having', 'window', 'order', 'limit', 'offset', 'fetch', 'for', 'union', 'except', 'intersect', 'returning', 'select']);

/** Words after which an identifier is not an alias but the next clause. */
const CLAUSE_WORDS = new Set([
  'where', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross', 'natural', 'on', 'using', 'group', 'order', 'limit',
  'offset', 'union', 'except', 'intersect', 'having', 'window', 'fetch', 'for', 'tablesample', 'returning', 'lateral', 'select',
]);

/**
 * The tables a spec query reads and the qualified columns it names, read from its text (comments, string
 * literals and dollar quotes skipped; quoted identifiers kept as written). Only schema-qualified relations are
 * listed: a spec query names them so (the session's search_path is not assumed), and an unqualified name may be a
 * CTE. A heuristic reader, not a parser: it errs towards listing less, never a reference that is not there.
 */
export function specReferences(query: string): { relations: RelationReference[]; columns: ColumnReference[] } {
  const tokens = tokenize(query);
  const relations: RelationReference[] = [];
  const columns: ColumnReference[] = [];
  const isWord = (t: Token | undefined, text: string) => t?.kind === 'word' && t.text === text;
  const isPunct = (t: Token | undefined, text: string) => t?.kind === 'punct' && t.text === text;
  const identifier = (t: Token | undefined) => t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !CLAUSE_WORDS.has(t.text)));

  /** Reads `[ONLY|LATERAL] name[.name…] [[AS] alias [(…)]]` at `j`; returns where reading stopped. */
  const readRelation = (j: number): number => {
    while (isWord(tokens[j], 'only') || isWord(tokens[j], 'lateral')) j++;
    const parts: string[] = [];
    let k = j;
    while (identifier(tokens[k]) || (parts.length > 0 && tokens[k]?.kind === 'word')) {
      parts.push(tokens[k]!.text);
      if (!isPunct(tokens[k + 1], '.')) break;
      k += 2;
    }
    // nothing named here (a subquery), or a function call in FROM
    if (parts.length === 0 || isPunct(tokens[k + 1], '(')) return j;
    k++;
    let alias = parts.at(-1)!;
    let renamed = false;
    if (isWord(tokens[k], 'as')) k++;
    if (identifier(tokens[k])) {
      alias = tokens[k]!.text;
      k++;
      renamed = isPunct(tokens[k], '(');
    }
    if (parts.length >= 2) relations.push({ schema: parts.at(-2)!, name: parts.at(-1)!, alias, renamed });
    return k;
  };

  // per parenthesis depth: whether a comma there separates FROM items (`FROM a x JOIN b y ON …, c z`)
  const inFrom: boolean[] = [false];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === '(') {
      inFrom[++depth] = false;
      continue;
    }
    if (token.kind === 'punct' && token.text === ')') {
      depth = Math.max(0, depth - 1);
      continue;
    }
    if (isWord(token, 'from') || isWord(token, 'join') || (isPunct(token, ',') && inFrom[depth])) {
      inFrom[depth] = true;
      i = readRelation(i + 1) - 1;
      continue;
    }
    if (token.kind === 'word' && FROM_ENDS.has(token.text)) inFrom[depth] = false;
    // alias.column: a word, a dot, a word; not part of a longer name, not a function call, not after "::"
    const dot = tokens[i + 1];
    const next = tokens[i + 2];
    const before = tokens[i - 1];
    if ((token.kind === 'word' || token.kind === 'quoted') && isPunct(dot, '.') && (next?.kind === 'word' || next?.kind === 'quoted')) {
      const longer = isPunct(before, '.') || isPunct(tokens[i + 3], '.') || isPunct(tokens[i + 3], '(');
      if (!longer && !isPunct(before, '::')) columns.push({ qualifier: token.text, column: next.text });
    }
  }
  return { relations, columns };
}

/**
 * Checks specs against the tables and views a dump will leave in the target, before anything is written: every
 * relation a spec query reads in one of `schemas` (the schemas the import replaces) must be among `relations`,
 * and every `alias.column` naming one of them must be one of its columns. Relations in other schemas are not
 * the dump's business (the import leaves them as they are) and are left to the reindex's own check. Returns the
 * problems, `collections[i] (name): …`, none when the specs fit.
 */
export function specModelProblems(specs: readonly CollectionSpec[], relations: readonly KnownRelation[], schemas: readonly string[]): string[] {
  const known = new Map(relations.map((r) => [`${r.schema}.${r.name}`, r]));
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    const at = `collections[${i}] (${spec.name})`;
    const refs = specReferences(spec.query);
    const byAlias = new Map<string, (KnownRelation | null)[]>();
    for (const ref of refs.relations) {
      if (!schemas.includes(ref.schema)) {
        byAlias.set(ref.alias, [...(byAlias.get(ref.alias) ?? []), null]);
        continue;
      }
      const relation = known.get(`${ref.schema}.${ref.name}`);
      if (!relation) {
        const message = `${at}: the query reads ${ref.schema}.${ref.name}, which the dump does not have`;
        if (!problems.includes(message)) problems.push(message);
        continue;
      }
      byAlias.set(ref.alias, [...(byAlias.get(ref.alias) ?? []), ref.renamed ? null : relation]);
    }
    for (const ref of refs.columns) {
      const candidates = byAlias.get(ref.qualifier);
      // an alias bound twice (in two subqueries) passes when any of its tables has the column
      if (!candidates || candidates.some((c) => c === null || c.columns.includes(ref.column))) continue;
      const tables = candidates.map((c) => `${c!.schema}.${c!.name}`).join(' or ');
      const message = `${at}: the query reads ${ref.qualifier}.${ref.column}, but ${tables} in the dump has no column "${ref.column}"`;
      if (!problems.includes(message)) problems.push(message);
    }
  });
  return problems;
}

/** Splits SQL into words, quoted identifiers and punctuation; comments, literals and numbers become `other`. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < sql.length) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      tokens.push({ kind: 'other', text: "''" });
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (sql[i] === '"') break;
        else text += sql[i++];
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? sql.length : end + tag.length;
      tokens.push({ kind: 'other', text: "''" });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const word = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'word', text: word.toLowerCase() });
      i += word.length;
    } else if (/[0-9]/.test(c)) {
      const number = /^[0-9][0-9.eE_]*/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'other', text: number });
      i += number.length;
    } else if (sql.startsWith('::', i)) {
      tokens.push({ kind: 'punct', text: '::' });
      i += 2;
    } else {
      // brackets nest like parentheses (a comma in `ARRAY[1, 2]` does not separate FROM items)
      const text = c === '[' ? '(' : c === ']' ? ')' : c;
      tokens.push({ kind: '.,();[]'.includes(c) ? 'punct' : 'other', text });
      i++;
    }
  }
  return tokens;
}
