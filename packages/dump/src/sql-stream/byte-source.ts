const EMPTY = Buffer.alloc(0);

/**
 * The chunk being scanned and the position in it, shared by the statement lexer and the COPY data reader.
 * A new chunk is pulled only once the current one is used up, so the reader never holds more than one
 * chunk the consumer has not taken yet.
 */
export class ByteSource {
  buf: Buffer = EMPTY;
  pos = 0;
  /** 1-based line of the byte at `pos`: every \n of the input counts, COPY data included. */
  line = 1;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** True while unscanned bytes remain in the current chunk. */
  get hasBytes(): boolean {
    return this.pos < this.buf.length;
  }

  /** Replaces the used-up chunk with the next non-empty one; false at end of input. */
  async pull(): Promise<boolean> {
    while (!this.ended) {
      const next = await this.iterator.next();
      if (next.done) break;
      const chunk = toBuffer(next.value);
      if (chunk.length === 0) continue;
      this.buf = chunk;
      this.pos = 0;
      return true;
    }
    this.ended = true;
    this.buf = EMPTY;
    this.pos = 0;
    return false;
  }

  /** Releases the underlying stream (a file handle, a gunzip) when reading stops early. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.buf = EMPTY;
    this.pos = 0;
    await this.iterator.return?.();
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  // A plain Uint8Array (web streams) is viewed, not copied.
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`readSqlStatements: the source yielded ${typeof value}, expected Buffer or string`);
}
