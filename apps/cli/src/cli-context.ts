import { describeEnvironment, describeUrlSafely, getEnvironment, isDatabaseUrl, type Environment, type Environments } from '@mbsync/jobs/core';

/** What every command gets from main.ts: the environment map and settings read from the process environment. */
export interface CliContext {
  environments: Environments;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

/** `--from`/`--to` take an environment name or a postgres:// URL (CLI only: the API accepts names only). */
export function resolveDatabase(context: CliContext, value: string): Environment {
  if (isDatabaseUrl(value)) return describeEnvironment(describeUrlSafely(value), value, undefined, undefined, context.env.PGHOST);
  return getEnvironment(context.environments, value);
}

/** A usage mistake: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
