import { DumpError } from '@mbsync/dump';
import { CANCELLED_CODE, type ClassifiedError, type FailureAction, JobCatalogueError, JobsError, redactSecrets, requestWording } from '@mbsync/jobs';

const TRANSIENT_DUMP_CODES: ReadonlySet<string> = new Set(['DUMP_CONNECTION_FAILED', 'DUMP_LOCK_TIMEOUT']);
/** serialization failure, deadlock, admin/crash shutdown, cannot connect now, too many connections, connection exceptions */
const TRANSIENT_PG_CODES: ReadonlySet<string> = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);
const TRANSIENT_NET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
]);

function isTransientPgCode(code: unknown): boolean {
  return typeof code === 'string' && (TRANSIENT_PG_CODES.has(code) || code.startsWith('08'));
}

/**
 * Decides whether a failed attempt is retried, waits for its target, or fails for good. Transient: connection
 * refused/reset, 57P01 admin shutdown, 40001 serialization failure, DUMP_CONNECTION_FAILED, Typesense 5xx.
 * DUMP_TARGET_BUSY waits. Everything else — bad input, guard refusals (JOBS_*), schema incompatibility,
 * corrupt dumps, unknown errors — is permanent.
 */
export function classifyError(error: unknown): ClassifiedError {
  // the worker runs jobs for HTTP clients: options are named as request fields
  const message = requestWording(redactSecrets(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '');
  const result = (code: string, action: FailureAction): ClassifiedError => ({ code, message, retryable: action !== 'fail', action });
  if (error instanceof JobCatalogueError) return result(error.code, error.code === 'JOBS_CONNECTION_FAILED' ? 'retry' : 'fail');
  // a stalled network is worth another attempt; the other JobsErrors are about the request
  if (error instanceof JobsError) return result(error.code, error.code === 'JOBS_STALLED' ? 'retry' : 'fail');
  if (error instanceof DumpError) {
    if (error.code === 'DUMP_CANCELLED') return result(CANCELLED_CODE, 'fail');
    if (error.code === 'DUMP_TARGET_BUSY') return result(error.code, 'wait');
    if (TRANSIENT_DUMP_CODES.has(error.code) || isTransientPgCode(error.details?.pgCode)) return result(error.code, 'retry');
    return result(error.code, 'fail');
  }
  const e = (error ?? {}) as { code?: unknown; name?: unknown; status?: unknown; details?: { status?: unknown } };
  const code = typeof e.code === 'string' ? e.code : '';
  if (e.name === 'AbortError' || code === 'ABORT_ERR') return result(CANCELLED_CODE, 'fail');
  if (code.startsWith('SEARCH_INDEX_')) {
    // Typesense: 5xx and 429 are the server's trouble, not the request's
    const status = Number(e.status ?? e.details?.status ?? 0);
    return result(code, status >= 500 || status === 429 || code === 'SEARCH_INDEX_UNAVAILABLE' ? 'retry' : 'fail');
  }
  if (TRANSIENT_NET_CODES.has(code)) return result('JOBS_CONNECTION_FAILED', 'retry');
  if (isTransientPgCode(code)) return result(`PG_${code}`, 'retry');
  return result(/^[A-Z][A-Z0-9_]+$/.test(code) ? code : 'JOBS_INTERNAL', 'fail');
}

