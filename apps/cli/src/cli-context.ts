import type { CollectionOutcome, DatabaseScope, ReindexOutcome } from '@mbsync/execution';
import { configInvalid, type CoreConfig, describeEnvironment, describeUrlSafely, type Environment, getEnvironment, isDatabaseUrl } from '@mbsync/jobs';
import type { CliSettings } from './settings.js';

/** What every command gets from main.ts: the settings read once from the environment (never the environment). */
export interface CliContext {
  settings: CliSettings;
  signal: AbortSignal;
  /** the stall watchdog's scope: commands open their databases in it (`openDatabase(env, { scope })`) */
  scope?: DatabaseScope;
  /** tells the stall watchdog that the command is making progress (the progress output calls it) */
  onActivity?: (phase?: string) => void;
}

/**
 * The settings a command runs with: the core ones and TYPESENSE_SPECS_FILE's collection specs, read at start-up.
 * main.ts runs no command but doctor when they are invalid; JOBS_CONFIG_INVALID here if one is called anyway.
 */
export function commandConfig(context: CliContext): Readonly<CoreConfig> {
  if (!context.settings.core) throw configInvalid(context.settings.problems.core);
  return context.settings.core;
}

/** What a write prints after its figures: the database it created, the search index it left stale. */
export function writeNotes(result: { createdDatabase: string | null; reindex: Pick<ReindexOutcome, 'status' | 'collections' | 'documents' | 'error' | 'byCollection'> | null }, target: string): Record<string, unknown> {
  const notes: Record<string, unknown> = {};
  if (result.createdDatabase) notes.createdDatabase = result.createdDatabase;
  if (result.reindex?.status === 'completed') {
    Object.assign(notes, { reindexed: result.reindex.collections.join(','), documents: result.reindex.documents });
    // after an incremental sync: which collections were updated in place by id, which rebuilt
    if (result.reindex.byCollection?.some((c) => c.mode === 'updated')) notes.search = result.reindex.byCollection.map(describeCollection).join(',');
  }
  else if (result.reindex) {
    notes.reindex = result.reindex.status;
    // the data is in: the command succeeds, and says plainly what is left to do
    process.stderr.write(`mbsync: warning: the data of ${target} was written, but its search index was not rebuilt (${result.reindex.error ? `${result.reindex.error.code}: ${result.reindex.error.message}` : result.reindex.status}); run: pnpm mbsync reindex --from ${target}\n`);
  }
  return notes;
}

/** `components updated(+2/-1)`, `parts rebuilt`. */
function describeCollection(c: CollectionOutcome): string {
  return c.mode === 'updated' ? `${c.name} updated(+${c.upserted}/-${c.deleted})` : `${c.name} rebuilt`;
}

/** `--from`/`--to` take an environment name or a postgres:// URL (CLI only: the API accepts names only). */
export function resolveDatabase(context: CliContext, value: string): Environment {
  if (isDatabaseUrl(value)) return describeEnvironment(describeUrlSafely(value), value, undefined, undefined, context.settings.pgHost);
  return getEnvironment(context.settings.environments, value);
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
