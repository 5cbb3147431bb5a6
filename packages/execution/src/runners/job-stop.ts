import { DumpError } from '@mbsync/dump';

/**
 * The signal a runner hands to every side of a job (export, import, backup, lanes), linked to the caller's cancel.
 * A side that fails stops the others through `stop(cause)`; they then end in a cancellation of their own, which
 * `explain` turns back into the failure that stopped them: a job the user did not cancel is never reported as
 * cancelled, and a transient cause (a terminated session, a cut link) stays retryable.
 */
export class JobStop {
  readonly #controller = new AbortController();
  readonly #outer: AbortSignal | undefined;
  readonly #onOuter = () => this.#controller.abort();
  #cause: { error: unknown } | null = null;

  constructor(outer: AbortSignal | undefined) {
    this.#outer = outer;
    if (outer?.aborted) this.#controller.abort();
    outer?.addEventListener('abort', this.#onOuter, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops every side; the first cause is the one `explain` reports. */
  stop(cause: unknown): void {
    if (!this.#cause && !this.#controller.signal.aborted) this.#cause = { error: cause };
    this.#controller.abort();
  }

  /** What to report for `error`: the stopping cause when `error` is only the cancellation it caused. */
  explain(error: unknown): unknown {
    if (this.#outer?.aborted || !this.#cause) return error;
    return error instanceof DumpError && error.code === 'DUMP_CANCELLED' ? this.#cause.error : error;
  }

  dispose(): void {
    this.#outer?.removeEventListener('abort', this.#onOuter);
  }
}
