import { JobsError } from './errors.js';

/** Settings shared by the CLI, the worker and the api (each app adds its own). Read once, frozen. */
export interface CoreConfig {
  dumpDirectory: string;
  backupDirectory: string;
  backupKeepCount: number;
  backupKeepDays: number;
  allowProtectedTargets: boolean;
  /** how long an import waits for another import into the same target */
  targetLockWaitMs: number;
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

/** Reads the core settings; every problem is reported at once. */
export function loadCoreConfig(env: Readonly<Record<string, string | undefined>>): Readonly<CoreConfig> {
  const errors: string[] = [];
  const config: CoreConfig = {
    dumpDirectory: env.DUMP_DIRECTORY || './data/dumps',
    backupDirectory: env.BACKUP_DIRECTORY || './data/backups',
    backupKeepCount: numberSetting(env, 'BACKUP_KEEP_COUNT', 10, errors, 1),
    backupKeepDays: numberSetting(env, 'BACKUP_KEEP_DAYS', 14, errors, 0),
    allowProtectedTargets: booleanSetting(env, 'ALLOW_PROTECTED_TARGETS', errors),
    targetLockWaitMs: numberSetting(env, 'TARGET_LOCK_WAIT_SECONDS', 0, errors, 0) * 1000,
  };
  if (errors.length) throw new JobsError('JOBS_CONFIG_INVALID', `invalid configuration: ${errors.join('; ')}`, { errors });
  return Object.freeze(config);
}
