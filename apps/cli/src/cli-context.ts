import { describeEnvironment, describeUrlSafely, getEnvironment, isDatabaseUrl, type DatabaseScope, type Environment, type Environments } from '@mbsync/jobs/core';

/** What every command gets from main.ts: the environment map and settings read from the process environment. */
export interface CliContext {
  environments: Environments;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** the stall watchdog's scope: commands open their databases in it (`openDatabase(env, { scope })`) */
  scope?: DatabaseScope;
  /** tells the stall watchdog that the command is making progress (the progress output calls it) */
  onActivity?: (phase?: string) => void;
}

/** `--from`/`--to` take an environment name or a postgres:// URL (CLI only: the API accepts names only). */
export function resolveDatabase(context: CliContext, value: string): Environment {
  if (isDatabaseUrl(value)) return describeEnvironment(describeUrlSafely(value), value, undefined, undefined, context.env.PGHOST);
  return getEnvironment(context.environments, value);
}

/** `--jobs <n>`: a whole number from 1 to 16, or undefined when not given (the command's default then). */
export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const jobs = Number(value);
  if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 16)) throw new UsageError(`--jobs must be a whole number from 1 to 16, not "${value}"`);
  return jobs;
}

/** A usage mistake: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
