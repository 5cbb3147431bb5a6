/**
 * Conservative tests on deparsed SQL (pg_get_*def output taken with an empty search_path, so every object
 * outside pg_catalog comes back schema-qualified). Whatever they cannot prove harmless is refused: the caller
 * then builds the object in the final transaction instead of the staging schema.
 */

/** Removes string literals ('…', E'…' with backslash escapes, $tag$…$tag$) so their text is never read as SQL. */
function stripLiterals(text: string): string | null {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'") {
      const escaped = i > 0 && /[eE]/.test(text[i - 1]!) && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? ' ');
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return null;
        if (escaped && text[j] === '\\') { j += 2; continue; }
        if (text[j] === "'") {
          if (text[j + 1] === "'") { j += 2; continue; }
          break;
        }
        j++;
      }
      out += "''";
      i = j + 1;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (tag && !/[A-Za-z0-9_]/.test(text[i - 1] ?? ' ')) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        if (end === -1) return null;
        out += "''";
        i = end + tag[0].length;
        continue;
      }
    }
    if (ch === '"') {
      // quoted identifiers are kept (a qualified one must still be seen), but may hold quotes and dots
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return null;
        if (text[j] === '"') {
          if (text[j + 1] === '"') { j += 2; continue; }
          break;
        }
        j++;
      }
      out += '"x"';
      i = j + 1;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

const QUALIFIED = /(?:[A-Za-z_][A-Za-z0-9_$]*|"x")\s*\.\s*(?:[A-Za-z_"])/;
/** Casts to reg* types resolve names held in string literals (e.g. 'public.t'::regclass). */
const NAME_CAST = /::\s*(?:pg_catalog\s*\.\s*)?reg[a-z]*/i;
/** OPERATOR(schema.op) and anything else spelled with OPERATOR( is someone's operator. */
const OPERATOR = /\bOPERATOR\s*\(/i;

/**
 * True when `text` may name an object outside pg_catalog (a qualified name, a reg* cast of a literal, an
 * OPERATOR(…) call) or cannot be read. Only text for which this is false may be built in a staging schema.
 */
export function mayReferToUserObjects(text: string): boolean {
  const bare = stripLiterals(text);
  if (bare === null) return true;
  return QUALIFIED.test(bare) || NAME_CAST.test(bare) || OPERATOR.test(bare);
}

/** A pg_catalog type spelled as format_type prints it with an empty search_path: unqualified, unquoted. */
export function isCatalogType(type: string): boolean {
  return /^[a-z][a-z0-9 _(),[\]]*$/.test(type);
}

/** A collation of pg_catalog ("C", "POSIX", ICU/libc ones created by initdb), as the model spells it. */
export function isCatalogCollation(collation: string): boolean {
  return /^pg_catalog\.(?:"[^"]+"|[a-z_][a-z0-9_]*)$/.test(collation);
}
