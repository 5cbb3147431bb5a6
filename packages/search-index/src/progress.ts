/**
 * Reindex progress, shaped like `@mbsync/dump`'s TransferProgress so the CLI bar and the job progress take it
 * unchanged. Counters are per collection, and the byte fields carry DOCUMENTS:
 * - `table`: the collection being rebuilt (its alias name), null before the first and after the last
 * - `tablesDone` / `tablesTotal`: collections finished / selected
 * - `rowsDone`: documents done (imported or failed) in this collection, the same figure as `bytesDone`
 * - `bytesDone` / `bytesTotal`: documents done / rows of the spec query (its count(*), same snapshot)
 * - `bytesPerSecond`: documents per second in this collection; `etaSeconds` (of this collection) follows from them
 * - `percent`: of the whole reindex, across the collections (each counts the same), so it never goes back when the
 *   next collection starts: a job's bar and the api's progress stream (which drops reports that go back) stay live
 * - `message`: the same in words ("parts 2/3: 120,000/200,000 documents, 8,100/s")
 */
export interface ReindexProgress {
  table: string | null;
  tablesDone: number;
  tablesTotal: number;
  rowsDone: number;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  etaSeconds: number | null;
  bytesPerSecond: number;
  message?: string;
}

export type ReindexProgressCallback = (progress: ReindexProgress) => void;

/** Counts documents per collection and reports at most every `intervalMs` (always at a collection's start and end). */
export class ReindexMeter {
  readonly #onProgress: ReindexProgressCallback | undefined;
  readonly #intervalMs: number;
  readonly #tablesTotal: number;
  #tablesDone = 0;
  #table: string | null = null;
  #done = 0;
  #total = 0;
  #finished = false;
  #startedAt = Date.now();
  #lastReport = 0;

  constructor(onProgress: ReindexProgressCallback | undefined, tablesTotal: number, intervalMs = 200) {
    this.#onProgress = onProgress;
    this.#tablesTotal = tablesTotal;
    this.#intervalMs = intervalMs;
  }

  /** A collection starts: its total is the row count of its query. */
  start(collection: string, total: number): void {
    this.#table = collection;
    this.#done = 0;
    this.#total = total;
    this.#finished = false;
    this.#startedAt = Date.now();
    this.#report(true);
  }

  /** `count` more documents were imported or failed. */
  advance(count: number): void {
    this.#done += count;
    this.#report(false);
  }

  /** The collection is complete (built and checked; live once every alias moved): counted as done. */
  finish(message?: string): void {
    this.#tablesDone++;
    this.#finished = true;
    this.#report(true, message);
  }

  /** Reports a step without documents (cleanup, swap). */
  note(message: string): void {
    this.#report(true, message);
  }

  /** Between collections and after the last one. */
  idle(): void {
    this.#table = null;
    this.#done = 0;
    this.#total = 0;
    this.#finished = false;
  }

  snapshot(now = Date.now(), message?: string): ReindexProgress {
    const elapsed = Math.max(0.001, (now - this.#startedAt) / 1000);
    const rate = this.#done / elapsed;
    const remaining = Math.max(0, this.#total - this.#done);
    // a finished collection is already in tablesDone; the one being built counts by its documents
    const current = this.#finished ? 0 : this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0;
    const fraction = this.#tablesTotal > 0 ? Math.min(1, (this.#tablesDone + current) / this.#tablesTotal) : 1;
    const progress: ReindexProgress = {
      table: this.#table,
      tablesDone: this.#tablesDone,
      tablesTotal: this.#tablesTotal,
      rowsDone: this.#done,
      bytesDone: this.#done,
      bytesTotal: this.#total,
      percent: Math.round(fraction * 1000) / 10,
      etaSeconds: rate > 0 && this.#total > 0 ? Math.round(remaining / rate) : null,
      bytesPerSecond: Math.round(rate),
    };
    progress.message = message ?? this.#describe(progress);
    return progress;
  }

  #describe(p: ReindexProgress): string {
    if (p.table === null) return `${p.tablesDone}/${p.tablesTotal} collections reindexed`;
    const n = (x: number) => x.toLocaleString('en-US');
    const position = this.#finished ? p.tablesDone : Math.min(p.tablesDone + 1, p.tablesTotal);
    return `${p.table} ${position}/${p.tablesTotal}: ${n(p.bytesDone)}/${n(p.bytesTotal)} documents, ${n(p.bytesPerSecond)}/s`;
  }

  #report(force: boolean, message?: string): void {
    if (!this.#onProgress) return;
    const now = Date.now();
    if (!force && now - this.#lastReport < this.#intervalMs) return;
    this.#lastReport = now;
    this.#onProgress(this.snapshot(now, message));
  }
}
