import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DUMP_FORMAT_VERSION, TOOL_NAME, TRAILER_MARK } from './dump-format.js';
import { DumpError } from './errors.js';
import { readManifest, type DumpManifest } from './manifest.js';
import { readSqlStatements, SqlStreamError, type SqlEvent } from './sql-stream.js';

/** pg_dump's plain output ends with this comment (before any \unrestrict line). */
const PG_DUMP_TRAILER = '-- PostgreSQL database dump complete';
const TAIL_BYTES = 4096;
/** Our header line without its version: `-- multiboard-sync dump format <n>`. */
const HEADER_PREFIX = `-- ${TOOL_NAME} dump format `;
const HEAD_BYTES = 128;

/** A dump as the importer reads it: decompressed bytes, plus what is known about it up front. */
export interface DumpSource {
  /** decompressed SQL text as bytes */
  chunks: AsyncIterable<Buffer>;
  /** bytes of input consumed so far (compressed bytes for .gz files), for progress */
  readonly bytesRead: number;
  /** total input bytes when known */
  totalBytes: number;
  manifest: DumpManifest | null;
  /** Called after the last chunk: throws DUMP_CORRUPT unless the text ended with a completion trailer. */
  assertComplete(): void;
  /** Describes the input for messages: a file name, never a URL. */
  label: string;
}

/**
 * Opens a dump file for import. A file of ours is checked against its manifest before anything else
 * (size, sha256), so a truncated or altered file is refused before the target is touched.
 */
export async function openDumpFile(file: string): Promise<DumpSource> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new DumpError('DUMP_CORRUPT', `cannot read dump ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  if (!info.isFile()) throw new DumpError('DUMP_CORRUPT', `dump ${file} is not a regular file`);
  const manifest = await readManifest(file);
  const gzip = await isGzip(file);
  if (manifest) {
    if (manifest.fileBytes !== info.size) {
      throw new DumpError('DUMP_CORRUPT', `dump ${file} is ${info.size} bytes but its manifest says ${manifest.fileBytes}: the file is truncated or altered`);
    }
    const sha256 = await hashFile(file);
    if (sha256 !== manifest.sha256) {
      throw new DumpError('DUMP_CORRUPT', `dump ${file} does not match the sha256 in its manifest: the file is altered or corrupt`);
    }
  }
  // Without a manifest (pg_dump output, or ours with the manifest lost) the trailer check guards truncation.
  let bytesRead = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesRead += chunk.length;
      callback(null, chunk);
    },
  });
  // pipeline destroys every stage on an error, so a read error or bad gzip surfaces in the consumer's loop
  const text: Readable = gzip
    ? pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counter, createGunzip(), () => {})
    : pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counter, () => {});
  return withTrailerCheck(
    text as AsyncIterable<Buffer>,
    { manifest, totalBytes: info.size, label: file },
    () => bytesRead,
  );
}

/**
 * Wraps a stream of dump text (e.g. an export being written in the same process) so the importer can
 * check its trailer at the end.
 */
export function openDumpStream(chunks: AsyncIterable<Buffer>, options: { label: string; totalBytes?: number; manifest?: DumpManifest | null }): DumpSource {
  let bytesRead = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      bytesRead += chunk.length;
      yield chunk;
    }
  }
  return withTrailerCheck(counted(), { manifest: options.manifest ?? null, totalBytes: options.totalBytes ?? 0, label: options.label }, () => bytesRead);
}

function withTrailerCheck(
  chunks: AsyncIterable<Buffer>,
  fields: { manifest: DumpManifest | null; totalBytes: number; label: string },
  bytesRead: () => number,
): DumpSource {
  let tail: Buffer = Buffer.alloc(0);
  let ended = false;
  // the first bytes, until the header line could be checked
  let head: Buffer | null = Buffer.alloc(0);
  async function* tapped(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of chunks) {
        if (head) {
          head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES)]);
          if (head.length >= HEAD_BYTES || head.includes(0x0a)) {
            assertKnownFormat(head, fields.label);
            head = null;
          }
        }
        tail = chunk.length >= TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : Buffer.concat([tail, chunk]).subarray(-TAIL_BYTES);
        yield chunk;
      }
      if (head) assertKnownFormat(head, fields.label);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' || (error as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') {
        throw new DumpError('DUMP_CORRUPT', `dump ${fields.label} is not valid gzip (truncated or corrupt)`, { cause: error });
      }
      throw error;
    }
    ended = true;
  }
  return {
    chunks: tapped(),
    get bytesRead() {
      return bytesRead();
    },
    totalBytes: fields.totalBytes,
    manifest: fields.manifest,
    label: fields.label,
    assertComplete() {
      const text = tail.toString('utf8');
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('\\unrestrict') && l !== '--');
      const last = lines.at(-1) ?? '';
      if (!ended || !(last.startsWith(TRAILER_MARK) || last === PG_DUMP_TRAILER)) {
        throw new DumpError('DUMP_CORRUPT', `dump ${fields.label} has no completion trailer: it was cut short`);
      }
    },
  };
}

/**
 * Refuses what is not a plain SQL dump before any of it is replayed: a pg_dump archive, binary data, or our
 * own header with another format version (a dump written by a newer version; without a manifest nothing
 * else would notice).
 */
function assertKnownFormat(head: Buffer, label: string): void {
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    throw new DumpError('DUMP_FORMAT_UNSUPPORTED', `dump ${label} is a pg_dump archive (custom/tar format): only plain SQL dumps are read (pg_dump -Fp, or pg_restore -f file.sql)`);
  }
  if (head.includes(0)) throw new DumpError('DUMP_FORMAT_UNSUPPORTED', `dump ${label} holds binary data, not the text of a plain SQL dump`);
  const first = head.toString('latin1').split('\n')[0]!.replace(/\r$/, '');
  if (!first.startsWith(HEADER_PREFIX)) return;
  const version = first.slice(HEADER_PREFIX.length).trim();
  if (version !== String(DUMP_FORMAT_VERSION)) {
    throw new DumpError('DUMP_FORMAT_UNSUPPORTED', `dump ${label} is in format ${JSON.stringify(version.slice(0, 20))}, this tool reads format ${DUMP_FORMAT_VERSION} (written by a newer multiboard-sync?)`);
  }
}

/**
 * The dump's statements, COPY blocks and meta lines (readSqlStatements), with the reader's refusals turned into
 * DumpErrors that name the file and line: `<file>:<line>: <reason>`.
 */
export async function* readDumpEvents(source: DumpSource): AsyncGenerator<SqlEvent> {
  try {
    yield* readSqlStatements(source.chunks);
  } catch (error) {
    throw dumpReadError(error, source.label);
  }
}

/** A SqlStreamError as a DumpError with the same code, naming the file and line; any other error unchanged. */
export function dumpReadError(error: unknown, label: string): unknown {
  if (!(error instanceof SqlStreamError)) return error;
  const reason = error.message.replace(/ \(line \d+\)$/, '');
  return new DumpError(error.code, `${label}:${error.line}: ${reason}`, { cause: error, details: { line: error.line } });
}

async function isGzip(file: string): Promise<boolean> {
  const head = await readBytes(file, 2);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

async function readBytes(file: string, n: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
