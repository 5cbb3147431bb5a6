import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type postgres from 'postgres';
import { DumpError } from '../errors.js';
import { chunksOf, waitForDrain } from '../stream-chunks.js';

type Session = postgres.Sql | postgres.TransactionSql;

/** A postgres.js query as the patched driver (level 4) reads it: `framedCopy` before it runs makes its COPY framed. */
type FramedQuery = { framedCopy?: boolean };

/**
 * Walks a framed COPY stream (driver patch level 4): chunks of whole CopyData messages, header and all, a long
 * message's rest in the chunks after it. Counts the messages (a COPY TO sends one per row) and their payload bytes,
 * and refuses anything else, which must never be relayed.
 */
export class CopyFrames {
  messages = 0;
  payload = 0;
  /** bytes of the current message still to come in later chunks */
  #left = 0;

  add(chunk: Buffer): void {
    let at = 0;
    if (this.#left > 0) {
      at = Math.min(this.#left, chunk.length);
      this.#left -= at;
      this.payload += at;
    }
    while (at < chunk.length) {
      if (chunk[at] !== 0x64 || chunk.length - at < 5) {
        throw new DumpError('DUMP_CORRUPT', `a relayed COPY stream held something other than whole CopyData messages (byte ${chunk[at]} at ${at} of a ${chunk.length}-byte chunk)`);
      }
      const end = at + 1 + chunk.readUInt32BE(at + 1);
      this.messages++;
      this.payload += Math.min(end, chunk.length) - at - 5;
      this.#left = Math.max(0, end - chunk.length);
      at = Math.min(end, chunk.length);
    }
  }
}

/**
 * Streams one table from the source's `COPY … TO STDOUT` into the target's `COPY … FROM STDIN` with backpressure
 * (the source socket pauses while the target's is full). Both COPYs are framed (driver patch level 4): the source's
 * CopyData messages are what a COPY FROM STDIN takes, so they go on as they came off the socket, headers and all,
 * nothing parsed, copied or framed again. Returns the rows (CopyData messages, one per row: COPY text; 0 with
 * countLines false, e.g. binary COPY, whose header and trailer ride in messages too) and the payload bytes that went
 * through. On failure or abort both COPYs are ended so each connection can roll back.
 */
export async function pipeCopy(
  from: Session,
  copyOut: string,
  to: Session,
  copyIn: string,
  options: { signal: AbortSignal; onBytes?: (bytes: number, rows: number) => void; /** text COPY: count its lines (default true) */ countLines?: boolean },
): Promise<{ rows: number; bytes: number }> {
  const frames = new CopyFrames();
  const countLines = options.countLines !== false;
  await relayCopy(from, copyOut, to, copyIn, {
    signal: options.signal,
    framed: true,
    each: async (chunk, write) => {
      const before = frames.payload;
      frames.add(chunk);
      await write(chunk);
      options.onBytes?.(frames.payload - before, countLines ? frames.messages : 0);
    },
  });
  return { rows: countLines ? frames.messages : 0, bytes: frames.payload };
}

/**
 * Runs the source's `COPY … TO STDOUT` and the target's `COPY … FROM STDIN` together: `each` gets every chunk read
 * from the source and writes what the target is to take (`write` waits while the target's socket is full). Framed
 * (driver patch level 4): chunks of whole CopyData messages both ways; else CopyData payloads. After a failure the
 * source is still read to its end (a half-read COPY would block its connection's rollback); on failure or abort both
 * COPYs are ended so each connection can roll back.
 */
export async function relayCopy(
  from: Session,
  copyOut: string,
  to: Session,
  copyIn: string,
  options: { signal: AbortSignal; framed: boolean; each: (chunk: Buffer, write: (data: Buffer) => Promise<void>) => Promise<void> },
): Promise<void> {
  const { signal } = options;
  if (signal.aborted) throw new DumpError('DUMP_CANCELLED', 'cancelled');
  const inbound = to.unsafe(copyIn);
  if (options.framed) (inbound as FramedQuery).framedCopy = true;
  const writable = (await inbound.writable()) as Writable;
  // errors are read from writable.errored; without a listener a late one would crash the process
  writable.on('error', () => {});
  const outbound = from.unsafe(copyOut);
  if (options.framed) (outbound as FramedQuery).framedCopy = true;
  let readable: Readable;
  try {
    readable = await outbound.readable();
  } catch (error) {
    writable.destroy(error as Error);
    throw error;
  }
  let draining = false;
  const onAbort = () => {
    outbound.cancel();
    if (!writable.destroyed) writable.destroy(new DumpError('DUMP_CANCELLED', 'cancelled'));
  };
  // an error or close ends the wait too: the loop then sees writable.errored / destroyed and stops writing
  const write = async (data: Buffer) => {
    if (writable.destroyed || writable.errored) return;
    if (!writable.write(data)) await waitForDrain(writable, () => new DumpError('DUMP_IMPORT_FAILED', 'the target connection closed during COPY')).catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of chunksOf(readable)) {
      // keep reading after a failure: a half-read COPY would block the source connection's rollback
      if (draining) continue;
      if (writable.destroyed || writable.errored) {
        draining = true;
        outbound.cancel();
        continue;
      }
      await options.each(chunk, write);
    }
    if (signal.aborted) throw new DumpError('DUMP_CANCELLED', 'cancelled');
    if (writable.errored) throw writable.errored;
    writable.end();
    // 'finish' comes with the server's CommandComplete, an error with its ErrorResponse (patched driver)
    await finished(writable);
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error instanceof Error ? error : new Error(String(error)));
    if (!draining) outbound.cancel();
    throw writable.errored && !(error instanceof DumpError) ? writable.errored : error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
