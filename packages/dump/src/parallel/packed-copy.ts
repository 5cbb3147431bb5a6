import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { inflateRawSync, inflateSync } from 'node:zlib';
import type postgres from 'postgres';
import { qualify, quoteIdent } from '../ddl/quote.js';
import { DumpError } from '../errors.js';
import { quoteLiteral } from '../sql-literal.js';
import type { PackedRendering } from './copy-format.js';
import { relayCopy } from './copy-pipe.js';

/**
 * Packed COPY: a table's rows compressed on the source server, for a source across a slow link.
 *
 * PostgreSQL's protocol has no compression, but pgcrypto (every Supabase project has it, in `extensions`) compresses
 * what it encrypts: `pgp_sym_encrypt(data, key, 'compress-algo=1, …')` deflates, then wraps the result in
 * OpenPGP. A packed COPY reads the table in ranges of heap pages (TID range scans, one query for the whole table in
 * the lane's snapshot); per range the source renders each row as the line text COPY would send — every column through
 * its type's output function (`::text`), backslash, newline, carriage return and tab escaped as COPY escapes them
 * (copyLine), NULL as `\N`, tab-separated — joins the lines and deflates them at level 1. What crosses the link is
 * one bytea per range, in a binary COPY. Here each is unwrapped (the key is a constant: the encryption is only
 * pgcrypto's envelope, not a secret; its SHA-1 integrity check is verified all the same), inflated, its lines counted,
 * and written as it is into the target's text `COPY … FROM STDIN`, which parses it as it would a text COPY's.
 */

/** The envelope's password: not a secret (the data only passes through pgcrypto's encryption to be compressed). */
const PACK_KEY = 'mbsync';
/**
 * ZIP (raw deflate) at level 1: the source's CPU goes to rendering rows, not to squeezing the last bytes. AES-128, no
 * salt. Unicode mode: the text is converted to UTF-8 (nothing to do on a UTF-8 server), the target session's encoding.
 */
const PACK_OPTIONS = 'compress-algo=1, compress-level=1, cipher-algo=aes128, s2k-mode=0, s2k-digest-algo=sha1, unicode-mode=1';
/** Stored bytes (heap and TOAST) per range: a range's text is a few times that, held whole by the source and here. */
export const PACK_RANGE_BYTES = 4 * 1024 * 1024;
/** Tables smaller than this go as they are: packing pays per table, and a small table's bytes hardly count. */
export const PACK_MIN_BYTES = 256 * 1024;
/** A range unpacks to at most this (one text value's limit on the server is 1 GB). */
const MAX_RANGE_TEXT = 1024 * 1024 * 1024;

/** What the source packs with: pgcrypto's function, and the types with a cast to text of their own (see copyLine). */
export interface SourcePacking {
  /** the schema-qualified `pgp_sym_encrypt(text, text, text)` (it encrypts the text in UTF-8) */
  fn: string;
  /** format_type (no typmod) of every type with a function or binary cast to text */
  castsToText: ReadonlySet<string>;
}

/**
 * How the source packs, when it can (the session may call pgcrypto's `pgp_sym_encrypt(text, text, text)`):
 * PostgreSQL 14 or later (TID range scans), pgcrypto installed with zlib (a tiny value is packed to find out), and
 * the types whose `::text` is not their output (SourcePacking). Null otherwise: the tables then go as plain COPY. Runs in a savepoint, so
 * a failure leaves the transaction (and its snapshot) as it was.
 */
export async function probePacking(tx: postgres.TransactionSql): Promise<SourcePacking | null> {
  try {
    return await tx.savepoint(async (sp) => {
      const [found] = await sp<{ schema: string | null; version: number }[]>`
        SELECT (SELECT n.nspname::text FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e'
                  JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pgcrypto'
                WHERE p.proname = 'pgp_sym_encrypt' AND p.proargtypes::text = ${'25 25 25'}
                  AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') LIMIT 1) AS schema,
               pg_catalog.current_setting('server_version_num')::int AS version`;
      if (!found?.schema || found.version < 140000) return null;
      const fn = `${quoteIdent(found.schema)}.pgp_sym_encrypt`;
      const [probe] = await sp.unsafe<{ packed: Buffer }[]>(
        `SELECT ${fn}('(1,probe)', ${quoteLiteral(PACK_KEY)}, ${quoteLiteral(PACK_OPTIONS)}) AS packed`,
      );
      if (unpackRange(Buffer.from(probe!.packed)).toString('utf8') !== '(1,probe)') return null;
      const casts = await sp<{ type: string }[]>`
        SELECT pg_catalog.format_type(c.castsource, NULL) AS type FROM pg_catalog.pg_cast c
        WHERE c.casttarget = 'pg_catalog.text'::pg_catalog.regtype AND c.castmethod IN ('f', 'b')`;
      return { fn, castsToText: new Set(casts.map((c) => c.type)) };
    });
  } catch {
    return null;
  }
}

/**
 * The source's `COPY … TO STDOUT` of a table's rows packed range by range (see the module's comment): one bytea per
 * non-empty range of heap pages, in page order. The ranges are sized from the table's stored bytes per page; the last
 * is open-ended, so rows on pages added since the size was read are not missed (none the snapshot sees can be).
 */
export function packedCopyOut(fn: string, schema: string, name: string, columns: PackedColumn[]): string {
  const real = qualify(schema, name);
  const regclass = `${quoteLiteral(real)}::pg_catalog.regclass`;
  const row = copyLine(columns);
  return `COPY (
  WITH s AS (
    SELECT pg_catalog.pg_relation_size(${regclass}) / pg_catalog.current_setting('block_size')::int8 AS pages,
      pg_catalog.pg_table_size(${regclass}) AS bytes),
  r AS (SELECT GREATEST(1, (${PACK_RANGE_BYTES}::float8 * s.pages / GREATEST(s.bytes, 1))::int8) AS step, s.pages FROM s)
  SELECT p.packed FROM r, pg_catalog.generate_series(0::int8, GREATEST(r.pages - 1, 0), r.step) AS b(lo),
  LATERAL (
    SELECT ${fn}(pg_catalog.string_agg(${row} || E'\\n', ''), ${quoteLiteral(PACK_KEY)}, ${quoteLiteral(PACK_OPTIONS)}) AS packed
    FROM ONLY ${real} t
    WHERE t.ctid >= ('(' || b.lo || ',0)')::pg_catalog.tid
      AND t.ctid < ('(' || (CASE WHEN b.lo + r.step >= r.pages THEN 4294967295 ELSE b.lo + r.step END) || ',0)')::pg_catalog.tid
  ) p
  WHERE p.packed IS NOT NULL
) TO STDOUT WITH (FORMAT binary)`;
}

/** A column as a packed COPY renders it (copy-format.ts's packedRendering). */
export interface PackedColumn {
  name: string;
  render: PackedRendering;
}

/** Doubles backslashes, then writes newline, carriage return and tab as COPY does (`\n`, `\r`, `\t`). */
function escapeForCopy(text: string, render: PackedRendering): string {
  const backslashes = `pg_catalog.replace(${text}, E'\\\\', E'\\\\\\\\')`;
  if (render === 'jsonb') return backslashes;
  return `pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(${backslashes}, E'\\n', E'\\\\n'), E'\\r', E'\\\\r'), E'\\t', E'\\\\t')`;
}

/**
 * The SQL of a row's COPY text line, from a table aliased `t`, without its newline: each value's text as COPY writes
 * it — its type's output function's, which `::text` calls unless the type has a cast to text of its own (then
 * `format('%s', …)` does) — with the four bytes COPY FROM reads specially escaped (backslash first, then newline,
 * carriage return and tab) where the type can write them, or `\N` for NULL, joined by tabs. COPY TO escapes a few
 * more control bytes (backspace, form feed, vertical tab) for readability; COPY FROM takes them as they are. Up to 99
 * columns in one concat_ws, more chained with `||`.
 */
export function copyLine(columns: PackedColumn[]): string {
  const fields = columns.map((c) => {
    const value = `t.${quoteIdent(c.name)}`;
    if (c.render === 'plain') return `COALESCE(${value}::text, E'\\\\N')`;
    if (c.render !== 'output') return `COALESCE(${escapeForCopy(`${value}::text`, c.render)}, E'\\\\N')`;
    // num_nulls looks at the value itself: `IS NULL` is also true of a row value whose fields are all NULL
    return `CASE WHEN pg_catalog.num_nulls(${value}) = 1 THEN E'\\\\N' ELSE ${escapeForCopy(`pg_catalog.format('%s', ${value})`, c.render)} END`;
  });
  return fields.length < 100 ? `pg_catalog.concat_ws(E'\\t', ${fields.join(', ')})` : fields.join(` || E'\\t' || `);
}

/** Lines in a packed range's text (every line ends with a newline; COPY text escapes those in values). */
export function countLines(text: Buffer): number {
  let lines = 0;
  for (let at = text.indexOf(0x0a); at !== -1; at = text.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

function corrupt(what: string): never {
  throw new DumpError('DUMP_CORRUPT', `a packed COPY range from the source is not what pgcrypto writes: ${what}`);
}

/** One OpenPGP packet (new-format header, partial body lengths joined): its tag, body and where the next begins. */
function readPacket(buf: Buffer, at: number): { tag: number; body: Buffer; next: number } {
  const first = buf[at];
  if (first === undefined || (first & 0xc0) !== 0xc0) corrupt(`expected a new-format packet at byte ${at}`);
  const tag = first & 0x3f;
  let pos = at + 1;
  const parts: Buffer[] = [];
  for (;;) {
    const b = buf[pos];
    if (b === undefined) corrupt(`a packet's length runs past the end (tag ${tag})`);
    let length: number;
    let partial = false;
    if (b < 192) {
      length = b;
      pos += 1;
    } else if (b < 224) {
      if (pos + 1 >= buf.length) corrupt('a cut two-byte packet length');
      length = ((b - 192) << 8) + buf[pos + 1]! + 192;
      pos += 2;
    } else if (b < 255) {
      length = 1 << (b & 0x1f);
      partial = true;
      pos += 1;
    } else {
      if (pos + 4 >= buf.length) corrupt('a cut five-byte packet length');
      length = buf.readUInt32BE(pos + 1);
      pos += 5;
    }
    if (pos + length > buf.length) corrupt(`a packet's body runs past the end (tag ${tag})`);
    parts.push(buf.subarray(pos, pos + length));
    pos += length;
    if (!partial) break;
  }
  return { tag, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts), next: pos };
}

const AES128_KEY = createHash('sha1').update(PACK_KEY).digest().subarray(0, 16);
const ZERO_IV = Buffer.alloc(16);

/**
 * The text of one packed range: pgcrypto's OpenPGP message as PACK_OPTIONS make it (a symmetric-key session packet
 * with simple S2K, then integrity-protected data: AES-128 CFB over a 16-byte prefix, a compressed packet holding a
 * literal packet, and the SHA-1 check), unwrapped, checked and inflated. Anything else is refused.
 */
export function unpackRange(message: Buffer): Buffer {
  const session = readPacket(message, 0);
  if (session.tag !== 3 || session.body.length !== 4 || session.body[0] !== 4 || session.body[1] !== 7 || session.body[2] !== 0 || session.body[3] !== 2) {
    corrupt('expected a symmetric-key session packet for AES-128 with simple SHA-1 S2K');
  }
  const data = readPacket(message, session.next);
  if (data.tag !== 18 || data.body[0] !== 1) corrupt('expected integrity-protected encrypted data');
  if (data.next !== message.length) corrupt('bytes after the encrypted data');
  const decipher = createDecipheriv('aes-128-cfb', AES128_KEY, ZERO_IV);
  const plain = Buffer.concat([decipher.update(data.body.subarray(1)), decipher.final()]);
  // the random prefix repeats its last two bytes; then the packets, then the MDC packet (0xD3 0x14, SHA-1 of all before)
  if (plain.length < 18 + 22 || plain[14] !== plain[16] || plain[15] !== plain[17]) corrupt('the key check of the encrypted prefix failed');
  const mdcAt = plain.length - 22;
  if (plain[mdcAt] !== 0xd3 || plain[mdcAt + 1] !== 0x14) corrupt('no integrity check at the end');
  const digest = createHash('sha1').update(plain.subarray(0, mdcAt + 2)).digest();
  if (!timingSafeEqual(digest, plain.subarray(mdcAt + 2))) corrupt('the integrity check (SHA-1) does not match');
  const inner = plain.subarray(18, mdcAt);
  let packet = readPacket(inner, 0);
  if (packet.next !== inner.length) corrupt('bytes after the compressed packet');
  if (packet.tag === 8) {
    const algo = packet.body[0];
    const compressed = packet.body.subarray(1);
    const options = { maxOutputLength: MAX_RANGE_TEXT + 64 * 1024 };
    const literal = algo === 1 ? inflateRawSync(compressed, options) : algo === 2 ? inflateSync(compressed, options) : algo === 0 ? compressed : corrupt(`compression algorithm ${algo}`);
    packet = readPacket(literal, 0);
    if (packet.next !== literal.length) corrupt('bytes after the literal packet');
  }
  if (packet.tag !== 11) corrupt(`expected a literal data packet, found tag ${packet.tag}`);
  const body = packet.body;
  // pgp_sym_encrypt in unicode mode writes 'u' (UTF-8 text, line ends untouched); pgp_sym_encrypt_bytea 'b'
  if (body[0] !== 0x75 && body[0] !== 0x62) corrupt('the literal data is neither UTF-8 text nor binary');
  const start = 2 + body[1]! + 4;
  if (start > body.length) corrupt('a cut literal data header');
  return body.subarray(start);
}

/**
 * The values of a binary COPY of one bytea column as they complete across chunks (header, then per tuple a field
 * count of 1 and a length, the trailer's count of -1 at the end). NULLs are skipped.
 */
export class BinaryColumnReader {
  #pending: Buffer[] = [];
  #have = 0;
  /** bytes needed before anything more can be read: the pending chunks are joined only once they hold it */
  #need = 19;
  #headerDone = false;
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#have += chunk.length;
    }
    const values: Buffer[] = [];
    if (this.#have < this.#need && !this.#ended) return values;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#have);
    let at = 0;
    for (;;) {
      const left = buf.length - at;
      if (this.#ended) {
        if (left > 0) corrupt('bytes after the binary COPY trailer');
        break;
      }
      if (!this.#headerDone) {
        if (left < 19) {
          this.#need = 19;
          break;
        }
        if (buf.toString('latin1', at, at + 11) !== 'PGCOPY\n\xff\r\n\0') corrupt('no binary COPY signature');
        const header = 19 + buf.readUInt32BE(at + 15);
        if (left < header) {
          this.#need = header;
          break;
        }
        at += header;
        this.#headerDone = true;
        continue;
      }
      if (left < 2) {
        this.#need = 2;
        break;
      }
      const count = buf.readInt16BE(at);
      if (count === -1) {
        at += 2;
        this.#ended = true;
        continue;
      }
      if (count !== 1) corrupt(`a tuple of ${count} fields`);
      if (left < 6) {
        this.#need = 6;
        break;
      }
      const length = buf.readInt32BE(at + 2);
      if (length === -1) {
        at += 6;
        continue;
      }
      if (left < 6 + length) {
        this.#need = 6 + length;
        break;
      }
      values.push(buf.subarray(at + 6, at + 6 + length));
      at += 6 + length;
    }
    const rest = buf.subarray(at);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#have = rest.length;
    return values;
  }
}

type Session = postgres.Sql | postgres.TransactionSql;

/**
 * Runs a packed COPY (packedCopyOut) on the source and writes each range's COPY text, as it unpacks, into the target's
 * `copyIn` (a text `COPY … FROM STDIN`), with backpressure. Returns the rows and the bytes that crossed from the
 * source (the packed ranges); progress counts the text they unpacked to. On failure or abort both COPYs are ended so each
 * connection can roll back.
 */
export async function pipePackedCopy(
  from: Session,
  copyOut: string,
  to: Session,
  copyIn: string,
  options: { signal: AbortSignal; onBytes?: (bytes: number, rows: number) => void },
): Promise<{ rows: number; bytes: number }> {
  const reader = new BinaryColumnReader();
  let rows = 0;
  let bytes = 0;
  await relayCopy(from, copyOut, to, copyIn, {
    signal: options.signal,
    framed: false,
    each: async (chunk, write) => {
      for (const packed of reader.push(chunk)) {
        bytes += packed.length;
        const text = unpackRange(packed);
        if (text.length > 0 && text[text.length - 1] !== 0x0a) corrupt('a range does not end with a whole line');
        rows += countLines(text);
        await write(text);
        options.onBytes?.(text.length, rows);
      }
    },
  });
  if (!reader.ended) corrupt('the binary COPY ended without its trailer');
  return { rows, bytes };
}
