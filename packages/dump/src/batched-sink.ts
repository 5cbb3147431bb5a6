import type { Writable } from 'node:stream';
import { DumpError } from './errors.js';
import { waitForDrain } from './stream-chunks.js';

const FLUSH_BYTES = 1 << 16;
export const NEWLINE = 0x0a;

/**
 * Writes to the sink, waiting for 'drain' so memory stays bounded end to end. Small pieces (DDL lines, COPY
 * headers) are gathered into ~64 KiB writes; COPY data arrives from the driver one socket read at a time, and a
 * piece of 64 KiB or more is written as it is (no second copy of the data).
 */
export class BatchedSink {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  bytesWritten = 0;
  constructor(private readonly sink: Writable) {}

  async write(chunk: Buffer | string): Promise<void> {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length >= FLUSH_BYTES) {
      // a large piece (COPY data) is never copied: what is pending goes first, then the piece as it is
      await this.flush();
      return this.#send(buf);
    }
    this.#pending.push(buf);
    this.#pendingBytes += buf.length;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#send(buf);
  }

  async #send(buf: Buffer): Promise<void> {
    this.bytesWritten += buf.length;
    if (this.sink.destroyed) throw new DumpError('DUMP_OUTPUT_NOT_WRITABLE', 'the output stream was closed');
    if (!this.sink.write(buf)) await waitForDrain(this.sink, () => new DumpError('DUMP_OUTPUT_NOT_WRITABLE', 'the output stream was closed'));
  }
}

export function countNewlines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(NEWLINE);
  while (i !== -1) {
    n++;
    i = buf.indexOf(NEWLINE, i + 1);
  }
  return n;
}
