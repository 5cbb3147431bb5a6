import { codedError } from '@mbsync/errors';
/** Error codes raised by @mbsync/schema-diff. */
export type SchemaDiffErrorCode =
  | 'SCHEMA_DIFF_INTROSPECTION_FAILED'
  | 'SCHEMA_DIFF_UNSUPPORTED_SERVER'
  | 'SCHEMA_DIFF_INVALID_OPTIONS';

/** Base error of the package: `code` is stable and mapped to HTTP statuses by the api. */
export class SchemaDiffError extends codedError<SchemaDiffErrorCode>('SchemaDiffError') {}
