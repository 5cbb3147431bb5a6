import { codedError } from '@mbsync/errors';
export type JobsErrorCode =
  | 'JOBS_CONFIG_INVALID'
  | 'JOBS_UNKNOWN_ENVIRONMENT'
  | 'JOBS_PROTECTED_TARGET'
  | 'JOBS_CONFIRMATION_REQUIRED'
  | 'JOBS_INVALID_INPUT'
  | 'JOBS_SCHEMA_INCOMPATIBLE'
  /** a Typesense collection spec reads tables or columns the dump does not have (checked before any write) */
  | 'JOBS_SEARCH_SPEC_MISMATCH'
  /** an export or backup would not fit on its disk (checked before anything is written) */
  | 'JOBS_INSUFFICIENT_DISK_SPACE'
  /** no progress for STALL_TIMEOUT_SECONDS and the databases are not working for the job: the network stalled */
  | 'JOBS_STALLED'
  /** an environment URL's TLS parameters are wrong: unknown sslmode, unreadable sslrootcert/sslcert/sslkey, `ssl=` */
  | 'JOBS_CONNECTION_SETTINGS_INVALID'
  /** the TLS the URL asks for failed: the server declined it, or its certificate did not verify (CA, host name) */
  | 'JOBS_TLS_FAILED'
  /** the URL names a transaction-mode pooler (Supabase's port 6543, pgbouncer=true): refused, use the session port */
  | 'JOBS_TRANSACTION_POOLER';

/** Base class for errors of the job catalogue (configuration, environments, the destination guard). */
export class JobsError extends codedError<JobsErrorCode>('JobsError') {}
