import type { ByteSource } from './byte-source.js';
import { SqlStreamError } from './sql-stream-error.js';

/** The bytes of an end-of-data line that may be held back across a chunk boundary: `\`, `\.`, `\.\r`. */
const TERMINATOR_PREFIX = Buffer.from('\\.\r', 'latin1');

/**
 * Reads one COPY … FROM stdin data block: slices of the source chunks up to (excluding) the line that is
 * exactly `\.`, which is consumed. Bytes are never decoded or copied, except a held-back `\`, `\.` or
 * `\.\r` that turned out to be data after a chunk boundary (at most 3 bytes).
 */
export class CopyDataReader {
  /** Set by the statement reader once it has moved past this block; reading then is a bug in the caller. */
  detached = false;
  private done = false;
  private failure: unknown;
  private busy = false;
  /** The next byte starts a line, and `held` bytes of a possible `\.` line are already behind us. */
  private atLineStart = true;
  private held = 0;

  constructor(
    private readonly src: ByteSource,
    /** line of the COPY statement, for errors */
    private readonly copyLine: number,
  ) {}

  /** The next slice of data, or null once the terminating `\.` line has been consumed. */
  async next(): Promise<Buffer | null> {
    if (this.failure !== undefined) throw this.failure;
    if (this.busy) throw new Error('COPY data is already being read: await each chunk before asking for the next');
    this.busy = true;
    try {
      while (!this.done) {
        if (!this.src.hasBytes && !(await this.src.pull())) return this.endOfInput();
        const slice = this.scan();
        if (slice !== undefined) return slice;
      }
      return null;
    } catch (error) {
      this.failure = error;
      throw error;
    } finally {
      this.busy = false;
    }
  }

  /** Skips the rest of the block. */
  async drain(): Promise<void> {
    while ((await this.next()) !== null) {
      // discard
    }
  }

  private endOfInput(): null {
    // `\.` (or `\.\r`) as the very last bytes of the input ends the block too.
    if (this.atLineStart && this.held >= 2) {
      this.done = true;
      return null;
    }
    throw new SqlStreamError('DUMP_UNTERMINATED', 'COPY data has no terminating \\. line before the end of input', this.copyLine);
  }

  /** Scans the current chunk: a non-empty slice of data, null at the terminator, undefined when the chunk held none. */
  private scan(): Buffer | null | undefined {
    const src = this.src;
    const buf = src.buf;
    const n = buf.length;
    const start = src.pos;

    if (this.atLineStart) {
      const heldBefore = this.held;
      let h = heldBefore;
      let p = start;
      for (; p < n; p++) {
        const c = buf[p];
        if (c === 0x0a && h >= 2) {
          src.line++;
          src.pos = p + 1;
          this.done = true;
          return null;
        }
        if (h === 0 ? c === 0x5c : h === 1 ? c === 0x2e : h === 2 && c === 0x0d) h++;
        else break;
      }
      if (p === n) {
        this.held = h;
        src.pos = n;
        return undefined;
      }
      this.atLineStart = false;
      this.held = 0;
      // Bytes held from earlier chunks were data; hand them over, then rescan this chunk from `start`.
      if (heldBefore > 0) return Buffer.from(TERMINATOR_PREFIX.subarray(0, heldBefore));
    }

    let from = start;
    for (;;) {
      const nl = buf.indexOf(0x0a, from);
      if (nl < 0) {
        src.pos = n;
        return buf.subarray(start, n);
      }
      src.line++;
      const s = nl + 1; // a line starts here
      if (s === n) return this.heldAtEnd(buf, start, s, 0);
      if (buf[s] !== 0x5c) { from = s; continue; }
      if (s + 1 === n) return this.heldAtEnd(buf, start, s, 1);
      if (buf[s + 1] !== 0x2e) { from = s + 1; continue; }
      if (s + 2 === n) return this.heldAtEnd(buf, start, s, 2);
      const c = buf[s + 2];
      let end = -1;
      if (c === 0x0a) end = s + 3;
      else if (c === 0x0d) {
        if (s + 3 === n) return this.heldAtEnd(buf, start, s, 3);
        if (buf[s + 3] === 0x0a) end = s + 4;
      }
      if (end < 0) { from = s + 2; continue; }
      src.line++;
      src.pos = end;
      this.done = true;
      return buf.subarray(start, s);
    }
  }

  /** The chunk ends at a line start, possibly inside a `\.` line: hand over the data before it and hold the rest. */
  private heldAtEnd(buf: Buffer, start: number, lineStart: number, held: number): Buffer {
    this.src.pos = buf.length;
    this.atLineStart = true;
    this.held = held;
    return buf.subarray(start, lineStart);
  }
}
