/** What a coded error may carry besides its code and message. */
export interface CodedErrorOptions {
  cause?: unknown;
  /** machine-readable facts for clients (never a secret: messages and details reach logs and the api) */
  details?: Record<string, unknown> | undefined;
}

/** An error with a stable code, mapped to an HTTP status by the api's error table. */
export interface CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown> | undefined;
}

/** The constructor codedError returns. */
export interface CodedErrorClass<C extends string> {
  new (code: C, message: string, options?: CodedErrorOptions): CodedError<C>;
}

/**
 * The base class of one package's errors, named `name`, with the package's code union `C` (each package's codes
 * share its prefix: DUMP_, JOBS_, SCHEMA_DIFF_, SEARCH_INDEX_, API_):
 *
 *   export class DumpError extends codedError<DumpErrorCode>('DumpError') {}
 *
 * `instanceof` works on the subclass; the code is typed, so the api's error table is checked by the compiler.
 */
export function codedError<C extends string>(name: string): CodedErrorClass<C> {
  return class extends Error implements CodedError<C> {
    readonly code: C;
    readonly details: Record<string, unknown> | undefined;
    constructor(code: C, message: string, options: CodedErrorOptions = {}) {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
      this.name = name;
      this.code = code;
      this.details = options.details;
    }
  };
}

/** The code of any error that has one (a coded error, a server's SQLSTATE, a driver's), else undefined. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
