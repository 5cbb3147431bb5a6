import { ByteSource } from './sql-stream/byte-source.js';
import { CopyDataReader } from './sql-stream/copy-data.js';
import { StatementLexer } from './sql-stream/statement-lexer.js';
import type { LexResult } from './sql-stream/statement-lexer.js';

export { SqlStreamError } from './sql-stream/sql-stream-error.js';
export type { SqlStreamErrorCode } from './sql-stream/sql-stream-error.js';

/** One thing to replay from a plain SQL dump, in file order. */
export type SqlEvent =
  | {
      kind: 'statement';
      /** The statement from its first token to its `;` inclusive (leading whitespace and comments dropped). */
      sql: string;
      /** 1-based line where the statement starts. */
      line: number;
      /** Line of its `;`. */
      endLine: number;
    }
  | {
      kind: 'copy';
      /** The `COPY … FROM stdin;` statement. */
      sql: string;
      line: number;
      /**
       * The raw bytes of the data block, up to but excluding the terminating `\.` line, as slices of the
       * source's chunks (never decoded). Single use. Consume it before asking for the next event; whatever
       * is left unread then is skipped by the reader.
       */
      data: AsyncIterable<Buffer>;
    }
  | {
      kind: 'meta';
      /** `\restrict KEY` / `\unrestrict KEY`, written by pg_dump 15.14+/17.6+; the only meta-commands accepted. */
      command: 'restrict' | 'unrestrict';
      argument: string;
      line: number;
    };

export interface SqlReaderOptions {
  /** Largest statement other than COPY data, in bytes (default 64 MiB); larger → DUMP_STATEMENT_TOO_LARGE. */
  maxStatementBytes?: number;
}

const DEFAULT_MAX_STATEMENT_BYTES = 64 * 1024 * 1024;

/**
 * Splits a plain SQL dump (ours or `pg_dump -Fp`, possibly gunzipped on the way) into statements, COPY data
 * blocks and `\restrict`/`\unrestrict` lines, the way psql would, with memory bounded by the largest statement.
 * Any other psql meta-command is refused (DUMP_BACKSLASH_COMMAND); so is input that ends inside a statement,
 * literal, comment or COPY block (DUMP_UNTERMINATED). Every error carries the line it refers to.
 *
 * The source is read one chunk at a time, only as the consumer asks for events or COPY data, and is closed
 * when the consumer stops early.
 */
export async function* readSqlStatements(
  source: AsyncIterable<Buffer | string>,
  options: SqlReaderOptions = {},
): AsyncGenerator<SqlEvent> {
  const maxStatementBytes = options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES;
  if (!Number.isSafeInteger(maxStatementBytes) || maxStatementBytes < 1) {
    throw new RangeError(`maxStatementBytes must be a positive integer, got ${maxStatementBytes}`);
  }
  const src = new ByteSource(source);
  const lexer = new StatementLexer(maxStatementBytes);
  let copy: CopyDataReader | undefined;
  try {
    for (;;) {
      // scan synchronously while the chunk lasts; await only to pull the next one
      let result: LexResult | null | undefined = src.hasBytes ? lexer.scan(src) : undefined;
      while (result === undefined) result = (await src.pull()) ? lexer.scan(src) : lexer.finish();
      if (result === null) return;
      if (result.kind !== 'copy') {
        yield result;
        continue;
      }
      copy = new CopyDataReader(src, result.line);
      yield { kind: 'copy', sql: result.sql, line: result.line, data: streamCopyData(copy) };
      copy.detached = true;
      await copy.drain();
      copy = undefined;
    }
  } finally {
    if (copy) copy.detached = true;
    await src.close();
  }
}

async function* streamCopyData(copy: CopyDataReader): AsyncGenerator<Buffer> {
  for (;;) {
    if (copy.detached) throw new Error('COPY data read after readSqlStatements moved on to the next event');
    const chunk = await copy.next();
    if (chunk === null) return;
    yield chunk;
  }
}
