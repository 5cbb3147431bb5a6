import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskSpace, openDatabase } from '@mbsync/execution';
import { describeUrlSafely, type Environment } from '@mbsync/jobs';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { CliSettings } from './settings.js';

/** ok: fine · warn: works, but not as recommended · fail: the service would not work (doctor exits 1). */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the doctor's table. Details never hold a credential. */
export interface CheckResult {
  /** what was checked, e.g. "redis", "environment local" */
  check: string;
  status: CheckStatus;
  /** one line for a person */
  detail: string;
  /** the figures behind the line, for --json */
  data?: Record<string, unknown>;
}

export interface DoctorOptions {
  /** how long one connection attempt (PostgreSQL, Redis, Typesense) may take */
  timeoutMs: number;
}


/** Removes `user:password@` from URLs and `password=…` from a driver's message. */
function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1').replace(/(password\s*=\s*)\S+/gi, '$1***').split('\n')[0] ?? '';
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024).toLocaleString('en-US')} MB`;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * The settings every process reads, as main.ts read them once: core config, environments (their URLs parse,
 * never echoed), the Typesense specs file, Redis URL, queue prefix, API keys, log level.
 */
export function checkConfig(settings: CliSettings): CheckResult {
  const { core, startup, services } = settings.problems;
  const noEnvironment = startup.length === 0 && settings.environments.size === 0 ? ['no environment: set <NAME>_DATABASE_URL'] : [];
  const problems = [...core, ...startup, ...noEnvironment, ...services];
  const warnings = settings.warnings;
  const status: CheckStatus = problems.length ? 'fail' : warnings.length ? 'warn' : 'ok';
  const detail = [...problems, ...warnings].join('; ') || `${settings.environments.size} environment(s), settings valid`;
  return { check: 'config', status, detail, data: { problems, warnings } };
}

/**
 * Redis: reachable, its version, and `maxmemory-policy noeviction` (any other policy may evict queue keys
 * and lose jobs). A managed Redis that refuses CONFIG GET gets a warning, not a failure. AOF off is a warning.
 */
export async function checkRedis(redisUrl: string, options: DoctorOptions): Promise<CheckResult> {
  const url = redisUrl;
  const shown = url.replace(/\/\/[^@/]*@/, '//');
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: options.timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectionName: 'mbsync-doctor' });
  redis.on('error', () => {});
  try {
    await withTimeout(redis.connect(), options.timeoutMs, 'redis');
    const info = await withTimeout(redis.info('server'), options.timeoutMs, 'redis');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const config = async (name: string): Promise<string | null> => {
      try {
        const reply = (await withTimeout(redis.config('GET', name), options.timeoutMs, 'redis')) as string[];
        return reply[1] ?? null;
      } catch {
        return null; // CONFIG disabled or renamed (managed Redis)
      }
    };
    const policy = await config('maxmemory-policy');
    const aof = await config('appendonly');
    const data = { url: shown, version, maxmemoryPolicy: policy, appendonly: aof };
    if (policy === null) return { check: 'redis', status: 'warn', detail: `${shown}: Redis ${version}; CONFIG GET refused: make sure maxmemory-policy is noeviction`, data };
    if (policy !== 'noeviction') return { check: 'redis', status: 'fail', detail: `${shown}: Redis ${version}; maxmemory-policy is ${policy}, must be noeviction (evicted keys lose jobs)`, data };
    if (aof !== 'yes') return { check: 'redis', status: 'warn', detail: `${shown}: Redis ${version}, noeviction; appendonly is ${aof ?? 'unknown'}: queued jobs are lost if Redis restarts`, data };
    return { check: 'redis', status: 'ok', detail: `${shown}: Redis ${version}, noeviction, appendonly yes`, data };
  } catch (error) {
    return { check: 'redis', status: 'fail', detail: `${shown}: not reachable (${safeMessage(error)})`, data: { url: shown } };
  } finally {
    redis.disconnect();
  }
}

/** A database: reachable, its server version and size, and whether it is protected. */
export async function checkEnvironment(environment: Environment, options: DoctorOptions): Promise<CheckResult> {
  const where = describeUrlSafely(environment.databaseUrl);
  const flags = [environment.protected ? 'PROTECTED' : null, environment.loopback ? 'loopback' : null].filter(Boolean).join(', ');
  const base = { name: environment.name, where, protected: environment.protected, loopback: environment.loopback };
  let sql: postgres.Sql | undefined;
  try {
    // openDatabase applies the URL's TLS settings and refuses a transaction-mode pooler, as every command does
    sql = openDatabase(environment, { role: 'database', applicationName: 'mbsync doctor', connectTimeoutSeconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)) });
    const [row] = await withTimeout(
      sql<{ version: string; bytes: string }[]>`SELECT current_setting('server_version') AS version, pg_catalog.pg_database_size(current_database())::text AS bytes`,
      options.timeoutMs,
      'database',
    );
    const bytes = Number(row?.bytes ?? 0);
    return {
      check: `environment ${environment.name}`,
      status: 'ok',
      detail: `${where}${flags ? ` [${flags}]` : ''}: PostgreSQL ${row?.version ?? '?'}, ${mb(bytes)}`,
      data: { ...base, serverVersion: row?.version, databaseBytes: bytes },
    };
  } catch (error) {
    return { check: `environment ${environment.name}`, status: 'fail', detail: `${where}${flags ? ` [${flags}]` : ''}: not reachable (${safeMessage(error)})`, data: base };
  } finally {
    await sql?.end({ timeout: 0 }).catch(() => {});
  }
}

/** An environment's Typesense: GET /health answers ok, and the API key is accepted (GET /aliases). */
export async function checkTypesense(environment: Environment, options: DoctorOptions): Promise<CheckResult | null> {
  const ts = environment.typesense;
  if (!ts) return null;
  const base = ts.url.replace(/\/+$/, '');
  const check = `typesense ${environment.name}`;
  const get = (path: string, key?: string) => fetch(`${base}${path}`, { headers: key ? { 'x-typesense-api-key': key } : {}, signal: AbortSignal.timeout(options.timeoutMs) });
  try {
    const health = await get('/health');
    const body = (await health.json().catch(() => null)) as { ok?: boolean } | null;
    if (!health.ok || body?.ok !== true) return { check, status: 'fail', detail: `${base}: /health answered ${health.status}`, data: { url: base, status: health.status } };
    const auth = await get('/aliases', ts.apiKey);
    if (auth.status === 401 || auth.status === 403) return { check, status: 'fail', detail: `${base}: healthy, but the API key was refused (${auth.status})`, data: { url: base } };
    return { check, status: 'ok', detail: `${base}: healthy, API key accepted`, data: { url: base } };
  } catch (error) {
    return { check, status: 'fail', detail: `${base}: not reachable (${safeMessage(error)})`, data: { url: base } };
  }
}

/**
 * A directory the service writes into: a probe file written and removed, free space read. A directory that does
 * not exist yet passes when its nearest existing parent is writable (the service creates it); nothing is created.
 */
export async function checkDirectory(label: string, directory: string, reserveBytes: number): Promise<CheckResult> {
  const check = `${label} directory`;
  let note = '';
  try {
    const existing = await stat(directory).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (existing && !existing.isDirectory()) return { check, status: 'fail', detail: `${directory}: not a directory`, data: { directory } };
    if (existing) {
      const probe = join(directory, `.mbsync-doctor-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, 'ok', { flag: 'wx' });
      await rm(probe, { force: true });
    } else {
      const parent = (await diskSpace(directory)).measured;
      if (!(await stat(parent)).isDirectory()) throw Object.assign(new Error('a parent is not a directory'), { code: 'ENOTDIR' });
      await access(parent, fsConstants.W_OK);
      note = ' (will be created)';
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { check, status: 'fail', detail: `${directory}: not writable (${code ?? safeMessage(error)})`, data: { directory } };
  }
  const space = await diskSpace(directory);
  const data = { directory, freeBytes: space.freeBytes, totalBytes: space.totalBytes, reserveBytes };
  const figures = `${mb(space.freeBytes)} free of ${mb(space.totalBytes)}`;
  if (space.freeBytes < reserveBytes) return { check, status: 'warn', detail: `${directory}: writable${note}, ${figures}: less than DISK_RESERVE_MB, every dump will be refused`, data };
  return { check, status: 'ok', detail: `${directory}: writable${note}, ${figures}`, data };
}

/** Every check, in table order; environments and Typesense servers are checked in parallel. */
export async function runDoctor(settings: CliSettings, options: DoctorOptions): Promise<CheckResult[]> {
  const config = checkConfig(settings);
  const environments = [...settings.environments.values()].sort((a, b) => a.name.localeCompare(b.name));
  const [redis, databases, searches] = await Promise.all([
    checkRedis(settings.redisUrl, options),
    Promise.all(environments.map((e) => checkEnvironment(e, options))),
    Promise.all(environments.map((e) => checkTypesense(e, options))),
  ]);
  // the directories come from the core settings: not checked when those are invalid
  const core = settings.core;
  const directories = core
    ? [await checkDirectory('dump', core.dumpDirectory, core.diskReserveBytes), await checkDirectory('backup', core.backupDirectory, core.diskReserveBytes)]
    : [];
  return [config, redis, ...databases, ...searches.filter((s): s is CheckResult => s !== null), ...directories];
}
