import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';

/**
 * A source at least this many milliseconds away (round trip) is across a wide-area link: another region, an office, a
 * home. A LAN or a data centre answers in well under a millisecond or two; a link with tens of milliseconds of delay
 * carries hundreds of Mbit/s at most, where a source that deflates its rows (packed COPY) beats one that sends them as
 * they are (docs/benchmarks.md, the WAN bench).
 */
export const FAR_ROUND_TRIP_MS = 5;

/**
 * The shortest of `samples` round trips to the server (an empty query and its answer), in milliseconds: the link's
 * delay, which queueing and scheduling only ever lengthen.
 */
export async function roundTripMs(sql: postgres.Sql | postgres.TransactionSql, samples = 5): Promise<number> {
  let shortest = Infinity;
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await sql.unsafe('SELECT 1');
    shortest = Math.min(shortest, performance.now() - started);
  }
  return shortest;
}
