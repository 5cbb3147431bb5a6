import { isUtf8 } from 'node:buffer';
import type { ByteSource } from './byte-source.js';
import { META_LINE_LIMIT, parseMetaCommand } from './meta-command.js';
import { SqlStreamError } from './sql-stream-error.js';
import { StatementWords, WORD_PREFIX_BYTES } from './statement-words.js';

/** What the lexer stops at: a complete statement, the header of a COPY … FROM STDIN block, or a meta-command. */
export type LexResult =
  | { kind: 'statement'; sql: string; line: number; endLine: number }
  | { kind: 'copy'; sql: string; line: number }
  | { kind: 'meta'; command: 'restrict' | 'unrestrict'; argument: string; line: number };

// Lexer states. Each `*_STOP`/`DASH`/`SLASH` state is a one-byte lookahead that survives a chunk boundary.
const NORMAL = 0;
const DASH = 1; // saw '-': a comment or an operator
const SLASH = 2; // saw '/': a comment or an operator
const LINE_COMMENT = 3;
const BLOCK = 4;
const BLOCK_STAR = 5;
const BLOCK_SLASH = 6;
const QUOTE = 7; // '…' (also B'…', X'…', N'…', U&'…')
const IDENT_QUOTE = 8; // "…"
const E_QUOTE = 9; // E'…'
const E_ESCAPE = 10; // after a backslash in E'…'
const E_END = 11; // after a quote in E'…': '' or the end
const E_STOP = 12; // after E'…' and spaces: a newline could continue the literal (scan.l quotecontinue)
const E_STOP_NEWLINE = 13; // … after the newline: a quote continues it
const E_STOP_DASH = 14;
const E_STOP_COMMENT = 15;
const DOLLAR_OPEN = 16; // saw '$' at a token start: reading a dollar-quote tag
const DOLLAR_BODY = 17;
const DOLLAR_CLOSE = 18; // matching the closing $tag$
const META = 19; // a backslash command, to the end of its line
const COPY_REST = 20; // the rest of the line after COPY … FROM stdin;
const COPY_REST_DASH = 21;
const COPY_REST_COMMENT = 22;

/** 1: starts and continues an identifier (letters, _, bytes ≥ 0x80); 2: only continues it (digits, $). */
const IDENT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80) IDENT[c] = 1;
  else if ((c >= 0x30 && c <= 0x39) || c === 0x24) IDENT[c] = 2;
}


/**
 * A byte-level state machine over the SQL part of a dump, following PostgreSQL's scan.l/psqlscan.l at
 * statement level. All state lives in fields, so a token may be split across chunks anywhere.
 */
export class StatementLexer {
  private state = NORMAL;
  // The statement being collected: slices of earlier chunks plus [start, pos) of the current one.
  private hasContent = false;
  private start = -1;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private startLine = 0;
  private readonly words = new StatementWords();
  /** Length of the identifier being read; -1 inside a number or parameter; 0 between words. */
  private wordLength = 0;
  private readonly word = new Uint8Array(WORD_PREFIX_BYTES);
  private escapeString = false;
  private standardStrings = true;
  private pendingStart = -1; // index of a '-' or '/' in the current chunk, -1 when it was in an earlier one
  private pendingLine = 0;
  private constructLine = 0; // where the open string, comment or dollar quote began
  private commentDepth = 0;
  private tag: number[] = [];
  private tagMatched = 0;
  private meta: number[] = [];
  private metaLine = 0;
  private metaInStatement = false;
  private copy: { sql: string; line: number } | undefined;

  constructor(private readonly maxStatementBytes: number) {}

  /** Scans the current chunk from `src.pos`; returns a result (pos just past it) or undefined once the chunk is used up. */
  scan(src: ByteSource): LexResult | undefined {
    const buf = src.buf;
    const n = buf.length;
    let i = src.pos;
    let line = src.line;
    let state = this.state;
    this.pendingStart = -1;
    if (this.hasContent && this.start < 0) this.start = i;

    while (i < n) {
      let c = buf[i] as number;
      switch (state) {
        case NORMAL: {
          const cls = IDENT[c] as number;
          if (cls !== 0) {
            if (c === 0x24 && this.wordLength === 0) {
              // '$' at a token start: maybe a dollar quote ($1 and a$b$ are not)
              if (!this.hasContent) this.begin(i, line);
              this.words.otherToken();
              this.tag = [];
              this.constructLine = line;
              state = DOLLAR_OPEN;
            } else {
              // the rest of an identifier or number, in one tight loop
              let length = this.wordLength;
              if (length === 0) {
                if (!this.hasContent) this.begin(i, line);
                length = cls === 1 ? 0 : -1;
              }
              const word = this.word;
              for (; i < n; i++) {
                c = buf[i] as number;
                if (IDENT[c] === 0) break;
                if (length >= 0) {
                  if (length < WORD_PREFIX_BYTES) word[length] = c | 0x20;
                  length++;
                }
              }
              this.wordLength = length;
              break;
            }
            i++;
            break;
          }
          if (this.wordLength !== 0) this.endWord(c);
          switch (c) {
            case 0x0a:
              line++;
              i++;
              break;
            case 0x20: case 0x09: case 0x0d: case 0x0c: case 0x0b:
              i++;
              break;
            case 0x27: // '
              if (!this.hasContent) this.begin(i, line);
              this.words.otherToken();
              this.constructLine = line;
              state = this.escapeString || !this.standardStrings ? E_QUOTE : QUOTE;
              this.escapeString = false;
              i++;
              break;
            case 0x22: // "
              if (!this.hasContent) this.begin(i, line);
              this.words.otherToken();
              this.constructLine = line;
              state = IDENT_QUOTE;
              i++;
              break;
            case 0x2d: // -
              this.pendingStart = i;
              this.pendingLine = line;
              state = DASH;
              i++;
              break;
            case 0x2f: // /
              this.pendingStart = i;
              this.pendingLine = line;
              state = SLASH;
              i++;
              break;
            case 0x3b: { // ;
              i++;
              if (!this.hasContent) break; // an empty statement: nothing to send
              if (!this.words.atTopLevel) break;
              const result = this.endStatement(buf, i, line);
              if (result) {
                this.state = NORMAL;
                src.pos = i;
                src.line = line;
                return result;
              }
              state = COPY_REST;
              break;
            }
            case 0x28: // (
              if (!this.hasContent) this.begin(i, line);
              this.words.openParen();
              i++;
              break;
            case 0x29: // )
              if (!this.hasContent) this.begin(i, line);
              this.words.closeParen();
              i++;
              break;
            case 0x5c: // \ outside any literal: a psql meta-command
              this.meta = [];
              this.metaLine = line;
              this.metaInStatement = this.hasContent;
              state = META;
              i++;
              break;
            default:
              if (!this.hasContent) this.begin(i, line);
              this.words.otherToken();
              i++;
          }
          break;
        }
        case DASH:
        case SLASH:
          if (c === (state === DASH ? 0x2d : 0x2a)) {
            this.constructLine = this.pendingLine;
            this.commentDepth = 1;
            state = state === DASH ? LINE_COMMENT : BLOCK;
            i++;
            break;
          }
          // An operator character after all: it is content; rescan c as usual.
          if (!this.hasContent) this.beginPending(i, state === DASH ? 0x2d : 0x2f);
          this.words.otherToken();
          state = NORMAL;
          break;
        case LINE_COMMENT: {
          const end = buf.indexOf(0x0a, i);
          if (end < 0) {
            i = n;
          } else {
            line++;
            i = end + 1;
            state = NORMAL;
          }
          break;
        }
        case BLOCK:
          for (; i < n; i++) {
            c = buf[i] as number;
            if (c === 0x0a) line++;
            else if (c === 0x2a) { state = BLOCK_STAR; i++; break; }
            else if (c === 0x2f) { state = BLOCK_SLASH; i++; break; }
          }
          break;
        case BLOCK_STAR:
          if (c === 0x2f) {
            i++;
            state = --this.commentDepth === 0 ? NORMAL : BLOCK;
          } else if (c === 0x2a) i++;
          else state = BLOCK;
          break;
        case BLOCK_SLASH:
          if (c === 0x2a) {
            i++;
            this.commentDepth++;
            state = BLOCK;
          } else if (c === 0x2f) i++;
          else state = BLOCK;
          break;
        case QUOTE:
        case IDENT_QUOTE: {
          // '' and "" need no special case: ending and reopening the literal splits the same way.
          const close = state === QUOTE ? 0x27 : 0x22;
          for (; i < n; i++) {
            c = buf[i] as number;
            if (c === close) { state = NORMAL; i++; break; }
            if (c === 0x0a) line++;
          }
          break;
        }
        case E_QUOTE:
          for (; i < n; i++) {
            c = buf[i] as number;
            if (c === 0x27) { state = E_END; i++; break; }
            if (c === 0x5c) { state = E_ESCAPE; i++; break; }
            if (c === 0x0a) line++;
          }
          break;
        case E_ESCAPE:
          if (c === 0x0a) line++;
          state = E_QUOTE;
          i++;
          break;
        case E_END:
        case E_STOP:
          if (c === 0x27 && state === E_END) { state = E_QUOTE; i++; } // ''
          else if (c === 0x20 || c === 0x09 || c === 0x0c || c === 0x0b) { state = E_STOP; i++; }
          else if (c === 0x0a || c === 0x0d) { if (c === 0x0a) line++; state = E_STOP_NEWLINE; i++; }
          else state = NORMAL;
          break;
        case E_STOP_NEWLINE:
          if (c === 0x27) { state = E_QUOTE; i++; } // 'a'<newline>'b' continues the E'' literal
          else if (c === 0x2d) { state = E_STOP_DASH; i++; }
          else if (c === 0x20 || c === 0x09 || c === 0x0c || c === 0x0b || c === 0x0d) i++;
          else if (c === 0x0a) { line++; i++; }
          else state = NORMAL;
          break;
        case E_STOP_DASH:
          if (c === 0x2d) { state = E_STOP_COMMENT; i++; }
          else { this.words.otherToken(); state = NORMAL; }
          break;
        case E_STOP_COMMENT:
          for (; i < n; i++) {
            c = buf[i] as number;
            if (c === 0x0a || c === 0x0d) { if (c === 0x0a) line++; state = E_STOP_NEWLINE; i++; break; }
          }
          break;
        case DOLLAR_OPEN:
          if (c === 0x24) {
            state = DOLLAR_BODY;
            i++;
          } else if (IDENT[c] === 1 || (IDENT[c] === 2 && this.tag.length > 0)) {
            this.tag.push(c);
            i++;
          } else {
            // Not a delimiter: a lone '$' (or $1), and what followed is rescanned as an identifier.
            this.wordLength = -1;
            if (this.tag.length > 0) {
              this.wordLength = this.tag.length;
              for (let k = 0; k < WORD_PREFIX_BYTES && k < this.tag.length; k++) this.word[k] = (this.tag[k] as number) | 0x20;
            }
            state = NORMAL;
          }
          break;
        case DOLLAR_BODY:
          for (; i < n; i++) {
            c = buf[i] as number;
            if (c === 0x24) { this.tagMatched = 0; state = DOLLAR_CLOSE; i++; break; }
            if (c === 0x0a) line++;
          }
          break;
        case DOLLAR_CLOSE:
          if (this.tagMatched < this.tag.length) {
            if (c === this.tag[this.tagMatched]) { this.tagMatched++; i++; }
            else if (c === 0x24) { this.tagMatched = 0; i++; } // $junk$tag$: this '$' may start the real one
            else state = DOLLAR_BODY;
          } else if (c === 0x24) {
            state = NORMAL;
            i++;
          } else state = DOLLAR_BODY;
          break;
        case META: {
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? n : nl;
          if (this.meta.length + end - i > META_LINE_LIMIT) {
            throw new SqlStreamError('DUMP_SQL_SYNTAX', `psql meta-command line is longer than ${META_LINE_LIMIT} bytes`, this.metaLine);
          }
          for (let k = i; k < end; k++) this.meta.push(buf[k] as number);
          if (nl < 0) {
            i = n;
            break;
          }
          i = nl + 1;
          this.state = NORMAL;
          src.pos = i;
          src.line = line + 1;
          return this.endMeta();
        }
        case COPY_REST:
          if (c === 0x0a) {
            const copy = this.copy as { sql: string; line: number };
            this.copy = undefined;
            this.state = NORMAL;
            src.pos = i + 1;
            src.line = line + 1;
            return { kind: 'copy', sql: copy.sql, line: copy.line };
          }
          if (c === 0x2d) state = COPY_REST_DASH;
          else if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0c && c !== 0x0b) this.copyRestError();
          i++;
          break;
        case COPY_REST_DASH:
          if (c !== 0x2d) this.copyRestError();
          state = COPY_REST_COMMENT;
          i++;
          break;
        case COPY_REST_COMMENT: {
          const nl = buf.indexOf(0x0a, i);
          if (nl < 0) i = n;
          else { i = nl; state = COPY_REST; }
          break;
        }
      }
    }

    this.state = state;
    src.pos = n;
    src.line = line;
    if (this.hasContent) {
      this.keep(buf.subarray(this.start, n));
      this.start = -1;
    }
    return undefined;
  }

  /** End of input: a trailing meta-command, or null when everything before was complete; throws otherwise. */
  finish(): LexResult | null {
    const line = this.hasContent ? this.startLine : this.constructLine;
    switch (this.state) {
      case META:
        this.state = NORMAL;
        return this.endMeta();
      case NORMAL:
      case LINE_COMMENT:
        if (!this.hasContent) return null;
        break;
      case BLOCK: case BLOCK_STAR: case BLOCK_SLASH:
        throw unterminated(`unterminated /* comment starting at line ${this.constructLine}`, line);
      case QUOTE: case E_QUOTE: case E_ESCAPE:
        throw unterminated(`unterminated quoted string starting at line ${this.constructLine}`, line);
      case IDENT_QUOTE:
        throw unterminated(`unterminated quoted identifier starting at line ${this.constructLine}`, line);
      case DOLLAR_BODY: case DOLLAR_CLOSE:
        throw unterminated(`unterminated dollar-quoted string starting at line ${this.constructLine}`, line);
      case COPY_REST: case COPY_REST_DASH: case COPY_REST_COMMENT:
        throw unterminated('COPY … FROM stdin has no data and no terminating \\. line', this.copy?.line ?? line);
      case DASH: case SLASH:
        if (!this.hasContent) throw unterminated('statement is not terminated by ;', this.pendingLine);
        break;
    }
    throw unterminated('statement is not terminated by ;', this.startLine);
  }

  private begin(i: number, line: number): void {
    this.hasContent = true;
    this.start = i;
    this.startLine = line;
  }

  /** A statement that starts with the '-' or '/' held by DASH/SLASH (possibly at the end of the previous chunk). */
  private beginPending(i: number, byte: number): void {
    if (this.pendingStart >= 0) {
      this.begin(this.pendingStart, this.pendingLine);
    } else {
      this.begin(i, this.pendingLine);
      this.keep(Buffer.from([byte]));
    }
  }

  private keep(part: Buffer): void {
    this.partsBytes += part.length;
    if (this.partsBytes > this.maxStatementBytes) {
      throw new SqlStreamError(
        'DUMP_STATEMENT_TOO_LARGE',
        `statement is larger than the limit of ${this.maxStatementBytes} bytes`,
        this.startLine,
      );
    }
    this.parts.push(part);
  }

  private endWord(terminator: number): void {
    const length = this.wordLength;
    this.wordLength = 0;
    if (length < 0) {
      this.words.otherToken();
      return;
    }
    if (length === 1 && terminator === 0x27) {
      // E'…', B'…', X'…', N'…': a literal prefix, not an identifier
      const w = this.word[0];
      if (w === 0x65) { this.escapeString = true; return; }
      if (w === 0x62 || w === 0x78 || w === 0x6e) return;
    }
    this.words.identifier(this.word, length);
  }

  /** Completes the statement ending at `end` (just past its ';'): a statement result, or undefined for a COPY header. */
  private endStatement(buf: Buffer, end: number, line: number): LexResult | undefined {
    this.keep(buf.subarray(this.start, end));
    const sql = decode(this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.partsBytes), this.startLine);
    const startLine = this.startLine;
    const copy = this.words.copyFromStdin;
    this.hasContent = false;
    this.start = -1;
    this.parts = [];
    this.partsBytes = 0;
    this.wordLength = 0;
    this.escapeString = false;
    this.words.reset();
    if (copy) {
      this.copy = { sql, line: startLine };
      return undefined;
    }
    this.trackStandardStrings(sql);
    return { kind: 'statement', sql, line: startLine, endLine: line };
  }

  /** psql follows the server's standard_conforming_strings; a dump may switch it with SET or RESET. */
  private trackStandardStrings(sql: string): void {
    const first = sql.charCodeAt(0) | 0x20;
    if (first !== 0x73 && first !== 0x72) return; // s(et), r(eset)
    const set = /^set\s+(?:session\s+|local\s+)?standard_conforming_strings\s*(?:=|to)\s*'?(\w+)'?\s*;$/i.exec(sql);
    if (set) this.standardStrings = !/^(off|false|no|0|of|f|n)$/i.test(set[1] ?? '');
    else if (/^reset\s+(?:standard_conforming_strings|all)\s*;$/i.test(sql)) this.standardStrings = true;
  }

  private endMeta(): LexResult {
    const bytes = this.meta;
    this.meta = [];
    return parseMetaCommand(bytes, this.metaLine, this.metaInStatement);
  }

  private copyRestError(): never {
    throw new SqlStreamError(
      'DUMP_SQL_SYNTAX',
      'only a comment may follow COPY … FROM stdin; on its line: the data starts on the next line',
      this.copy?.line ?? 0,
    );
  }
}

function unterminated(message: string, line: number): SqlStreamError {
  return new SqlStreamError('DUMP_UNTERMINATED', message, line);
}

function decode(bytes: Buffer, line: number): string {
  if (!isUtf8(bytes)) throw new SqlStreamError('DUMP_SQL_SYNTAX', 'statement is not valid UTF-8', line);
  // PostgreSQL's protocol cannot carry a NUL inside a query (the server would answer "invalid message format")
  if (bytes.includes(0)) throw new SqlStreamError('DUMP_SQL_SYNTAX', 'statement contains a NUL byte', line);
  return bytes.toString('utf8');
}
