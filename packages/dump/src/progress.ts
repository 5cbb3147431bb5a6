/** Progress of one export or import, as reported to `onProgress`. Byte totals are estimates for exports. */
export interface TransferProgress {
  /** qualified name of the table being copied, or null between tables */
  table: string | null;
  tablesDone: number;
  tablesTotal: number;
  rowsDone: number;
  bytesDone: number;
  bytesTotal: number;
  /** 0–100 */
  percent: number;
  etaSeconds: number | null;
  bytesPerSecond: number;
  message?: string;
}

export type ProgressCallback = (progress: TransferProgress) => void;

/**
 * Tracks counters and decides when to report: at most every `intervalMs`, and always when the table changes
 * or `force` is set. Checked once per flushed buffer, never per row, so it costs nothing measurable.
 */
export class ProgressMeter {
  readonly #onProgress: ProgressCallback | undefined;
  readonly #intervalMs: number;
  readonly #startedAt = Date.now();
  #lastReport = 0;
  state: TransferProgress;

  constructor(onProgress: ProgressCallback | undefined, initial: Partial<TransferProgress> = {}, intervalMs = 200) {
    this.#onProgress = onProgress;
    this.#intervalMs = intervalMs;
    this.state = { table: null, tablesDone: 0, tablesTotal: 0, rowsDone: 0, bytesDone: 0, bytesTotal: 0, percent: 0, etaSeconds: null, bytesPerSecond: 0, ...initial };
  }

  /** Updates counters and reports if due. `completedBytes` lets a caller map its own measure onto the total. */
  update(patch: Partial<TransferProgress>, force = false): void {
    Object.assign(this.state, patch);
    if (!this.#onProgress) return;
    const now = Date.now();
    if (!force && now - this.#lastReport < this.#intervalMs) return;
    this.#lastReport = now;
    this.#onProgress(this.snapshot(now));
  }

  /** A copy of the current state with percent, rate and ETA computed. */
  snapshot(now = Date.now()): TransferProgress {
    const s = this.state;
    const elapsed = Math.max(0.001, (now - this.#startedAt) / 1000);
    const bytesPerSecond = s.bytesDone / elapsed;
    const fraction = s.bytesTotal > 0 ? Math.min(1, s.bytesDone / s.bytesTotal) : s.tablesTotal > 0 ? s.tablesDone / s.tablesTotal : 0;
    const remaining = Math.max(0, s.bytesTotal - s.bytesDone);
    return {
      ...s,
      percent: Math.round(fraction * 1000) / 10,
      bytesPerSecond: Math.round(bytesPerSecond),
      etaSeconds: bytesPerSecond > 0 && s.bytesTotal > 0 ? Math.round(remaining / bytesPerSecond) : null,
    };
  }
}
