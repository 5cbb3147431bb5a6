import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGunzip, gzipSync } from 'node:zlib';
import type postgres from 'postgres';
import { createDatabase, pgDumpSchema, pgDumpToFile, psqlFile, psqlText, snapshotDatabase } from '@mbsync/testkit';
import type { TestDatabase } from '@mbsync/testkit';
import { readSqlStatements, SqlStreamError } from '../src/sql-stream.js';
import type { SqlEvent, SqlReaderOptions } from '../src/sql-stream.js';

const PAGILA = '/work/shared/peers/pagila';

/** An event with its COPY data read out (as latin1, so every byte maps to one char). */
type PlainEvent =
  | Exclude<SqlEvent, { kind: 'copy' }>
  | { kind: 'copy'; sql: string; line: number; data: string };

async function* chunked(input: Buffer | string, sizes: number | (() => number)): AsyncGenerator<Buffer> {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
  for (let i = 0; i < bytes.length; ) {
    const size = typeof sizes === 'number' ? sizes : sizes();
    // a fresh copy per chunk, like a file stream: the reader must not depend on chunks sharing memory
    yield Buffer.from(bytes.subarray(i, i + size));
    i += size;
  }
}

async function collect(source: AsyncIterable<Buffer | string>, options?: SqlReaderOptions): Promise<PlainEvent[]> {
  const out: PlainEvent[] = [];
  for await (const event of readSqlStatements(source, options)) {
    if (event.kind === 'copy') {
      const parts: Buffer[] = [];
      for await (const part of event.data) parts.push(part);
      out.push({ kind: 'copy', sql: event.sql, line: event.line, data: Buffer.concat(parts).toString('latin1') });
    } else {
      out.push(event);
    }
  }
  return out;
}

const events = (text: string | Buffer, options?: SqlReaderOptions) => collect(chunked(text, 65536), options);

async function statements(text: string): Promise<string[]> {
  return (await events(text)).map((e) => {
    assert.equal(e.kind, 'statement', `unexpected ${e.kind} event`);
    return (e as { sql: string }).sql;
  });
}

async function assertRefused(
  text: string,
  code: SqlStreamError['code'],
  line: number,
  message?: RegExp,
  options?: SqlReaderOptions,
): Promise<void> {
  await assert.rejects(events(text, options), (error: unknown) => {
    assert.ok(error instanceof SqlStreamError, `expected SqlStreamError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.line, line, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** mulberry32: a tiny seeded PRNG so random chunkings are reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('readSqlStatements: statements', () => {
  test('splits at ; and trims leading whitespace and comments, keeping interior ones', async () => {
    const got = await events('  \n-- header\n/* block */ SET a = 1;\nSELECT 1 -- one\n  + 2; -- trailing\n\n\n');
    assert.deepEqual(got, [
      { kind: 'statement', sql: 'SET a = 1;', line: 3, endLine: 3 },
      { kind: 'statement', sql: 'SELECT 1 -- one\n  + 2;', line: 4, endLine: 5 },
    ]);
  });

  test('whitespace, comments and empty statements alone yield nothing', async () => {
    assert.deepEqual(await events(''), []);
    assert.deepEqual(await events('\n\n  -- only a comment\n/* and /* nested */ one */\n;;\n'), []);
  });

  test("single-quoted strings: '' doubles a quote, backslash is literal (standard_conforming_strings)", async () => {
    assert.deepEqual(await statements("SELECT 'a;b''c;', 'x\\'; SELECT 2;"), ["SELECT 'a;b''c;', 'x\\';", 'SELECT 2;']);
    assert.deepEqual(await statements("SELECT U&'d\\0061t;', B'10', X'1F', N'n;'; SELECT 3;"), [
      "SELECT U&'d\\0061t;', B'10', X'1F', N'n;';",
      'SELECT 3;',
    ]);
  });

  test("E'…' strings honour \\' \\\\ and ''", async () => {
    assert.deepEqual(await statements("SELECT E'it\\'s; fine', e'\\\\'; SELECT E'a''b;'; SELECT 3;"), [
      "SELECT E'it\\'s; fine', e'\\\\';",
      "SELECT E'a''b;';",
      'SELECT 3;',
    ]);
    // an E at the end of an identifier is not a prefix: 'x\' is a plain string that ends at its second quote
    assert.deepEqual(await statements("SELECT abcE'x\\'; SELECT 2;"), ["SELECT abcE'x\\';", 'SELECT 2;']);
    // scan.l continues a literal across a newline: the continuation keeps E'' escaping
    assert.deepEqual(await statements("SELECT E'a'\n  -- note\n'\\';' ;\nSELECT 2;"), ["SELECT E'a'\n  -- note\n'\\';' ;", 'SELECT 2;']);
  });

  test('quoted identifiers may hold ; and ""', async () => {
    assert.deepEqual(await statements('CREATE TABLE "a;b""c" ("x;" int); SELECT 1;'), ['CREATE TABLE "a;b""c" ("x;" int);', 'SELECT 1;']);
  });

  test('dollar quotes, with and without tags', async () => {
    const sql = [
      'SELECT $$a;b$$;',
      'SELECT $fn$ ; $$ ; $x$ ; $fn$;',
      'SELECT $a$ $b$ ; $b$ $a$;',
      'SELECT $_$;$junk$;$_$;',
      'SELECT $tag$ $ta $tag $tag1$ $tag$;',
      'SELECT $ü$ ; $ü$;',
      'SELECT $$$$;',
      'SELECT $ab$ x $a$ab$;', // a $ that breaks one candidate delimiter may start the real one
      'SELECT $ab$ $$ab$;',
    ];
    assert.deepEqual(await statements(sql.join('\n')), sql);
  });

  test('$1 is a parameter and a$b$ an identifier, not dollar quotes', async () => {
    assert.deepEqual(await statements('PREPARE p AS SELECT $1; SELECT a$b$; SELECT 2;'), ['PREPARE p AS SELECT $1;', 'SELECT a$b$;', 'SELECT 2;']);
    assert.deepEqual(await statements('SELECT $abc + 1; SELECT 2;'), ['SELECT $abc + 1;', 'SELECT 2;']);
  });

  test('comments: -- to end of line, nested /* */, neither inside literals', async () => {
    assert.deepEqual(
      await statements("SELECT 1 -- ; not the end\n; SELECT /* a /* b; */ c; */ 2; SELECT '--', '/*';\nSELECT 4 /**/;"),
      ['SELECT 1 -- ; not the end\n;', 'SELECT /* a /* b; */ c; */ 2;', "SELECT '--', '/*';", 'SELECT 4 /**/;'],
    );
  });

  test('- and / as operators, also as the first byte of a statement', async () => {
    assert.deepEqual(await statements('SELECT 4-1/2 ; -1; /x;'), ['SELECT 4-1/2 ;', '-1;', '/x;']);
  });

  test('BEGIN ATOMIC bodies of CREATE FUNCTION/PROCEDURE keep their ;', async () => {
    const fn = [
      'CREATE FUNCTION f(x int) RETURNS text LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN x > 0 THEN \'p;\' ELSE \'n\' END;\nEND;',
      'create or replace procedure p() language sql begin atomic insert into t values (1); insert into t values (2); end;',
      'CREATE FUNCTION g() RETURNS int LANGUAGE sql RETURN CASE WHEN true THEN 1 END;',
    ];
    assert.deepEqual(await statements(fn.join('\n')), fn);
    // outside CREATE FUNCTION, BEGIN is a transaction start
    assert.deepEqual(await statements('BEGIN; SELECT 1; END; CREATE TABLE begin_t (x int);'), ['BEGIN;', 'SELECT 1;', 'END;', 'CREATE TABLE begin_t (x int);']);
  });

  test('a ; inside parentheses does not end the statement (multi-action rules)', async () => {
    const rule = 'CREATE RULE r AS ON INSERT TO v DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));';
    assert.deepEqual(await statements(`${rule}\nSELECT 1;`), [rule, 'SELECT 1;']);
  });

  test('follows SET standard_conforming_strings = off', async () => {
    assert.deepEqual(await statements("SET standard_conforming_strings = off;\nSELECT 'a\\';b';\nRESET standard_conforming_strings;\nSELECT 'a\\'; SELECT 2;"), [
      'SET standard_conforming_strings = off;',
      "SELECT 'a\\';b';",
      'RESET standard_conforming_strings;',
      "SELECT 'a\\';",
      'SELECT 2;',
    ]);
  });

  test('line and endLine count every newline, CRLF included', async () => {
    const got = await events('\r\n\r\nSELECT\r\n1;\r\n\r\n  SELECT 2;');
    assert.deepEqual(got, [
      { kind: 'statement', sql: 'SELECT\r\n1;', line: 3, endLine: 4 },
      { kind: 'statement', sql: 'SELECT 2;', line: 6, endLine: 6 },
    ]);
  });

  test('statement text stays exact UTF-8 across chunk boundaries', async () => {
    const text = "SELECT 'ünïcødé 😀 ∑';";
    for (const size of [1, 2, 3]) {
      const got = await collect(chunked(text, size));
      assert.deepEqual(got, [{ kind: 'statement', sql: text, line: 1, endLine: 1 }]);
    }
  });
});

describe('readSqlStatements: COPY blocks', () => {
  test('streams the data after COPY … FROM stdin; up to the \\. line', async () => {
    const text = 'COPY public.t (a, b) FROM stdin;\n1\tDROP TABLE t;\n2\tx\\.y\n\\.z\n \\.\n\\.\nSELECT 1;\n';
    assert.deepEqual(await events(text), [
      { kind: 'copy', sql: 'COPY public.t (a, b) FROM stdin;', line: 1, data: '1\tDROP TABLE t;\n2\tx\\.y\n\\.z\n \\.\n' },
      { kind: 'statement', sql: 'SELECT 1;', line: 7, endLine: 7 },
    ]);
  });

  test('CRLF line ends, empty blocks, options and case', async () => {
    const text =
      'copy t from STDIN WITH (FORMAT text);\r\n1\r\n\\.\r\n' +
      'COPY t FROM stdin (FORMAT csv); -- a comment\n\\.\n' +
      'COPY t\n  FROM /* c */ stdin;\n\\.\n';
    assert.deepEqual(await events(text), [
      { kind: 'copy', sql: 'copy t from STDIN WITH (FORMAT text);', line: 1, data: '1\r\n' },
      { kind: 'copy', sql: 'COPY t FROM stdin (FORMAT csv);', line: 4, data: '' },
      { kind: 'copy', sql: 'COPY t\n  FROM /* c */ stdin;', line: 6, data: '' },
    ]);
  });

  test('a COPY block may be the last thing in the file, with or without a final newline', async () => {
    for (const end of ['\\.\n', '\\.', '\\.\r\n', '\\.\r']) {
      assert.deepEqual(await events(`COPY t FROM stdin;\na\n${end}`), [{ kind: 'copy', sql: 'COPY t FROM stdin;', line: 1, data: 'a\n' }]);
    }
  });

  test('COPY that is not FROM STDIN is an ordinary statement', async () => {
    assert.deepEqual(await statements('COPY t TO stdout;\nCOPY stdin TO stdout;\nCOPY (SELECT * FROM stdin) TO STDOUT;\nCOPY t FROM \'/tmp/stdin\';'), [
      'COPY t TO stdout;',
      'COPY stdin TO stdout;',
      'COPY (SELECT * FROM stdin) TO STDOUT;',
      "COPY t FROM '/tmp/stdin';",
    ]);
  });

  test('line numbers after a block count the data lines', async () => {
    const got = await events('COPY t FROM stdin;\n1\n2\n3\n\\.\n\nSELECT 1;\n\\unrestrict k\n');
    assert.deepEqual(got.slice(1), [
      { kind: 'statement', sql: 'SELECT 1;', line: 7, endLine: 7 },
      { kind: 'meta', command: 'unrestrict', argument: 'k', line: 8 },
    ]);
  });

  test('unread or half-read data is skipped before the next event', async () => {
    const text = 'COPY t FROM stdin;\n' + 'row\n'.repeat(10000) + '\\.\nSELECT 1;\nCOPY t FROM stdin;\nx\n\\.\nSELECT 2;\n';
    const seen: string[] = [];
    for await (const event of readSqlStatements(chunked(text, 100))) {
      seen.push(event.kind === 'statement' ? event.sql : event.kind);
      if (event.kind === 'copy' && seen.length === 1) {
        for await (const _ of event.data) break; // consumer stops after one chunk
      }
    }
    assert.deepEqual(seen, ['copy', 'SELECT 1;', 'copy', 'SELECT 2;']);
  });

  test('reading COPY data after moving on is an error, not silently other bytes', async () => {
    const reader = readSqlStatements(chunked('COPY t FROM stdin;\nx\n\\.\nSELECT 1;\n', 64));
    const first = await reader.next();
    assert.equal(first.value?.kind, 'copy');
    const second = await reader.next();
    assert.equal(second.value?.kind, 'statement');
    const data = (first.value as { data: AsyncIterable<Buffer> }).data;
    await assert.rejects(async () => {
      for await (const _ of data) {
        // nothing
      }
    }, /moved on/);
  });

  test('refuses text after COPY … FROM stdin; on its line', async () => {
    await assertRefused('SELECT 1;\nCOPY t FROM stdin; SELECT 2;\n\\.\n', 'DUMP_SQL_SYNTAX', 2);
  });
});

describe('readSqlStatements: psql meta-commands', () => {
  test('\\restrict and \\unrestrict become meta events', async () => {
    const got = await events('\\restrict AbC123\nSET a = 1;\n  \\unrestrict AbC123\r\n');
    assert.deepEqual(got, [
      { kind: 'meta', command: 'restrict', argument: 'AbC123', line: 1 },
      { kind: 'statement', sql: 'SET a = 1;', line: 2, endLine: 2 },
      { kind: 'meta', command: 'unrestrict', argument: 'AbC123', line: 3 },
    ]);
  });

  test('every other backslash command is refused with its name and line', async () => {
    await assertRefused('SELECT 1;\n\\connect other\nSELECT 2;', 'DUMP_BACKSLASH_COMMAND', 2, /\\connect/);
    await assertRefused('\n\n\\i /etc/passwd\n', 'DUMP_BACKSLASH_COMMAND', 3, /\\i\b/);
    await assertRefused('\\! rm -rf /', 'DUMP_BACKSLASH_COMMAND', 1, /\\!/);
    await assertRefused('SET a = 1;\n\\set ON_ERROR_STOP 0\n', 'DUMP_BACKSLASH_COMMAND', 2, /\\set/);
    await assertRefused('-- c\n\\copy t from /tmp/x\n', 'DUMP_BACKSLASH_COMMAND', 2, /\\copy/);
    await assertRefused('SELECT 1\n\\g\n', 'DUMP_BACKSLASH_COMMAND', 2, /inside a statement/);
    await assertRefused('SELECT 1; \\.\n', 'DUMP_BACKSLASH_COMMAND', 1);
    await assertRefused('\\restrict\n', 'DUMP_SQL_SYNTAX', 1);
  });

  test('backslashes inside literals and comments are not commands', async () => {
    assert.deepEqual(await statements("SELECT '\\connect', E'\\\\i', \"\\!\", $$\\set$$; -- \\x\n/* \\q */ SELECT 1;"), [
      "SELECT '\\connect', E'\\\\i', \"\\!\", $$\\set$$;",
      'SELECT 1;',
    ]);
  });
});

describe('readSqlStatements: refusals', () => {
  test('end of input inside a statement, literal, comment or COPY block', async () => {
    await assertRefused('SELECT 1;\nSELECT 2', 'DUMP_UNTERMINATED', 2, /not terminated/);
    await assertRefused("SELECT 1;\n\nSELECT 'abc;\n\n", 'DUMP_UNTERMINATED', 3, /quoted string/);
    await assertRefused("SELECT E'abc\\';", 'DUMP_UNTERMINATED', 1, /quoted string/);
    await assertRefused('SELECT "abc;', 'DUMP_UNTERMINATED', 1, /quoted identifier/);
    await assertRefused('SELECT 1;\nCREATE FUNCTION f() AS $x$\nSELECT 1; $x\n', 'DUMP_UNTERMINATED', 2, /dollar-quoted.*line 2/);
    await assertRefused('SELECT 1;\n/* a /* b */\n', 'DUMP_UNTERMINATED', 2, /comment/);
    await assertRefused('SELECT (1;', 'DUMP_UNTERMINATED', 1);
    await assertRefused('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;', 'DUMP_UNTERMINATED', 1);
    await assertRefused('SELECT 1;\n-', 'DUMP_UNTERMINATED', 2);
    await assertRefused('SELECT 1;\n\nCOPY t FROM stdin;\n1\n2\n', 'DUMP_UNTERMINATED', 3, /COPY/);
    await assertRefused('COPY t FROM stdin;\n1\n\\', 'DUMP_UNTERMINATED', 1);
    await assertRefused('COPY t FROM stdin;', 'DUMP_UNTERMINATED', 1);
  });

  test('trailing whitespace and comments after the last ; are fine', async () => {
    assert.deepEqual(await statements('SELECT 1;\n  -- done\n/* really */\n\n'), ['SELECT 1;']);
  });

  test('a statement over maxStatementBytes is refused without reading it whole', async () => {
    await assertRefused('SELECT 1;\n\nSELECT ' + 'x'.repeat(2000) + ';', 'DUMP_STATEMENT_TOO_LARGE', 3, /1000 bytes/, { maxStatementBytes: 1000 });
    assert.equal((await events('SELECT ' + 'x'.repeat(992) + ';', { maxStatementBytes: 1000 })).length, 1); // exactly 1000 bytes
    let pulled = 0;
    async function* huge(): AsyncGenerator<Buffer> {
      yield Buffer.from("SELECT '");
      for (let i = 0; i < 10_000; i++) {
        pulled++;
        yield Buffer.alloc(1024, 0x61);
      }
      yield Buffer.from("';");
    }
    await assert.rejects(collect(huge(), { maxStatementBytes: 64 * 1024 }), (error: unknown) => {
      assert.ok(error instanceof SqlStreamError && error.code === 'DUMP_STATEMENT_TOO_LARGE');
      return true;
    });
    assert.ok(pulled <= 65, `read ${pulled} KiB before refusing a statement over 64 KiB`);
    // COPY data is not a statement: no limit applies
    const copy = await events('COPY t FROM stdin;\n' + 'y'.repeat(5000) + '\n\\.\n', { maxStatementBytes: 100 });
    assert.equal((copy[0] as { data: string }).data.length, 5001);
  });

  test('statement text that is not valid UTF-8 is refused, not mangled', async () => {
    await assert.rejects(events(Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xff, 0xfe]), Buffer.from("';")])), (error: unknown) => {
      assert.ok(error instanceof SqlStreamError && error.code === 'DUMP_SQL_SYNTAX');
      return true;
    });
  });
});

// Everything above, in one input, to be cut at every possible place.
const COMPOSITE = [
  '\\restrict Key42',
  '-- header',
  'SET standard_conforming_strings = on;',
  "SELECT 'a;b''c', E'\\';\\\\', U&'x;', \"q;\"\"d\" FROM t; -- tail ;",
  '/* one /* two ; */ three */ SELECT $$ ; $$, $fn$ $$ ; $x$ $fn$, $_$;$_$, $1, a$b$;',
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;",
  'CREATE RULE r AS ON INSERT TO v DO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));',
  "SELECT E'x'\n\n'\\';'\n;",
  'COPY public.t (a, b) FROM stdin;',
  '1\tDROP TABLE t;',
  '2\tx\\.y\\\\.',
  '\\.z',
  '\\.',
  'COPY t FROM stdin;\r\n3\r\n\\\\.\r\n\\.\r',
  'copy t from stdin;',
  '\\.',
  'SELECT -1 - -2 / 3;',
  '-1;',
  "SELECT 'ünïcødé 😀';",
  '\\unrestrict Key42',
  'COPY last FROM stdin;',
  'x\ty',
  '\\.',
].join('\n');

describe('readSqlStatements: chunk boundaries', () => {
  test('every chunking of a composite input gives the same events', async () => {
    const expected = await collect(chunked(COMPOSITE, 1 << 20));
    assert.equal(expected.filter((e) => e.kind === 'statement').length, 9);
    assert.equal(expected.filter((e) => e.kind === 'copy').length, 4);
    assert.equal(expected.filter((e) => e.kind === 'meta').length, 2);
    for (const size of [1, 2, 3, 7, 64, 65536]) {
      assert.deepEqual(await collect(chunked(COMPOSITE, size)), expected, `chunk size ${size}`);
    }
  });

  test('seeded random chunkings of a large composite input give the same events', async () => {
    const big = Array.from({ length: 40 }, (_, i) => `${COMPOSITE}\nSELECT ${i};`).join('\n');
    const expected = await collect(chunked(big, 1 << 22));
    for (const seed of [1, 2, 3, 42, 2024]) {
      const next = random(seed);
      const got = await collect(chunked(big, () => 1 + Math.floor(next() * next() * 300)));
      assert.deepEqual(got, expected, `seed ${seed}`);
    }
  });
});

describe('readSqlStatements: streaming', () => {
  test('reads at most one chunk ahead of the consumer', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 50; i++) {
        pulled++;
        yield Buffer.from(i % 10 === 5 ? `COPY t FROM stdin;\n${i}\n\\.\n` : `SELECT ${i};\n`);
      }
    }
    let taken = 0;
    for await (const event of readSqlStatements(source())) {
      taken++;
      assert.ok(pulled <= taken + 1, `pulled ${pulled} chunks for ${taken} events`);
      if (event.kind === 'copy') for await (const _ of event.data) assert.ok(pulled <= taken + 1);
    }
    assert.equal(taken, 50);
  });

  test('stops reading and closes the source when the consumer stops', async () => {
    let closed = false;
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for (;;) {
          pulled++;
          yield Buffer.from('SELECT 1;\n');
        }
      } finally {
        closed = true;
      }
    }
    for await (const _ of readSqlStatements(source())) break;
    assert.equal(closed, true);
    assert.equal(pulled, 1);
  });

  test('a 50 MB COPY block streams in source-sized slices with bounded memory', async (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const row = Buffer.from('12345\tsome text value with \\.dots and \\\\ backslashes\t2024-01-01 00:00:00+00\n');
    const rowsPerChunk = Math.floor(65536 / row.length);
    const chunks = Math.ceil((50 * 1024 * 1024) / (rowsPerChunk * row.length));
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('COPY big FROM stdin;\n');
      for (let c = 0; c < chunks; c++) {
        const chunk = Buffer.allocUnsafe(rowsPerChunk * row.length);
        for (let r = 0; r < rowsPerChunk; r++) row.copy(chunk, r * row.length);
        yield chunk;
      }
      yield Buffer.from('\\.\nSELECT 1;\n');
    }
    // Baseline once streaming is under way (code compiled, buffers warm); anything kept per slice would
    // show as tens of MiB by the end of 50 MiB.
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    let baseline = 0;
    let total = 0;
    let largest = 0;
    let peak = 0;
    let slices = 0;
    const events: string[] = [];
    for await (const event of readSqlStatements(source())) {
      events.push(event.kind);
      if (event.kind === 'statement') assert.equal(event.line, 3 + chunks * rowsPerChunk);
      if (event.kind !== 'copy') continue;
      for await (const slice of event.data) {
        total += slice.length;
        largest = Math.max(largest, slice.length);
        if (++slices === 20) baseline = used();
        else if (slices % 100 === 0) peak = Math.max(peak, used() - baseline);
      }
    }
    const atEnd = used() - baseline;
    assert.deepEqual(events, ['copy', 'statement']);
    assert.equal(total, chunks * rowsPerChunk * row.length);
    assert.ok(total >= 50 * 1024 * 1024);
    assert.ok(largest <= 65536, `largest slice ${largest}`);
    t.diagnostic(`largest slice ${largest} B, memory growth while streaming ${(peak / 1048576).toFixed(2)} MiB, after ${(atEnd / 1048576).toFixed(2)} MiB`);
    assert.ok(Math.max(peak, atEnd) < 20 * 1024 * 1024, `memory grew by ${(peak / 1048576).toFixed(1)} MiB while streaming 50 MiB`);
  });
});

describe('readSqlStatements: real pg_dump output', () => {
  const dbs: TestDatabase[] = [];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-sql-stream-'));
  });
  after(async () => {
    for (const db of dbs) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Replays the events into `sql` in one transaction, the way the importer will. */
  async function replay(sql: postgres.Sql, source: AsyncIterable<Buffer>): Promise<{ statements: number; copies: number; metas: string[] }> {
    const counts = { statements: 0, copies: 0, metas: [] as string[] };
    await sql.begin(async (tx) => {
      for await (const event of readSqlStatements(source)) {
        if (event.kind === 'statement') {
          counts.statements++;
          await tx.unsafe(event.sql);
        } else if (event.kind === 'copy') {
          counts.copies++;
          const writable = await tx.unsafe(event.sql).writable();
          await pipeline(Readable.from(event.data), writable);
        } else {
          counts.metas.push(`${event.command} ${event.argument}`);
        }
      }
    });
    return counts;
  }

  test('pagila schema and data: counts match the files, and every statement ends with ;', async () => {
    for (const name of ['pagila-schema.sql', 'pagila-data.sql']) {
      const file = join(PAGILA, name);
      const text = await readFile(file, 'utf8');
      const lines = text.split('\n');
      const got = await collect(createReadStream(file));
      const bytes = await readFile(file);
      for (const size of name === 'pagila-schema.sql' ? [1, 7, 4093] : [61, 4093]) {
        assert.deepEqual(await collect(chunked(bytes, size)), got, `${name} in chunks of ${size}`);
      }
      const copies = got.filter((e) => e.kind === 'copy');
      assert.equal(copies.length, lines.filter((l) => /^COPY .* FROM stdin;$/.test(l)).length, name);
      assert.equal(copies.length, lines.filter((l) => l === '\\.').length, name);
      for (const e of got) if (e.kind === 'statement') assert.match(e.sql, /;$/, `${name}:${e.line}`);
      if (name === 'pagila-data.sql') {
        // one statement per line outside COPY blocks: an independent line-based count
        let inCopy = false;
        let expected = 0;
        for (const l of lines) {
          if (inCopy) inCopy = l !== '\\.';
          else if (/^COPY .* FROM stdin;$/.test(l)) inCopy = true;
          else if (/;$/.test(l) && !l.startsWith('--')) expected++;
        }
        assert.equal(got.filter((e) => e.kind === 'statement').length, expected);
        const rows = copies.reduce((n, c) => n + (c.data.match(/\n/g)?.length ?? 0), 0);
        const dataLines = lines.length - 1 - lines.filter((l) => !/\t/.test(l)).length;
        assert.ok(rows > 40_000 && rows >= dataLines, `rows ${rows}`);
      }
    }
  });

  test('pagila replayed through the reader equals pagila loaded by psql', async () => {
    const byPsql = await createDatabase('sqlstream_pagila_psql');
    dbs.push(byPsql);
    const byReader = await createDatabase('sqlstream_pagila_reader');
    dbs.push(byReader);
    psqlFile(byPsql.url, join(PAGILA, 'pagila-schema.sql'));
    psqlFile(byPsql.url, join(PAGILA, 'pagila-data.sql'));
    await replay(byReader.sql, createReadStream(join(PAGILA, 'pagila-schema.sql')));
    const counts = await replay(byReader.sql, createReadStream(join(PAGILA, 'pagila-data.sql')));
    assert.ok(counts.copies > 10);
    assert.equal(pgDumpSchema(byReader.url), pgDumpSchema(byPsql.url));
    assert.deepEqual(await snapshotDatabase(byReader.sql), await snapshotDatabase(byPsql.sql));
  });

  test('a pg_dump of a tricky database replays into an identical one (plain and gzip)', async () => {
    const source = await createDatabase('sqlstream_src');
    dbs.push(source);
    psqlText(source.url, TRICKY_SQL);
    const file = join(dir, 'tricky.sql');
    pgDumpToFile(source.url, file);
    const gz = `${file}.gz`;
    await writeFile(gz, gzipSync(await readFile(file)));

    const plain = await collect(createReadStream(file, { highWaterMark: 1024 }));
    const gunzipped = await collect(createReadStream(gz).pipe(createGunzip()));
    assert.deepEqual(gunzipped, plain);
    const atomic = plain.find((e) => e.kind === 'statement' && /BEGIN ATOMIC/.test(e.sql));
    assert.ok(atomic && atomic.kind === 'statement' && /END;$/.test(atomic.sql) && atomic.endLine > atomic.line, 'BEGIN ATOMIC function kept whole');

    const target = await createDatabase('sqlstream_dst');
    dbs.push(target);
    const counts = await replay(target.sql, createReadStream(gz).pipe(createGunzip()));
    assert.equal(counts.copies, 3);
    if (counts.metas.length > 0) {
      // pg_dump 15.14+: \restrict KEY … \unrestrict KEY
      assert.equal(counts.metas.length, 2);
      assert.equal(counts.metas[1], counts.metas[0]?.replace('restrict', 'unrestrict'));
    }
    assert.equal(pgDumpSchema(target.url), pgDumpSchema(source.url));
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    const [row] = await target.sql`SELECT public.atomic_sign(-3) AS s, (SELECT count(*)::int FROM "we;ird"."ta""ble") AS n`;
    assert.deepEqual(row, { s: 'neg;', n: 6 });
  });
});

const TRICKY_SQL = String.raw`
CREATE SCHEMA "we;ird";
CREATE TABLE "we;ird"."ta""ble" (id int PRIMARY KEY, t text, b bytea, a text[], j jsonb);
INSERT INTO "we;ird"."ta""ble" VALUES
  (1, 'semi;colon -- not a comment /* nor this', '\x00ff5c2e0a', ARRAY['a;b', 'c"d'], '{"k": "v;\\."}'),
  (2, E'back\\slash and a line\n\\.\nthat looks like a terminator', NULL, NULL, NULL),
  (3, E'\\.', '\x5c2e', '{}', '[]'),
  (4, 'ünïcødé 😀 and a tab	here', '', ARRAY[NULL, ''], 'null'),
  (5, E'\r\n\\.\r\n', NULL, NULL, NULL),
  (6, '$$ $fn$ ; END; BEGIN', NULL, NULL, NULL);
CREATE TABLE log (x int);
CREATE TABLE empty_one (x int);
CREATE SEQUENCE counter START 7;
SELECT setval('counter', 42);
CREATE FUNCTION atomic_sign(x int) RETURNS text LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN x < 0 THEN 'neg;' ELSE 'pos' END;
END;
CREATE PROCEDURE log_two(x int) LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO log VALUES (x);
  INSERT INTO log VALUES (x + 1);
END;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  NEW.t := NEW.t || ';'; -- keep $$ here
  RETURN NEW;
END
$body$;
CREATE TRIGGER touch BEFORE INSERT ON "we;ird"."ta""ble" FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW v AS SELECT x FROM log;
CREATE RULE two AS ON INSERT TO v DO INSTEAD (INSERT INTO log VALUES (NEW.x); INSERT INTO log VALUES (NEW.x * 10));
COMMENT ON TABLE log IS 'it''s; a comment with $$ and -- and /* and \.';
CALL log_two(1);
INSERT INTO v VALUES (5);
`;
