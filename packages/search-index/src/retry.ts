import { Errors } from 'typesense';
import { SearchIndexError, throwIfCancelled } from './errors.js';

/** How transient Typesense failures are retried: bounded exponential backoff with jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Base delay before the first retry; it doubles on each further retry. */
  initialDelayMs: number;
  /** Cap of the base delay. */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  maxElapsedMs: number;
}

/**
 * 8 attempts over at most 2 minutes, base delays 0.5, 1, 2, 4, 8, 15, 15 s, each jittered to between half and
 * all of itself: long enough to ride out Typesense's "Not Ready or Lagging" back-pressure (contract §3).
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 8,
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  maxElapsedMs: 120_000,
});

/** A request that got no answer within its deadline (typesense-js sets no timeout on imports). */
export class RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * True for failures worth retrying, decided by class and status only (never by message text):
 * 5xx (`ServerError`, e.g. 503 Not Ready or Lagging), 429 and 408 (`HTTPError`), transport failures
 * (axios errors that carry no response: ECONNREFUSED, ECONNRESET, socket hang up, client timeouts) and
 * our own import deadline. 4xx answers are permanent.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof RequestTimeoutError) return true;
  if (error instanceof Errors.TypesenseError) {
    const status = error.httpStatus;
    return status !== undefined && (status >= 500 || status === 429 || status === 408);
  }
  return isTransportError(error);
}

/** axios marks its errors with `isAxiosError` (what `axios.isAxiosError` tests); no `response` means no HTTP answer. */
function isTransportError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { isAxiosError?: unknown; response?: unknown };
  return e.isAxiosError === true && (e.response === undefined || e.response === null);
}

/** What one failed attempt looked like, for logs and counters. */
export interface RetryEvent {
  what: string;
  attempt: number;
  delayMs: number;
  error: string;
}

export interface RetryOptions {
  policy: Readonly<RetryPolicy>;
  /** What is being attempted, for messages ("import into parts_…"). */
  what: string;
  signal?: AbortSignal | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** [0, 1) source for the jitter (tests pin it). */
  random?: () => number;
}

/**
 * Runs `operation` until it succeeds, fails permanently, or the policy is exhausted. Transient failures
 * that outlast the policy become SEARCH_INDEX_UNAVAILABLE; a Typesense 4xx becomes SEARCH_INDEX_REQUEST_REJECTED;
 * SearchIndexErrors pass through; anything else is rethrown as is.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, what, signal } = options;
  const random = options.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    throwIfCancelled(signal);
    try {
      return await operation(attempt);
    } catch (error) {
      throwIfCancelled(signal);
      if (!isTransientError(error)) throw permanentError(error, what);
      const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(base / 2 + random() * (base / 2));
      const elapsed = Date.now() - started;
      if (attempt >= policy.maxAttempts || elapsed + delayMs > policy.maxElapsedMs) {
        throw new SearchIndexError(
          'SEARCH_INDEX_UNAVAILABLE',
          `${what}: Typesense unavailable after ${attempt} attempt${attempt === 1 ? '' : 's'} in ${(elapsed / 1000).toFixed(1)} s (${describeError(error)})`,
          { cause: error, details: { attempts: attempt, elapsedMs: elapsed, lastError: describeError(error) } },
        );
      }
      options.onRetry?.({ what, attempt, delayMs, error: describeError(error) });
      await sleep(delayMs, signal);
    }
  }
}

/** Waits for `promise`, giving up with a RequestTimeoutError after `ms`, or SEARCH_INDEX_CANCELLED on abort. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  throwIfCancelled(signal);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(what, ms)), ms);
    onAbort = () => reject(new SearchIndexError('SEARCH_INDEX_CANCELLED', 'reindex cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // the abandoned request may still fail later: that failure is expected and must not surface as unhandled
    promise.catch(() => {});
  }
}

/** Sleeps, or rejects with SEARCH_INDEX_CANCELLED as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SearchIndexError('SEARCH_INDEX_CANCELLED', 'reindex cancelled'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SearchIndexError('SEARCH_INDEX_CANCELLED', 'reindex cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function permanentError(error: unknown, what: string): unknown {
  if (error instanceof SearchIndexError) return error;
  if (error instanceof Errors.TypesenseError && error.httpStatus !== undefined) {
    return new SearchIndexError('SEARCH_INDEX_REQUEST_REJECTED', `${what}: Typesense refused the request (${describeError(error)})`, {
      cause: error,
      details: { status: error.httpStatus },
    });
  }
  return error;
}

/** `ServerError 503: Request failed …` / `AxiosError ECONNREFUSED: connect …`: class, status or code, message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { httpStatus?: unknown }).httpStatus;
  const code = (error as { code?: unknown }).code;
  const tag = typeof status === 'number' ? ` ${status}` : typeof code === 'string' ? ` ${code}` : '';
  const name = (error as { isAxiosError?: unknown }).isAxiosError === true ? 'AxiosError' : error.name;
  return `${name}${tag}: ${error.message}`;
}
