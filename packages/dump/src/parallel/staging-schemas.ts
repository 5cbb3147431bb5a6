import postgres from 'postgres';
import { quoteIdent } from '../ddl/quote.js';

/** Every staging schema starts with this; one left by a killed process is dropped by the next import. */
export const STAGE_SCHEMA_PREFIX = 'mbsync_stage_';

type Session = postgres.Sql | postgres.TransactionSql;

/** Drops every staging schema in the target (callers hold the target's import lock, so none is in use). */
export async function dropStaleStagingSchemas(session: Session): Promise<string[]> {
  const rows = await session.unsafe<{ name: string }[]>(
    `SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname LIKE 'mbsync\\_stage\\_%' ORDER BY 1`,
  );
  for (const r of rows) await session.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(r.name)} CASCADE`);
  return rows.map((r) => r.name);
}

/**
 * Best-effort removal of this import's staging schemas after a failure, over a connection of its own with
 * short lock and statement timeouts so a stuck target cannot hold the caller; what it cannot drop, the next
 * import into the target drops.
 */
export async function dropStagingSchemas(open: PoolOpener, names: string[], logger?: { warn(details: Record<string, unknown>, message: string): void }): Promise<void> {
  if (names.length === 0) return;
  const sql = open('mbsync staging cleanup');
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '10000', true), pg_catalog.set_config('statement_timeout', '60000', true)`);
      for (const name of names) await tx.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    });
  } catch (error) {
    // left for the next import into this target
    logger?.warn({ schemas: names, err: error }, 'could not drop the staging schemas now: the next import into this target drops them');
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Opens another one-connection pool on the same database as a pool dump was given, named `applicationName`, never
 * idle-closed (a lane keeps its session settings between tasks). A runner supplies one that opens through its own
 * connection module (so its watchdog tracks the lanes); without one, dump opens pools like the given one (openLike).
 */
export type PoolOpener = (applicationName: string) => postgres.Sql;

/** The runner's opener, else pools like `sql`. */
export function poolOpener(sql: postgres.Sql, given: PoolOpener | undefined): PoolOpener {
  return given ?? ((applicationName) => openLike(sql, applicationName));
}

/**
 * A new one-connection pool with the same options as `sql` (server, credentials, TLS, socket factory), never
 * idle-closed, named `applicationName`: the default PoolOpener, for callers that bring no opener of their own.
 */
export function openLike(sql: postgres.Sql, applicationName: string): postgres.Sql {
  const options = sql.options as unknown as postgres.Options<Record<string, never>> & { connection?: Record<string, unknown> };
  return postgres({
    ...(options as postgres.Options<Record<string, never>>),
    // postgres() takes parsed options (they carry `shared`) as they are; the new pool gets counters of its own
    shared: { retries: 0, typeArrayMap: {} },
    max: 1,
    // a lane waits between tasks; closing it idle would lose its session settings
    idle_timeout: 0,
    connection: { ...(options.connection ?? {}), application_name: applicationName.slice(0, 63) },
  } as postgres.Options<Record<string, never>>);
}
