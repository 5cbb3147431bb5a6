/** How many leading bytes of an identifier are kept: enough for the longest keyword we look for. */
export const WORD_PREFIX_BYTES = 10;

// Keywords by length; a word is compared only against the ones of its own length.
const KEYWORDS: readonly (readonly string[])[] = [[], [], ['or'], ['end'], ['case', 'copy', 'from'], ['begin', 'stdin'], ['create'], ['replace'], ['function'], ['procedure']];
type Keyword = 'create' | 'or' | 'replace' | 'function' | 'procedure' | 'begin' | 'case' | 'end' | 'copy' | 'from' | 'stdin';
const KEYWORD_BYTES = KEYWORDS.map((list) => list.map((k) => [k as Keyword, Buffer.from(k, 'latin1')] as const));

/**
 * Follows the identifiers of one statement the way psql's lexer (psqlscan.l) does, to answer two
 * questions the byte scanner cannot: does this `;` end the statement, and is this a `COPY … FROM STDIN`.
 *
 * psql keeps a `;` inside `BEGIN ATOMIC … END` of `CREATE [OR REPLACE] {FUNCTION|PROCEDURE}` in the
 * statement: it records the first letter of the first four identifiers when they are one of
 * create/or/replace/function/procedure, and while they spell c-f, c-p, c-o-r-f or c-o-r-p it counts BEGIN
 * (and CASE inside a BEGIN) up and END down, at parenthesis depth 0. A `;` ends the statement only at
 * parenthesis depth 0 and BEGIN depth 0 (so multi-action rules `DO (INSERT …; INSERT …)` stay whole too).
 */
export class StatementWords {
  parenDepth = 0;
  beginDepth = 0;
  /** The statement's first identifier is COPY and it has FROM STDIN at parenthesis depth 0. */
  copyFromStdin = false;
  private identifierCount = 0;
  private readonly letters = [0, 0, 0, 0];
  private isRoutine = false;
  private isCopy = false;
  private afterFrom = false;

  reset(): void {
    this.parenDepth = 0;
    this.beginDepth = 0;
    this.copyFromStdin = false;
    this.identifierCount = 0;
    this.letters[0] = this.letters[1] = this.letters[2] = this.letters[3] = 0;
    this.isRoutine = false;
    this.isCopy = false;
    this.afterFrom = false;
  }

  /** True when a `;` seen now ends the statement. */
  get atTopLevel(): boolean {
    return this.parenDepth === 0 && this.beginDepth === 0;
  }

  openParen(): void {
    this.parenDepth++;
    this.afterFrom = false;
  }

  closeParen(): void {
    if (this.parenDepth > 0) this.parenDepth--;
    this.afterFrom = false;
  }

  /** Any token that is not an identifier (operator, literal, number, quoted identifier). */
  otherToken(): void {
    this.afterFrom = false;
  }

  /** An unquoted identifier or keyword of `length` bytes; `prefix` holds its first bytes, ASCII-lower-cased. */
  identifier(prefix: Uint8Array, length: number): void {
    const index = this.identifierCount++;
    if (index >= 4 && (this.parenDepth !== 0 || !(this.isRoutine || this.isCopy))) {
      this.afterFrom = false; // the common case, kept cheap: nothing to look for in this word
      return;
    }
    const keyword = keywordOf(prefix, length);
    if (index < 4) {
      if (keyword === 'create' || keyword === 'or' || keyword === 'replace' || keyword === 'function' || keyword === 'procedure') {
        this.letters[index] = prefix[0] ?? 0;
        this.isRoutine = this.isRoutineDefinition();
      }
      if (index === 0) this.isCopy = keyword === 'copy';
    }
    if (this.parenDepth !== 0) {
      this.afterFrom = false;
      return;
    }
    if (this.isRoutine) {
      if (keyword === 'begin') this.beginDepth++;
      else if (keyword === 'case') {
        // CASE also ends with END; it only matters inside a BEGIN.
        if (this.beginDepth >= 1) this.beginDepth++;
      } else if (keyword === 'end') {
        if (this.beginDepth > 0) this.beginDepth--;
      }
    }
    if (this.isCopy) {
      if (this.afterFrom && keyword === 'stdin') this.copyFromStdin = true;
      this.afterFrom = keyword === 'from';
    }
  }

  private isRoutineDefinition(): boolean {
    const [a, b, c, d] = this.letters;
    const C = 0x63, F = 0x66, P = 0x70, O = 0x6f, R = 0x72;
    return a === C && (b === F || b === P || (b === O && c === R && (d === F || d === P)));
  }
}

function keywordOf(prefix: Uint8Array, length: number): Keyword | undefined {
  const candidates = KEYWORD_BYTES[length];
  if (candidates === undefined) return undefined;
  for (let k = 0; k < candidates.length; k++) {
    const [keyword, bytes] = candidates[k] as (typeof candidates)[number];
    let i = 0;
    while (i < length && bytes[i] === prefix[i]) i++;
    if (i === length) return keyword;
  }
  return undefined;
}
