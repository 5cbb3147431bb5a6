import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type postgres from 'postgres';
import { countNewlines } from '../batched-sink.js';
import { DumpError } from '../errors.js';
import { chunksOf, waitForDrain } from '../stream-chunks.js';

type Session = postgres.Sql | postgres.TransactionSql;

/**
 * Streams one table from the source's `COPY … TO STDOUT` into the target's `COPY … FROM STDIN`, bytes untouched,
 * with backpressure (the source socket pauses while the target's is full). Returns the rows (COPY text lines;
 * 0 with countLines false, e.g. binary COPY) and bytes that went through. On failure or abort both COPYs are ended so each connection can roll back.
 */
export async function pipeCopy(
  from: Session,
  copyOut: string,
  to: Session,
  copyIn: string,
  options: { signal: AbortSignal; onBytes?: (bytes: number, rows: number) => void; /** text COPY: count its lines (default true) */ countLines?: boolean },
): Promise<{ rows: number; bytes: number }> {
  const { signal } = options;
  if (signal.aborted) throw new DumpError('DUMP_CANCELLED', 'cancelled');
  const inbound = to.unsafe(copyIn);
  const writable = (await inbound.writable()) as Writable;
  // errors are read from writable.errored; without a listener a late one would crash the process
  writable.on('error', () => {});
  const outbound = from.unsafe(copyOut);
  let readable: Readable;
  try {
    readable = await outbound.readable();
  } catch (error) {
    writable.destroy(error as Error);
    throw error;
  }
  let rows = 0;
  let bytes = 0;
  let draining = false;
  const countLines = options.countLines !== false;
  const onAbort = () => {
    outbound.cancel();
    if (!writable.destroyed) writable.destroy(new DumpError('DUMP_CANCELLED', 'cancelled'));
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
      if (countLines) rows += countNewlines(chunk);
      bytes += chunk.length;
      // an error or close ends the wait too: the loop then sees writable.errored / destroyed and stops writing
      if (!writable.write(chunk)) await waitForDrain(writable, () => new DumpError('DUMP_IMPORT_FAILED', 'the target connection closed during COPY')).catch(() => {});
      options.onBytes?.(chunk.length, rows);
    }
    if (signal.aborted) throw new DumpError('DUMP_CANCELLED', 'cancelled');
    if (writable.errored) throw writable.errored;
    writable.end();
    // 'finish' comes with the server's CommandComplete, an error with its ErrorResponse (patched driver)
    await finished(writable);
    return { rows, bytes };
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error instanceof Error ? error : new Error(String(error)));
    if (!draining) outbound.cancel();
    throw writable.errored && !(error instanceof DumpError) ? writable.errored : error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
