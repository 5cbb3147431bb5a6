import type { DatabaseScope } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, describeUrlSafely, type Environment, type Environments, getEnvironment, isDatabaseUrl, loadCoreConfig } from '@mbsync/jobs';

/** What every command gets from main.ts: the environment map and settings read from the process environment. */
export interface CliContext {
  environments: Environments;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** the stall watchdog's scope: commands open their databases in it (`openDatabase(env, { scope })`) */
  scope?: DatabaseScope;
  /** tells the stall watchdog that the command is making progress (the progress output calls it) */
  onActivity?: (phase?: string) => void;
  /** TYPESENSE_SPECS_FILE's collection specs, read and checked at start-up (null: the built-in ones) */
  searchSpecs: CoreConfig['searchSpecs'];
}

/** The settings a command runs with: the core ones from the environment, the collection specs read at start-up. */
export function commandConfig(context: CliContext): Readonly<CoreConfig> {
  return Object.freeze({ ...loadCoreConfig(context.env), searchSpecs: context.searchSpecs });
}

/** What a write prints after its figures: the database it created, the search index it left stale. */
export function writeNotes(result: { createdDatabase: string | null; reindex: { status: string; collections: string[]; documents: number; error?: { code: string; message: string } } | null }, target: string): Record<string, unknown> {
  const notes: Record<string, unknown> = {};
  if (result.createdDatabase) notes.createdDatabase = result.createdDatabase;
  if (result.reindex?.status === 'completed') Object.assign(notes, { reindexed: result.reindex.collections.join(','), documents: result.reindex.documents });
  else if (result.reindex) {
    notes.reindex = result.reindex.status;
    // the data is in: the command succeeds, and says plainly what is left to do
    process.stderr.write(`mbsync: warning: the data of ${target} was written, but its search index was not rebuilt (${result.reindex.error ? `${result.reindex.error.code}: ${result.reindex.error.message}` : result.reindex.status}); run: pnpm mbsync reindex --from ${target}\n`);
  }
  return notes;
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
