/** Error codes raised by @mbsync/schema-diff. */
export type SchemaDiffErrorCode =
  | 'SCHEMA_DIFF_INTROSPECTION_FAILED'
  | 'SCHEMA_DIFF_UNSUPPORTED_SERVER'
  | 'SCHEMA_DIFF_INVALID_OPTIONS';

/** Base error of the package: `code` is stable and mapped to HTTP statuses by the api. */
export class SchemaDiffError extends Error {
  readonly code: SchemaDiffErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: SchemaDiffErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SchemaDiffError';
    this.code = code;
    if (options.details) this.details = options.details;
  }
}
