import type { JobProgress, JobProgressUpdate } from '@mbsync/jobs';
import type { Logger } from 'pino';

/** The part of a BullMQ job the publisher needs. */
export interface ProgressSink {
  updateProgress(progress: JobProgressUpdate): Promise<void>;
}

/**
 * Throttles a job's progress to one update per `intervalMs`, but publishes at once when the phase or the
 * table changes, and publishes the latest held-back update when the interval ends (so a phase's last numbers
 * are never lost). Updates are sent one after another, in order; `flush()` waits for all of them.
 */
export class ProgressPublisher {
  readonly #sink: ProgressSink;
  readonly #attempt: number;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #last: JobProgressUpdate | null = null;
  #lastSentAt = 0;
  #pending: JobProgressUpdate | null = null;
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<void> = Promise.resolve();

  constructor(sink: ProgressSink, attempt: number, intervalMs: number, log: Logger) {
    this.#sink = sink;
    this.#attempt = attempt;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /**
   * Takes a progress report from a runner; never throws, never blocks the runner. Phases only move forward:
   * a streaming sync keeps exporting while it validates and backs up, and those late export reports are
   * dropped so listeners see the phases in order.
   */
  push(progress: JobProgress): void {
    const update: JobProgressUpdate = { ...progress, attempt: this.#attempt };
    if (this.#last && update.phases.indexOf(update.phase) < update.phases.indexOf(this.#last.phase)) return;
    const changed = !this.#last || this.#last.phase !== update.phase || this.#last.table !== update.table;
    if (this.#last?.phase !== update.phase) this.#log.info({ phase: update.phase }, `phase ${update.phase}`);
    if (changed || Date.now() - this.#lastSentAt >= this.#intervalMs) {
      this.#send(update);
      return;
    }
    this.#pending = update;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      if (this.#pending) this.#send(this.#pending);
    }, Math.max(0, this.#lastSentAt + this.#intervalMs - Date.now()));
  }

  /** Sends what is held back and waits until every update has reached Redis. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending) this.#send(this.#pending);
    await this.#chain;
  }

  #send(update: JobProgressUpdate): void {
    this.#pending = null;
    this.#last = update;
    this.#lastSentAt = Date.now();
    this.#chain = this.#chain.then(
      () => this.#sink.updateProgress(update).catch((error: unknown) => this.#log.warn({ err: error }, 'progress update failed')),
    );
  }
}
