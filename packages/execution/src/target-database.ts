import { describePgError } from '@mbsync/dump';
import { openDatabase, type DatabaseScope } from './database.js';
import type { Environment } from '@mbsync/jobs';

/** What {@link ensureTargetDatabase} found or did. */
export interface TargetDatabase {
  /** the database name the target's URL connects to */
  database: string;
  /** it did not exist and was created (loopback targets only) */
  created: boolean;
}

/** PostgreSQL's invalid_catalog_name: the database named in the connection does not exist. */
const DATABASE_MISSING = '3D000';
/** duplicate_database: someone created it meanwhile (a concurrent job), which is just as good */
const DATABASE_EXISTS = '42P04';

/**
 * Makes sure the target's database exists before anything connects to it for good. A loopback target whose
 * database is missing (a fresh machine: `.env` from `.env.example`, then the first sync) gets it created the way
 * `createdb` does it: `CREATE DATABASE` over the server's `postgres` maintenance database (or `template1`), with
 * the URL's own credentials, owned by that user. Anywhere else a missing database stays an error (the driver's
 * own, which the runners report as DUMP_DATABASE_NOT_FOUND): creating databases on remote servers is not ours
 * to decide. Other connection errors are left to the caller's first real query.
 */
export async function ensureTargetDatabase(target: Environment, scope?: DatabaseScope): Promise<TargetDatabase> {
  const sql = openDatabase(target, { role: 'target', applicationName: 'mbsync target check', scope });
  const database = String(sql.options.database);
  try {
    await sql`SELECT 1`;
    return { database, created: false };
  } catch (error) {
    if ((error as { code?: unknown }).code !== DATABASE_MISSING || !target.loopback) return { database, created: false };
  } finally {
    await sql.end({ timeout: 1 });
  }
  for (const maintenance of ['postgres', 'template1']) {
    // the driver's defaults (user, password, host, port, TLS) come from the target's own URL
    const admin = openDatabase(target, { role: 'target', database: maintenance, applicationName: 'mbsync createdb' });
    try {
      await admin.unsafe(`CREATE DATABASE ${quoteIdentifier(database)}`);
      return { database, created: true };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === DATABASE_EXISTS) return { database, created: false };
      // no `postgres` database on this server: createdb falls back to template1 too
      if (code === DATABASE_MISSING && maintenance === 'postgres') continue;
      throw describePgError(error, 'target', target.name);
    } finally {
      await admin.end({ timeout: 1 });
    }
  }
  return { database, created: false };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
