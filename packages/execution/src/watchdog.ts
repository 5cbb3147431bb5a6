import type postgres from 'postgres';
import { DatabaseScope, openDatabase, type ScopedPool } from './database.js';
import { type Environment, JobsError } from '@mbsync/jobs';

/** STALL_TIMEOUT_SECONDS when unset: long enough for a slow link, short enough not to hang an operator for long. */

export interface StallWatchOptions {
  /** no progress for this long starts a check; 0 turns the watchdog off */
  timeoutMs: number;
  /** the caller's own signal (cancel, shutdown): passed on to the run */
  signal?: AbortSignal;
  /** goes into the sessions' application_name, e.g. `job 42` */
  label?: string;
  /** how long one probe of a database may take (default: half the timeout, between 1 and 10 s) */
  probeTimeoutMs?: number;
  /** after a stall, how long the run may roll back by itself before its connections are destroyed (default 1 s) */
  graceMs?: number;
}

/**
 * What the run gets: the signal to honour, the scope to open its databases in (`openDatabase(env, { scope })`:
 * connections opened outside it are not watched) and a way to report progress (any call counts as activity).
 */
export interface WatchedRun {
  signal: AbortSignal;
  scope: DatabaseScope;
  progress(phase?: string): void;
}

interface SessionRow {
  pid: number;
  application_name: string;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
}

interface ProbeResult {
  pool: ScopedPool;
  /** null when the probe could not reach the database */
  sessions: SessionRow[] | null;
  error?: string;
}

/**
 * Runs `run` under an inactivity watchdog. Activity is any byte moved on the run's database connections
 * (tracked through {@link DatabaseScope}) or any progress reported. When there has been none for `timeoutMs`,
 * each database the run has connections to is probed over a fresh connection (short connect and statement
 * timeouts): if one of the run's sessions is active on the server and not waiting for us (a long CREATE INDEX,
 * a lock wait, a count), the server is busy and the watch goes on; if a probe fails, or every session of the run
 * is idle or waiting on the client (ClientRead/ClientWrite: the bytes are not getting through), the run is
 * stalled: its signal is aborted with a JOBS_STALLED error, after `graceMs` its sockets are destroyed (so no
 * await on the dead connection can hang), the sessions it left on reachable servers are terminated, and the
 * JOBS_STALLED error is thrown within about timeout + probe + grace.
 */
export async function watchForStalls<T>(options: StallWatchOptions, run: (watch: WatchedRun) => Promise<T>): Promise<T> {
  const scope = new DatabaseScope(options.label);
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  const timeoutMs = options.timeoutMs;
  const probeTimeoutMs = options.probeTimeoutMs ?? Math.min(10_000, Math.max(1_000, timeoutMs / 2));
  const graceMs = options.graceMs ?? 1_000;
  let lastActivity = Date.now();
  let lastBytes = 0;
  let phase: string | undefined;
  let stall: JobsError | null = null;
  let checking = false;
  let settled = false;
  let ending: Promise<unknown> = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];
  let giveUp: () => void = () => {};
  const abandoned = new Promise<{ abandoned: true }>((resolve) => (giveUp = () => resolve({ abandoned: true })));

  const progress = (p?: string) => {
    lastActivity = Date.now();
    if (p) phase = p;
  };

  const check = async () => {
    if (checking || stall || settled) return;
    const bytes = scope.bytes();
    if (bytes !== lastBytes) {
      lastBytes = bytes;
      lastActivity = Date.now();
      return;
    }
    if (Date.now() - lastActivity < timeoutMs) return;
    checking = true;
    const probeStarted = Date.now();
    try {
      const pools = openPools(scope);
      // nothing of ours is on the network (local work, or a wait with its own deadline): not a network stall
      if (pools.length === 0) return void (lastActivity = Date.now());
      const results = await Promise.all(pools.map((pool) => probe(pool, scope.tag, probeTimeoutMs)));
      if (settled || stall || lastActivity >= probeStarted || scope.bytes() !== lastBytes) return;
      if (results.some((r) => r.sessions?.some(working))) return void (lastActivity = Date.now());
      const seconds = Math.round((Date.now() - lastActivity) / 1000);
      stall = new JobsError(
        'JOBS_STALLED',
        `no progress for ${seconds} s${phase ? ` (${phase})` : ''}: ${describeStall(results)}`,
        { details: { phase: phase ?? null, timeoutSeconds: timeoutMs / 1000, databases: results.map((r) => ({ environment: r.pool.environment.name, reachable: r.sessions !== null })) } });
      controller.abort(stall);
      const unreachableUrls = new Set(results.filter((r) => r.sessions === null).map((r) => r.pool.environment.databaseUrl));
      timers.push(
        setTimeout(() => {
          scope.destroy([...scope.pools].filter((p) => unreachableUrls.has(p.environment.databaseUrl)));
          // the server does not see sockets closed behind a dead path: end the stalled sessions (their locks would
          // block the run's own cleanup); sessions opened since (that cleanup) are left alone
          ending = Promise.all(results.map((r) => (r.sessions?.length ? terminate(r.pool.environment, scope.tag, probeTimeoutMs, r.sessions.map((s) => s.pid)) : null)));
        }, graceMs),
      );
      timers.push(setTimeout(giveUp, graceMs + 5_000));
    } finally {
      checking = false;
    }
  };

  const interval = timeoutMs > 0 ? setInterval(() => void check().catch(() => {}), Math.min(1_000, Math.max(100, timeoutMs / 4))) : null;
  try {
    const running = run({ signal: controller.signal, scope, progress });
    const outcome = await Promise.race([running.then((value) => ({ value }), (error: unknown) => ({ error })), abandoned]);
    settled = true;
    if (!stall) {
      if ('error' in outcome) throw outcome.error;
      if ('value' in outcome) return outcome.value;
    }
    if ('value' in outcome) return outcome.value; // finished before the abort could stop it: the work is done
    running.catch(() => {});
    scope.destroy([]);
    await ending;
    const urls = new Map([...scope.pools].map((p) => [p.environment.databaseUrl, p.environment]));
    await Promise.all([...urls.values()].map((environment) => terminate(environment, scope.tag, probeTimeoutMs)));
    throw stall!;
  } finally {
    settled = true;
    if (interval) clearInterval(interval);
    for (const t of timers) clearTimeout(t);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** One pool per database (URL) among those with a connection: the ones a stall can be on. */
function openPools(scope: DatabaseScope): ScopedPool[] {
  if (scope.openSockets === 0) return [];
  const byUrl = new Map<string, ScopedPool>();
  for (const pool of scope.pools) if (!byUrl.has(pool.environment.databaseUrl)) byUrl.set(pool.environment.databaseUrl, pool);
  return [...byUrl.values()];
}

/** A session the server is working on for us: running, and not waiting for the client to send or read. */
function working(row: SessionRow): boolean {
  return row.state === 'active' && row.wait_event_type !== 'Client';
}

/** Unreachable databases are the cause when there are any; else every database's sessions, all waiting on us. */
function describeStall(results: ProbeResult[]): string {
  const where = (r: ProbeResult) => `${r.pool.role} "${r.pool.environment.name}"`;
  const unreachable = results.filter((r) => r.sessions === null);
  if (unreachable.length > 0) return unreachable.map((r) => `cannot reach ${where(r)} (${r.error})`).join('; ');
  return `the connections stalled, no session is working on the server: ${results
    .map((r) => {
      if (r.sessions!.length === 0) return `${where(r)}: none left (connection lost)`;
      const states = r.sessions!.map((s) => `${s.state ?? 'unknown'}${s.wait_event ? ` (${s.wait_event})` : ''}`);
      return `${where(r)}: ${[...new Set(states)].join(', ')}`;
    })
    .join('; ')}`;
}

/** A short-lived connection to `environment` whose sockets can be destroyed if the server does not answer. */
async function withProbe<T>(environment: Environment, timeoutMs: number, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sockets = new DatabaseScope();
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const sql = openDatabase(environment, {
    role: 'database', applicationName: 'mbsync watchdog', sockets, connectTimeoutSeconds: seconds, idleTimeoutSeconds: 1, statementTimeoutMs: timeoutMs, fetchTypes: false,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(sql),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
    sockets.destroy();
    void sql.end({ timeout: 0 }).catch(() => {});
  }
}

async function probe(pool: ScopedPool, tag: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const sessions = await withProbe(pool.environment, timeoutMs, (sql) => sql<SessionRow[]>`
      SELECT pid, application_name, state, wait_event_type, wait_event FROM pg_catalog.pg_stat_activity
      WHERE right(application_name, ${tag.length + 3}) = ${` [${tag}]`} AND pid <> pg_catalog.pg_backend_pid()`);
    return { pool, sessions: [...sessions] };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { pool, sessions: null, error: e.code && /^[A-Z_]+$/.test(e.code) ? e.code : (e.message ?? String(error)).split('\n')[0]! };
  }
}

/** Best effort, bounded: ends the run's sessions (those of `pids` only, when given) on a server we can reach. */
async function terminate(environment: Environment, tag: string, timeoutMs: number, pids?: number[]): Promise<void> {
  if (pids?.length === 0) return;
  // pids are integers read from pg_stat_activity; the probe connection fetches no types to bind arrays with
  const only = pids ? `AND pid IN (${pids.map((p) => Math.trunc(Number(p))).join(', ')})` : '';
  await withProbe(environment, timeoutMs, (sql) => sql.unsafe(
    `SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
     WHERE right(application_name, $1) = $2 AND pid <> pg_catalog.pg_backend_pid() ${only}`,
    [tag.length + 3, ` [${tag}]`],
  )).catch(() => {});
}
