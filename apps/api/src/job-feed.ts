import { type JobProgressUpdate, jobStatus } from '@mbsync/jobs';
import type { QueueEvents } from 'bullmq';
import { jobError, overallPercent, readProgress, toApiState } from './job-view.js';
import type { ApiJobState } from './schemas/jobs.js';

/** A change of one job, as the sockets receive it. */
export type FeedEvent =
  | {
      type: 'state';
      jobId: string;
      state: ApiJobState;
      /** the job type, on the event of a newly added job */
      jobType?: string;
      percent?: number;
      result?: unknown;
      error?: { code: string; message: string };
    }
  | { type: 'progress'; jobId: string; percent: number; progress: JobProgressUpdate }
  /** removed from the queue for another reason than a cancel (history retention, an operator) */
  | { type: 'removed'; jobId: string };

export type FeedListener = (event: FeedEvent) => void;

const WAITING_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'wait']);

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * Turns the events of THE QueueEvents of the queue into FeedEvents for every listener (one per socket): the
 * Redis stream is read once per process however many sockets listen.
 */
export class JobFeed {
  #events: QueueEvents | null = null;
  readonly #listeners = new Set<FeedListener>();
  readonly #handlers: [string, (...args: never[]) => void][];

  constructor() {
    const emit = (event: FeedEvent) => {
      for (const listener of this.#listeners) listener(event);
    };
    this.#handlers = [
      ['added', ({ jobId, name }: { jobId: string; name: string }) => emit({ type: 'state', jobId, state: 'waiting', jobType: name })],
      ['waiting', ({ jobId }: { jobId: string }) => emit({ type: 'state', jobId, state: 'waiting' })],
      ['delayed', ({ jobId }: { jobId: string }) => emit({ type: 'state', jobId, state: 'delayed' })],
      ['active', ({ jobId }: { jobId: string }) => emit({ type: 'state', jobId, state: 'active' })],
      [
        'progress',
        ({ jobId, data }: { jobId: string; data: unknown }) => {
          const progress = readProgress(parseMaybeJson(data));
          if (progress) emit({ type: 'progress', jobId, percent: overallPercent('active', progress), progress });
        },
      ],
      [
        'completed',
        ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) =>
          emit({ type: 'state', jobId, state: 'completed', percent: 100, result: parseMaybeJson(returnvalue) }),
      ],
      [
        'failed',
        ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
          const state = toApiState(jobStatus('failed', failedReason)) ?? 'failed';
          emit({ type: 'state', jobId, state, error: jobError(failedReason) });
        },
      ],
      [
        'removed',
        ({ jobId, prev }: { jobId: string; prev?: string }) =>
          // requestCancel removes a job that has not started: for a client, that job was cancelled
          emit(prev !== undefined && WAITING_STATES.has(prev) ? { type: 'state', jobId, state: 'cancelled', error: { code: 'CANCELLED', message: 'cancelled before it started' } } : { type: 'removed', jobId }),
      ],
    ];
  }

  /** Starts reading `events` (once: the process has one QueueEvents for the queue). */
  attach(events: QueueEvents): void {
    if (this.#events) throw new Error('JobFeed is already attached to a QueueEvents');
    this.#events = events;
    for (const [name, handler] of this.#handlers) events.on(name as 'added', handler as never);
  }

  /** Adds a listener; returns its removal. */
  listen(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Detaches from the QueueEvents (which the queues plugin closes). */
  close(): void {
    for (const [name, handler] of this.#handlers) this.#events?.off(name as 'added', handler as never);
    this.#listeners.clear();
  }
}
