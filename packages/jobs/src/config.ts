import type { CollectionSpec } from '@mbsync/search-index/specs';
import { readVariables, type Variables } from '@mbsync/settings';
import { Type, type Static } from 'typebox';
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
  /**
   * SYNC_COPY_FORMAT: how a parallel sync picks each table's COPY format among those its column types allow. `auto`
   * (default) by the source's measured round trip: FAR_ROUND_TRIP_MS (5 ms) or more `packed`, a source on this machine
   * binary everywhere (loopback: bytes cost nothing there, and binary spares both servers formatting and parsing),
   * any other `smaller`; `smaller`: per table the smaller of text and binary on the wire by the source's statistics;
   * `packed`: as `smaller`, but text tables deflated on the source where it has pgcrypto (packed-copy.ts: a third of
   * the bytes for about twice the source's CPU, for slow links); `binary`: binary wherever the types allow
   */
  syncCopyFormat?: SyncCopyFormat;
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

/** How long a reindex retries an unreachable Typesense unless TYPESENSE_RETRY_SECONDS says otherwise. */
export const DEFAULT_TYPESENSE_RETRY_SECONDS = 120;

/** SYNC_COPY_FORMAT's values (see CoreConfig.syncCopyFormat). */
export type SyncCopyFormat = 'auto' | 'packed' | 'smaller' | 'binary';

/** Lanes of a parallel sync unless SYNC_JOBS says otherwise (see docs/benchmarks.md). */
export const DEFAULT_SYNC_JOBS = 2;

/**
 * The variables behind {@link CoreConfig}, defaults included: the shared piece of every app's settings schema
 * (api, worker and CLI compose their own from it). Numbers are seconds, days, counts and megabytes as users write them.
 */
export const CoreSettings = Type.Object({
  DUMP_DIRECTORY: Type.String({ default: './data/dumps' }),
  BACKUP_DIRECTORY: Type.String({ default: './data/backups' }),
  BACKUP_KEEP_COUNT: Type.Number({ minimum: 1, default: 10 }),
  BACKUP_KEEP_DAYS: Type.Number({ minimum: 0, default: 14 }),
  DUMP_KEEP_COUNT: Type.Number({ minimum: 0, default: 10 }),
  DUMP_KEEP_DAYS: Type.Number({ minimum: 0, default: 0 }),
  DISK_RESERVE_MB: Type.Number({ minimum: 0, default: 100 }),
  ALLOW_PROTECTED_TARGETS: Type.Boolean({ default: false }),
  TARGET_LOCK_WAIT_SECONDS: Type.Number({ minimum: 0, default: 0 }),
  SYNC_JOBS: Type.Number({ minimum: 1, default: DEFAULT_SYNC_JOBS }),
  SYNC_COPY_FORMAT: Type.Union([Type.Literal('auto'), Type.Literal('packed'), Type.Literal('smaller'), Type.Literal('binary')], { default: 'auto' }),
  STALL_TIMEOUT_SECONDS: Type.Number({ minimum: 0, default: DEFAULT_STALL_TIMEOUT_SECONDS }),
  TYPESENSE_RETRY_SECONDS: Type.Number({ minimum: 0, default: DEFAULT_TYPESENSE_RETRY_SECONDS }),
  /** read by {@link loadSearchSpecs} at start-up; unset: the built-in collection specs */
  TYPESENSE_SPECS_FILE: Type.Optional(Type.String()),
});
export type CoreSettings = Static<typeof CoreSettings>;

/** LOG_LEVEL's words (pino's levels). */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The variables the api and the worker share, defaults included (the CLI's doctor checks them with this schema
 * too): the queue's Redis and prefix (which must match between them), job history limits, logging.
 */
export const ServiceSettings = Type.Object({
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', errorMessage: 'must start with redis:// or rediss://' }),
  QUEUE_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 100, default: 'mbsync', errorMessage: 'may hold letters, digits and _ . : - only (at most 100)' }),
  JOB_HISTORY_MAX_AGE_SECONDS: Type.Integer({ minimum: 1, default: 604_800 }),
  JOB_HISTORY_MAX_COUNT: Type.Integer({ minimum: 1, default: 1000 }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }),
  /** production: log lines are JSON even on a terminal */
  NODE_ENV: Type.Optional(Type.String()),
});

/** Never shown in a problem line: the Redis URL may hold a password. */
export const SERVICE_SECRETS: readonly string[] = ['REDIS_URL'];

/** CoreConfig from settings read through a schema composed from {@link CoreSettings} (searchSpecs left null). */
export function coreConfigFrom(settings: CoreSettings): Readonly<CoreConfig> {
  return Object.freeze({
    dumpDirectory: settings.DUMP_DIRECTORY,
    backupDirectory: settings.BACKUP_DIRECTORY,
    backupKeepCount: settings.BACKUP_KEEP_COUNT,
    backupKeepDays: settings.BACKUP_KEEP_DAYS,
    dumpKeepCount: settings.DUMP_KEEP_COUNT,
    dumpKeepDays: settings.DUMP_KEEP_DAYS,
    diskReserveBytes: settings.DISK_RESERVE_MB * 1024 * 1024,
    allowProtectedTargets: settings.ALLOW_PROTECTED_TARGETS,
    targetLockWaitMs: settings.TARGET_LOCK_WAIT_SECONDS * 1000,
    syncJobs: Math.floor(settings.SYNC_JOBS),
    syncCopyFormat: settings.SYNC_COPY_FORMAT,
    stallTimeoutMs: settings.STALL_TIMEOUT_SECONDS * 1000,
    typesenseRetryMs: settings.TYPESENSE_RETRY_SECONDS * 1000,
    searchSpecs: null,
  });
}

/**
 * The core settings alone (tests, benchmarks and tools that need no app settings); every problem at once, as
 * JOBS_CONFIG_INVALID with the lines in `details.errors`. Frozen.
 */
export function loadCoreConfig(env: Variables): Readonly<CoreConfig> {
  const { settings, problems } = readVariables(CoreSettings, env);
  if (problems.length) throw configInvalid(problems);
  return coreConfigFrom(settings);
}

/** JOBS_CONFIG_INVALID listing `errors` (each already free of secrets). */
export function configInvalid(errors: string[]): JobsError {
  return new JobsError('JOBS_CONFIG_INVALID', `invalid configuration: ${errors.join('; ')}`, { details: { errors } });
}
