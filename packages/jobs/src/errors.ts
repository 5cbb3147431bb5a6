export type JobsErrorCode =
  | 'JOBS_CONFIG_INVALID'
  | 'JOBS_UNKNOWN_ENVIRONMENT'
  | 'JOBS_PROTECTED_TARGET'
  | 'JOBS_CONFIRMATION_REQUIRED'
  | 'JOBS_INVALID_INPUT'
  | 'JOBS_SCHEMA_INCOMPATIBLE';

/** Base class for errors of the job catalogue (configuration, environments, the destination guard). */
export class JobsError extends Error {
  readonly code: JobsErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: JobsErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'JobsError';
    this.code = code;
    this.details = details;
  }
}
