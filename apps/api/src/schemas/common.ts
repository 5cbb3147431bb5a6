import { Type, type Static } from 'typebox';

/**
 * An environment NAME as configured by `<NAME>_DATABASE_URL` (e.g. "local", "staging"). The pattern rules out
 * anything URL-like: connection strings are never accepted over HTTP.
 */
export const EnvironmentName = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_-]*$',
  minLength: 1,
  maxLength: 63,
  description: 'environment name as configured on the server (`<NAME>_DATABASE_URL`), never a URL',
  examples: ['local'],
});

/** The one error shape of every non-2xx answer. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable code, e.g. JOBS_UNKNOWN_ENVIRONMENT (see README-protocol.md for the table)' }),
      message: Type.String({ description: 'one line for humans; never internals on 5xx' }),
      details: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'machine-readable context, e.g. { field } for validation errors' })),
    }),
  },
  { $id: 'ErrorResponse', description: 'error' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

/** The error answers a route may give, for its response schema (referenced, so the document stays small). */
export function errors(...statuses: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'ErrorResponse#' }]));
}

/** The errors every authenticated route may answer with. */
export const AUTH_ERRORS = [401, 500, 503] as const;
