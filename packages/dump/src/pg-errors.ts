import { DumpError } from './errors.js';

interface PgLikeError {
  code?: string;
  message?: string;
  errno?: string;
  address?: string;
  port?: number;
  severity?: string;
  table_name?: string;
}

/**
 * Turns a driver or server error into a DumpError with a one-line reason that names the problem and never
 * the connection string. `role` says which side failed ("source", "target") and `name` which environment.
 */
export function describePgError(error: unknown, role: string, name: string): DumpError {
  if (error instanceof DumpError) return error;
  const e = (error ?? {}) as PgLikeError;
  const code = e.code ?? '';
  const where = `${role} "${name}"`;
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'CONNECT_TIMEOUT':
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_ENDED':
    case 'CONNECTION_DESTROYED':
    case '57P01':
    case '57P02':
    case '57P03':
      return new DumpError('DUMP_CONNECTION_FAILED', `cannot reach ${where}: ${shortReason(e)}`, { cause: error, details: { pgCode: code } });
    case '28P01':
    case '28000':
      return new DumpError('DUMP_AUTHENTICATION_FAILED', `authentication failed for ${where}: ${e.message ?? code}`, { cause: error, details: { pgCode: code } });
    case '3D000':
      return new DumpError('DUMP_DATABASE_NOT_FOUND', `database of ${where} does not exist: ${e.message ?? code}`, { cause: error, details: { pgCode: code } });
    case '42501':
      return new DumpError('DUMP_PERMISSION_DENIED', `permission denied on ${where}: ${e.message ?? code}`, { cause: error, details: { pgCode: code } });
    case '55P03':
      return new DumpError('DUMP_LOCK_TIMEOUT', `could not lock tables on ${where} in time (another session holds a conflicting lock): ${e.message ?? code}`, { cause: error, details: { pgCode: code } });
    case '57014':
      return new DumpError('DUMP_CANCELLED', `cancelled on ${where}`, { cause: error, details: { pgCode: code } });
    default:
      return new DumpError('DUMP_QUERY_FAILED', `${where}: ${e.message ?? String(error)}`, { cause: error, details: code ? { pgCode: code } : undefined });
  }
}

function shortReason(e: PgLikeError): string {
  if (e.errno && e.address) return `${e.code} ${e.address}${e.port ? `:${e.port}` : ''}`;
  return e.message ?? e.code ?? 'connection failed';
}
