import type postgres from 'postgres';
import { NEWLINE, countNewlines, type BatchedSink } from './batched-sink.js';
import { qualify, quoteIdent, type DataTable } from './ddl.js';
import { exportSessionSettingsSql } from './dump-format.js';
import { DumpError } from './errors.js';
import type { PoolOpener } from './parallel/staging-schemas.js';
import type { ProgressMeter } from './progress.js';
import { quoteLiteral } from './sql-literal.js';
import { chunksOf } from './stream-chunks.js';

/**
 * With several lanes, a lane hands the file at most this much of a table at a time: one COPY block. The
 * other lanes keep reading meanwhile (up to the same amount each), so every connection's server process keeps
 * formatting rows instead of waiting for the file.
 */
export const BLOCK_BYTES = 8 << 20;

export interface TableStats {
  schema: string;
  name: string;
  rows: number;
  /** bytes of COPY data read from the source (packed: the packed ranges, as they crossed the network) */
  bytes: number;
  /** 'schema.table' of the partition root the rows are loaded through, when they are (DataTable.loadVia) */
  via?: string;
  /** a table of the target's platform, loaded data-only (DataTable.platform) */
  platform?: boolean;
  /**
   * the COPY format a parallel sync's lane moved the rows in (binary where every column's type allows it; packed:
   * deflated on the source, see packed-copy.ts)
   */
  format?: 'binary' | 'text' | 'packed';
}

/** Connections a helper lane holds open: one transaction in the exporting connection's snapshot. */
export interface HelperLane {
  tx: postgres.TransactionSql;
  /** ends the lane's transaction */
  release(): void;
  /** settles when the lane's connection is closed */
  done: Promise<unknown>;
}

/**
 * Opens `count` more connections like `sql`, each in a REPEATABLE READ READ ONLY transaction that imports the
 * snapshot of `tx` (pg_export_snapshot) and has the export's session settings, so that every lane reads the
 * same data and prints it the same way.
 */
export async function openHelperLanes(open: PoolOpener, tx: postgres.TransactionSql, count: number): Promise<HelperLane[]> {
  const [snapshot] = await tx<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
  const settings = exportSessionSettingsSql();
  const opened = Array.from({ length: count }, (_, i) => {
    const pool = open(`mbsync export lane ${i + 2}`);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let ready!: (tx: postgres.TransactionSql) => void;
    let failed!: (error: unknown) => void;
    const readyTx = new Promise<postgres.TransactionSql>((resolve, reject) => ((ready = resolve), (failed = reject)));
    const held = pool.begin('isolation level repeatable read read only', async (htx) => {
      await htx.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot!.id)}`);
      await htx.unsafe(settings);
      ready(htx);
      await released;
    });
    held.catch(failed);
    const done = held.catch(() => {}).finally(() => pool.end({ timeout: 1 }));
    return { readyTx, release, done };
  });
  const results = await Promise.allSettled(opened.map((o) => o.readyTx));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) {
    for (const o of opened) o.release();
    await Promise.allSettled(opened.map((o) => o.done));
    throw failure.reason;
  }
  return opened.map((o, i) => ({ tx: (results[i] as PromiseFulfilledResult<postgres.TransactionSql>).value, release: o.release, done: o.done }));
}

/**
 * Copies the rows of every table into the dump over one or more lanes (transactions sharing one snapshot),
 * largest tables first. With one lane each table is one COPY block, as pg_dump writes it. With more, each
 * lane gathers up to {@link BLOCK_BYTES} (by default) of its table and then writes them as one `COPY … FROM stdin;` block
 * while the others keep reading, so a table's rows may come in several blocks, each of whole rows (a COPY
 * text row ends at its only raw newline). psql and the importer load such a file the same way.
 */
export class DataCopier {
  /** per table, in the dump's table order */
  readonly tables: TableStats[];
  readonly #out: BatchedSink;
  readonly #meter: ProgressMeter;
  readonly #signal: AbortSignal | undefined;
  readonly #split: boolean;
  readonly #blockBytes: number;
  readonly #sourceName: string;
  readonly #queue: { table: DataTable; stats: TableStats }[];
  readonly #queries = new Set<{ cancel(): void }>();
  readonly #active = new Map<TableStats, number>();
  #lease: Promise<void> = Promise.resolve();
  #cancelled = false;
  #firstError: unknown = null;
  #finishedEstimate = 0;
  #rowsDone = 0;

  constructor(out: BatchedSink, meter: ProgressMeter, tables: DataTable[], options: { signal: AbortSignal | undefined; split: boolean; sourceName: string; blockBytes: number }) {
    this.#out = out;
    this.#meter = meter;
    this.#signal = options.signal;
    this.#split = options.split;
    this.#blockBytes = options.blockBytes;
    this.#sourceName = options.sourceName;
    this.tables = tables.map((t) => ({
      schema: t.schema, name: t.name, rows: 0, bytes: 0, ...(t.loadVia ? { via: `${t.loadVia.schema}.${t.loadVia.name}` } : {}), ...(t.platform ? { platform: true } : {}),
    }));
    this.#queue = tables.map((table, i) => ({ table, stats: this.tables[i]! }));
    // with one lane the dump keeps its table order; with more, the largest go first so no lane is left alone
    // with a big table at the end
    if (options.split) this.#queue.sort((a, b) => b.table.estimatedBytes - a.table.estimatedBytes);
  }

  /** Runs the lanes (the first is the exporting transaction) until every table is copied. */
  async run(lanes: postgres.TransactionSql[]): Promise<void> {
    await Promise.allSettled(lanes.map((tx, i) => this.#lane(tx, i)));
    if (this.#firstError !== null) throw this.#firstError;
    if (this.#signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled');
  }

  /** Stops every lane: their COPY queries are cancelled on the server. */
  cancel(): void {
    this.#cancelled = true;
    for (const q of this.#queries) q.cancel();
  }

  async #lane(tx: postgres.TransactionSql, lane: number): Promise<void> {
    try {
      for (let next = this.#queue.shift(); next && !this.#cancelled; next = this.#queue.shift()) {
        await this.#copy(tx, lane, next.table, next.stats);
      }
    } catch (error) {
      this.#firstError ??= error;
      this.cancel();
    }
  }

  /** Waits for the file; resolves with the function that hands it on. */
  #acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#lease.then(() => release);
    this.#lease = this.#lease.then(() => next);
    return ready;
  }

  async #copy(tx: postgres.TransactionSql, lane: number, table: DataTable, stats: TableStats): Promise<void> {
    const name = qualify(table.schema, table.name);
    const label = `${table.schema}.${table.name}`;
    // A table whose only columns are generated (or none at all) still holds rows: COPY it without a list.
    const columns = table.columns.map(quoteIdent).join(', ');
    const list = columns ? ` (${columns})` : '';
    // rows of an enum-hash-partitioned tree go in through its root, which routes them (see loadThroughRoot)
    const header = `COPY ${table.loadVia ? qualify(table.loadVia.schema, table.loadVia.name) : name}${list} FROM stdin;\n`;
    if (lane > 0) await this.#lockNoWait(tx, name, label);
    this.#meter.update({ table: label }, true);
    this.#active.set(stats, table.estimatedBytes);
    // (cancel() on a query not yet sent would leave it never running: check first)
    if (this.#cancelled || this.#signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled');
    const query = tx.unsafe(`COPY ${name}${list} TO STDOUT`);
    this.#queries.add(query);
    let release: (() => void) | null = null;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let blocks = 0;
    const out = this.#out;
    // one lane streams the table straight through; several gather a block's worth first
    const blockBytes = this.#split ? this.#blockBytes : 0;
    // writes what is pending into the open block, opening one (waiting for the file) if none is
    const flush = async () => {
      if (!release) {
        release = await this.#acquire();
        await out.write(header);
        blocks++;
      }
      for (const chunk of pending) await out.write(chunk);
      pending = [];
      pendingBytes = 0;
    };
    const close = async () => {
      await out.write('\\.\n\n');
      release!();
      release = null;
    };
    try {
      // resolves with the stream once the server is in COPY mode; a server error destroys the stream
      const stream = await query.readable();
      let lastLook = 0;
      let cancelling = false;
      for await (const chunk of chunksOf(stream)) {
        if (this.#cancelled || this.#signal?.aborted) {
          // cancel server-side and keep draining: a paused, half-read COPY would block the rollback
          if (!cancelling) query.cancel();
          cancelling = true;
          continue;
        }
        const rows = countNewlines(chunk);
        stats.rows += rows;
        stats.bytes += chunk.length;
        this.#rowsDone += rows;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (release || pendingBytes >= blockBytes) {
          await flush();
          // with several lanes the file is handed on at the end of a row (one lane: kept to the table's end)
          if (this.#split && chunk[chunk.length - 1] === NEWLINE) await close();
        }
        // progress is looked at every 1 MiB, not per row
        if (stats.bytes - lastLook >= 1 << 20) {
          lastLook = stats.bytes;
          this.#progress();
        }
      }
      if (this.#cancelled || this.#signal?.aborted) throw new DumpError('DUMP_CANCELLED', 'export cancelled');
      // the last rows; an empty table still gets its (empty) block, as pg_dump writes it
      if (release || pendingBytes > 0 || blocks === 0) {
        await flush();
        await close();
      }
    } finally {
      // a failure mid-block leaves the file to be thrown away: hand it on so no other lane waits forever
      if (release) (release as () => void)();
      this.#queries.delete(query);
    }
    this.#active.delete(stats);
    this.#finishedEstimate += table.estimatedBytes;
    const tablesDone = this.tables.length - this.#queue.length - this.#active.size;
    this.#meter.update({ tablesDone, rowsDone: this.#rowsDone, bytesDone: this.#bytesDone(), table: null }, true);
  }

  /**
   * Like pg_dump's workers: a helper lane never queues behind another session's pending exclusive lock (the
   * exporting transaction holds ACCESS SHARE already, so such a wait could never end).
   */
  async #lockNoWait(tx: postgres.TransactionSql, name: string, label: string): Promise<void> {
    const lock = tx.unsafe(`LOCK TABLE ${name} IN ACCESS SHARE MODE NOWAIT`);
    this.#queries.add(lock);
    try {
      await lock;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') {
        throw new DumpError('DUMP_LOCK_TIMEOUT', `another session is waiting for a lock on ${label} in the source "${this.#sourceName}"; try again when it has finished`, { cause: error });
      }
      throw error;
    } finally {
      this.#queries.delete(lock);
    }
  }

  #bytesDone(): number {
    let bytes = this.#finishedEstimate;
    for (const [stats, estimate] of this.#active) bytes += Math.min(stats.bytes, estimate);
    return bytes;
  }

  #progress(): void {
    this.#meter.update({ bytesDone: this.#bytesDone(), rowsDone: this.#rowsDone });
  }
}
