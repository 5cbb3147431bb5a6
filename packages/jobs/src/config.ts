import type { CollectionSpec } from '@mbsync/search-index/specs';
import { JobsError } from './errors.js';

/** STALL_TIMEOUT_SECONDS when unset: no byte and no progress for this long fails a job with JOBS_STALLED. */
export const DEFAULT_STALL_TIMEOUT_SECONDS = 120;

/** Settings shared by the CLI, the worker and the api (each app adds its own). Read once, frozen. */
export interface CoreConfig {
  dumpDirectory: string;
  backupDirectory: string;
  backupKeepCount: number;
  backupKeepDays: number;
  /** dumps kept per source in dumpDirectory (names mbsync chose; newest first); 0 = no limit */
  dumpKeepCount: number;
  /** dumps older than this many days are removed (0 = no age limit) */
  dumpKeepDays: number;
  /** space an export or backup must leave free on its disk besides the estimated dump, in bytes */
  diskReserveBytes: number;
  allowProtectedTargets: boolean;
  /** how long an import waits for another import into the same target */
  targetLockWaitMs: number;
  /**
   * SYNC_JOBS: connections per side of a streaming replace sync (1 = the whole import in one transaction), and
   * the connections an export reads table data with
   */
  syncJobs: number;
  /** STALL_TIMEOUT_SECONDS: a job with no progress for this long is checked and failed when stalled (0 = off) */
  stallTimeoutMs: number;
  /** TYPESENSE_RETRY_SECONDS: how long a reindex rides out an unreachable or overloaded Typesense before it fails */
  typesenseRetryMs: number;
  /**
   * The collection specs of TYPESENSE_SPECS_FILE (null: the built-in ones). loadCoreConfig leaves it null; the
   * apps read the file at start-up (loadSearchSpecs) and put the specs here.
   */
  searchSpecs: readonly CollectionSpec[] | null;
}

function numberSetting(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, errors: string[], min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    errors.push(`${name} must be a number >= ${min}, got "${raw}"`);
    return fallback;
  }
  return n;
}

function booleanSetting(env: Readonly<Record<string, string | undefined>>, name: string, errors: string[]): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0' || raw === 'no') return false;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  errors.push(`${name} must be true or false, got "${env[name]}"`);
  return false;
}

/** STALL_TIMEOUT_SECONDS alone, in ms (for commands that need no other setting); JOBS_CONFIG_INVALID when it is bad. */
export function readStallTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const errors: string[] = [];
  const seconds = numberSetting(env, 'STALL_TIMEOUT_SECONDS', DEFAULT_STALL_TIMEOUT_SECONDS, errors, 0);
  if (errors.length) throw new JobsError('JOBS_CONFIG_INVALID', `invalid configuration: ${errors.join('; ')}`, { errors });
  return seconds * 1000;
}

/** How long a reindex retries an unreachable Typesense unless TYPESENSE_RETRY_SECONDS says otherwise. */
export const DEFAULT_TYPESENSE_RETRY_SECONDS = 120;

/** Lanes of a parallel sync unless SYNC_JOBS says otherwise (see docs/benchmarks.md). */
export const DEFAULT_SYNC_JOBS = 2;

/** Reads the core settings; every problem is reported at once. */
export function loadCoreConfig(env: Readonly<Record<string, string | undefined>>): Readonly<CoreConfig> {
  const errors: string[] = [];
  const config: CoreConfig = {
    dumpDirectory: env.DUMP_DIRECTORY || './data/dumps',
    backupDirectory: env.BACKUP_DIRECTORY || './data/backups',
    backupKeepCount: numberSetting(env, 'BACKUP_KEEP_COUNT', 10, errors, 1),
    backupKeepDays: numberSetting(env, 'BACKUP_KEEP_DAYS', 14, errors, 0),
    dumpKeepCount: numberSetting(env, 'DUMP_KEEP_COUNT', 10, errors, 0),
    dumpKeepDays: numberSetting(env, 'DUMP_KEEP_DAYS', 0, errors, 0),
    diskReserveBytes: numberSetting(env, 'DISK_RESERVE_MB', 100, errors, 0) * 1024 * 1024,
    allowProtectedTargets: booleanSetting(env, 'ALLOW_PROTECTED_TARGETS', errors),
    targetLockWaitMs: numberSetting(env, 'TARGET_LOCK_WAIT_SECONDS', 0, errors, 0) * 1000,
    syncJobs: Math.floor(numberSetting(env, 'SYNC_JOBS', DEFAULT_SYNC_JOBS, errors, 1)),
    stallTimeoutMs: numberSetting(env, 'STALL_TIMEOUT_SECONDS', DEFAULT_STALL_TIMEOUT_SECONDS, errors, 0) * 1000,
    typesenseRetryMs: numberSetting(env, 'TYPESENSE_RETRY_SECONDS', DEFAULT_TYPESENSE_RETRY_SECONDS, errors, 0) * 1000,
    searchSpecs: null,
  };
  if (errors.length) throw new JobsError('JOBS_CONFIG_INVALID', `invalid configuration: ${errors.join('; ')}`, { errors });
  return Object.freeze(config);
}
