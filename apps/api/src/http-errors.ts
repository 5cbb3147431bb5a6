import { codedError } from '@mbsync/errors';
import { redactSecrets, type KnownErrorCode } from '@mbsync/jobs';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Codes the api raises itself (the packages own JOBS_*, DUMP_*, SCHEMA_DIFF_*, SEARCH_INDEX_*, CANCELLED). */
export type ApiErrorCode =
  | 'API_VALIDATION_FAILED'
  | 'API_INVALID_JSON'
  | 'API_URL_NOT_ACCEPTED'
  | 'API_DUMP_NAME_INVALID'
  | 'API_TYPESENSE_NOT_CONFIGURED'
  | 'API_BAD_REQUEST'
  | 'API_UNAUTHORIZED'
  | 'API_NOT_FOUND'
  | 'API_JOB_NOT_FOUND'
  | 'API_DUMP_NOT_FOUND'
  | 'API_JOB_FINISHED'
  | 'API_JOB_COMMITTED'
  | 'API_JOB_NOT_RETRYABLE'
  | 'API_DUMP_EXISTS'
  | 'API_URI_TOO_LONG'
  | 'API_PAYLOAD_TOO_LARGE'
  | 'API_UNSUPPORTED_MEDIA_TYPE'
  | 'API_RATE_LIMITED'
  | 'API_QUEUE_UNAVAILABLE'
  | 'API_SHUTTING_DOWN'
  | 'API_INTERNAL';

/** An error the api raises with one of its own codes; the status comes from ERROR_TABLE. */
export class ApiError extends codedError<ApiErrorCode>('ApiError') {}

interface ErrorRule {
  status: number;
  /** shown instead of the error's own message: set for every 5xx so internals never reach a client */
  publicMessage?: string;
}

const rule = (status: number, publicMessage?: string): ErrorRule => (publicMessage === undefined ? { status } : { status, publicMessage });

/**
 * THE table: every error code of the api and of the packages → HTTP status, checked by the compiler (a code
 * missing here, or one no package has, does not compile). Codes from elsewhere fall back by prefix (PREFIX_RULES),
 * then to 500. A 5xx always answers with its public message, never the error's own.
 */
export const ERROR_TABLE: Readonly<Record<string, ErrorRule>> = Object.freeze(({
  // the api
  API_VALIDATION_FAILED: rule(400),
  API_INVALID_JSON: rule(400),
  API_URL_NOT_ACCEPTED: rule(400),
  API_DUMP_NAME_INVALID: rule(400),
  API_TYPESENSE_NOT_CONFIGURED: rule(400),
  API_BAD_REQUEST: rule(400),
  API_UNAUTHORIZED: rule(401),
  API_NOT_FOUND: rule(404),
  API_JOB_NOT_FOUND: rule(404),
  API_DUMP_NOT_FOUND: rule(404),
  API_JOB_FINISHED: rule(409),
  API_JOB_COMMITTED: rule(409),
  API_JOB_NOT_RETRYABLE: rule(409),
  API_DUMP_EXISTS: rule(409),
  API_URI_TOO_LONG: rule(414),
  API_PAYLOAD_TOO_LARGE: rule(413),
  API_UNSUPPORTED_MEDIA_TYPE: rule(415),
  API_RATE_LIMITED: rule(429),
  API_INTERNAL: rule(500, 'internal error'),
  API_QUEUE_UNAVAILABLE: rule(503, 'the job queue (Redis) is not reachable; try again later'),
  API_SHUTTING_DOWN: rule(503, 'the server is shutting down'),
  // @mbsync/jobs (JobsError) and the job catalogue (JobCatalogueError)
  JOBS_INVALID_INPUT: rule(400),
  JOBS_UNKNOWN_ENVIRONMENT: rule(400),
  JOBS_PAYLOAD_INVALID: rule(400),
  JOBS_UNKNOWN_JOB_TYPE: rule(400),
  JOBS_PROTECTED_TARGET: rule(403),
  JOBS_CONFIRMATION_REQUIRED: rule(403),
  CANCELLED: rule(409),
  JOBS_SCHEMA_INCOMPATIBLE: rule(422),
  JOBS_SEARCH_SPEC_MISMATCH: rule(422),
  JOBS_CONFIG_INVALID: rule(500, 'the server configuration is invalid'),
  JOBS_INTERNAL: rule(500, 'internal error'),
  JOBS_CONNECTION_FAILED: rule(502, 'a database or service could not be reached'),
  JOBS_STALLED: rule(504, 'a database stopped answering (no progress within STALL_TIMEOUT_SECONDS)'),
  JOBS_INSUFFICIENT_DISK_SPACE: rule(507, 'not enough disk space on the server for the dump or backup'),
  JOBS_TRANSACTION_POOLER: rule(422),
  JOBS_CONNECTION_SETTINGS_INVALID: rule(500, 'an environment\'s connection settings (sslmode, sslrootcert, …) are invalid'),
  JOBS_TLS_FAILED: rule(502, 'TLS with a database failed (refused, or its certificate did not verify)'),
  // @mbsync/dump (DumpError)
  DUMP_BACKUP_NOT_FOUND: rule(404),
  DUMP_CANCELLED: rule(409),
  DUMP_TARGET_BUSY: rule(409),
  DUMP_LOCK_TIMEOUT: rule(409),
  DUMP_OUTPUT_EXISTS: rule(409),
  DUMP_MANIFEST_INVALID: rule(422),
  DUMP_FORMAT_UNSUPPORTED: rule(422),
  DUMP_CORRUPT: rule(422),
  DUMP_SQL_SYNTAX: rule(422),
  DUMP_BACKSLASH_COMMAND: rule(422),
  DUMP_STATEMENT_TOO_LARGE: rule(422),
  DUMP_UNTERMINATED: rule(422),
  DUMP_VERIFY_FAILED: rule(422),
  DUMP_DEPENDENTS_LOST: rule(403),
  DUMP_UNSUPPORTED_OBJECTS: rule(422),
  DUMP_OUTPUT_NOT_WRITABLE: rule(500, 'the dump directory is not writable'),
  DUMP_CONNECTION_FAILED: rule(502, 'a database could not be reached'),
  DUMP_AUTHENTICATION_FAILED: rule(502, 'a database refused the configured credentials'),
  DUMP_DATABASE_NOT_FOUND: rule(502, 'a configured database does not exist'),
  DUMP_PERMISSION_DENIED: rule(502, 'a database refused an operation for lack of privileges'),
  DUMP_QUERY_FAILED: rule(502, 'a database query failed'),
  DUMP_IMPORT_FAILED: rule(502, 'the import failed on the target database'),
  DUMP_DRIVER_UNPATCHED: rule(500, 'the server was installed without its database driver patch (run pnpm install)'),
  // @mbsync/schema-diff (SchemaDiffError)
  SCHEMA_DIFF_INVALID_OPTIONS: rule(400),
  SCHEMA_DIFF_UNSUPPORTED_SERVER: rule(422),
  SCHEMA_DIFF_INTROSPECTION_FAILED: rule(502, 'reading a database schema failed (is the database reachable?)'),
  // @mbsync/search-index (SearchIndexError); a new code falls back to 502 by prefix
  SEARCH_INDEX_UNKNOWN_COLLECTION: rule(400),
  SEARCH_INDEX_CANCELLED: rule(409),
  SEARCH_INDEX_COUNT_MISMATCH: rule(422),
  SEARCH_INDEX_DOCUMENTS_FAILED: rule(422),
  SEARCH_INDEX_SPEC_INVALID: rule(500, 'a search collection spec on the server is invalid'),
  SEARCH_INDEX_QUERY_FAILED: rule(502, 'the query building the search documents failed'),
  SEARCH_INDEX_REQUEST_REJECTED: rule(502, 'the search server refused a request'),
  SEARCH_INDEX_INVALID_RESPONSE: rule(502, 'the search server answered something unexpected'),
  SEARCH_INDEX_SWAP_FAILED: rule(502, 'the search alias could not be switched to the new collection'),
  SEARCH_INDEX_UPDATE_REFUSED: rule(502, 'the search collection could not be updated by id'),
  SEARCH_INDEX_UNAVAILABLE: rule(503, 'the search server is not reachable; try again later'),
}) satisfies Record<ApiErrorCode | KnownErrorCode, ErrorRule>);

/** Fallbacks for codes a package adds later: a known prefix still maps somewhere sensible. */
const PREFIX_RULES: readonly [string, ErrorRule][] = [
  ['API_', rule(500, 'internal error')],
  ['JOBS_', rule(500, 'internal error')],
  ['DUMP_', rule(500, 'internal error')],
  ['SCHEMA_DIFF_', rule(500, 'internal error')],
  ['SEARCH_INDEX_', rule(502, 'the search server failed')],
  ['PG_', rule(502, 'a database query failed')],
];

const INTERNAL = rule(500, 'internal error');

/** The status (and public message for 5xx) of a code. */
export function ruleFor(code: string): ErrorRule {
  return ERROR_TABLE[code] ?? PREFIX_RULES.find(([prefix]) => code.startsWith(prefix))?.[1] ?? INTERNAL;
}

/** What every error response holds. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

type CodedError = Error & { code?: unknown; details?: unknown; statusCode?: unknown; validation?: unknown; validationContext?: unknown };

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `body/from` for a problem at /from of the body (or a missing/unknown property named in params). */
function fieldOf(context: string, issue: ValidationIssue): string {
  const params = issue.params ?? {};
  const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  const path = `${issue.instancePath ?? ''}${extra ? `/${extra}` : ''}`.replace(/^\//, '');
  return path ? `${context}/${path}` : context;
}

function validationBody(error: CodedError): ErrorBody {
  const context = typeof error.validationContext === 'string' ? error.validationContext : 'request';
  const issues = (error.validation as ValidationIssue[]).map((issue) => {
    const field = fieldOf(context, issue);
    const params = issue.params ?? {};
    const what = params.additionalProperty ? 'is not an accepted property' : params.missingProperty ? 'is required' : (issue.message ?? 'is invalid');
    return { field, message: what };
  });
  const first = issues[0] ?? { field: context, message: 'is invalid' };
  // a choice of constants (a union of literals) fails once per choice: name them all instead of "must be equal to constant"
  const allowed = (error.validation as ValidationIssue[]).filter((issue) => issue.params && 'allowedValue' in issue.params && fieldOf(context, issue) === first.field).map((issue) => issue.params!.allowedValue);
  const message = allowed.length > 1 ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : first.message;
  return { error: { code: 'API_VALIDATION_FAILED', message: `${first.field} ${message}`, details: { field: first.field, problems: issues } } };
}

/** Fastify's own errors (FST_*) with a 4xx status → an api code. */
function fastifyCode(error: CodedError, status: number): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return 'API_PAYLOAD_TOO_LARGE';
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) return 'API_UNSUPPORTED_MEDIA_TYPE';
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return 'API_INVALID_JSON';
  if (status === 401) return 'API_UNAUTHORIZED';
  if (status === 404) return 'API_NOT_FOUND';
  if (status === 414) return 'API_URI_TOO_LONG';
  if (status === 429) return 'API_RATE_LIMITED';
  return 'API_BAD_REQUEST';
}

/** True for the errors ioredis raises when Redis is down (no retries left, closed, refused). */
export function isRedisUnavailable(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    e?.code === 'ECONNREFUSED' ||
    (typeof e?.message === 'string' && /Connection is closed|Stream isn't writeable|enableOfflineQueue/.test(e.message))
  );
}

/** Turns anything thrown into a status and the one error shape. 5xx bodies carry only a public message. */
export function toErrorResponse(thrown: unknown): { status: number; body: ErrorBody } {
  const error = (thrown instanceof Error ? thrown : new Error(String(thrown))) as CodedError;
  if (Array.isArray(error.validation)) return { status: 400, body: validationBody(error) };
  if (isRedisUnavailable(error)) return respond('API_QUEUE_UNAVAILABLE', '');
  let code = typeof error.code === 'string' ? error.code : '';
  const fastifyStatus = typeof error.statusCode === 'number' ? error.statusCode : 0;
  if ((code === '' || code.startsWith('FST_')) && fastifyStatus >= 400 && fastifyStatus < 500) code = fastifyCode(error, fastifyStatus);
  const details = error.details !== null && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
  // the router's message quotes the whole path back
  if (code === 'API_URI_TOO_LONG') return respond(code, 'a path parameter is too long (at most 256 characters)');
  return respond(code || 'API_INTERNAL', error.message, details);
}

function respond(code: string, message: string, details?: Record<string, unknown>): { status: number; body: ErrorBody } {
  const { status, publicMessage } = ruleFor(code);
  if (status >= 500) return { status, body: { error: { code: /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'API_INTERNAL', message: publicMessage ?? 'internal error' } } };
  return { status, body: { error: { code, message: redactSecrets(message), ...(details ? { details: safeDetails(details) } : {}) } } };
}

/** Details pass through JSON once so no class instance or cause (which may hold a driver error) slips out. */
function safeDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(redactSecrets(JSON.stringify(details))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Sends the error shape for `error` and logs 5xx with the full error (the log is redacted, the body is not verbose). */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body } = toErrorResponse(error);
  if (status >= 500) request.log.error({ err: error, code: body.error.code }, 'request failed');
  else request.log.info({ code: body.error.code, status }, body.error.message);
  return reply.status(status).send(body);
}

/** Installs the one error handler and the 404 handler producing `{ error: { code, message, details? } }`. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error as FastifyError));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply.status(404).send({ error: { code: 'API_NOT_FOUND', message: `no route ${request.method} ${path}` } } satisfies ErrorBody);
  });
}
