/** Why a plain-SQL dump could not be read. */
export type SqlStreamErrorCode =
  | 'DUMP_SQL_SYNTAX'
  | 'DUMP_BACKSLASH_COMMAND'
  | 'DUMP_STATEMENT_TOO_LARGE'
  | 'DUMP_UNTERMINATED';

/**
 * Raised by `readSqlStatements` for input it refuses. `line` is the 1-based line of the file the problem
 * starts at (the statement's, COPY's or meta-command's first line), so an operator can open the file there.
 */
export class SqlStreamError extends Error {
  readonly code: SqlStreamErrorCode;
  readonly line: number;

  constructor(code: SqlStreamErrorCode, message: string, line: number) {
    super(`${message} (line ${line})`);
    this.name = 'SqlStreamError';
    this.code = code;
    this.line = line;
  }
}
