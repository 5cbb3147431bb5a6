import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Admin connection used to create and drop throwaway databases. Tests only ever touch loopback. */
export const ADMIN_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Connection URL for database `name` on the admin server. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  if (!LOOPBACK.has(url.hostname)) throw new Error(`tests write only to loopback, not ${url.hostname}`);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A small pool on the database, closed by drop(). */
  sql: postgres.Sql;
  /** Terminates leftover sessions and drops the database. */
  drop(): Promise<void>;
}

/** Creates a uniquely named database (mbsync_test_<prefix>_<random>) from template0. */
export async function createDatabase(prefix: string, options: { sessionSettings?: Record<string, string> } = {}): Promise<TestDatabase> {
  const name = `mbsync_test_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    for (const [key, value] of Object.entries(options.sessionSettings ?? {})) {
      await admin.unsafe(`ALTER DATABASE "${name}" SET ${key} = '${value.replace(/'/g, "''")}'`);
    }
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await dropDatabase(name);
    },
  };
}

/** Drops a database by name, terminating its sessions first. */
export async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`);
  } finally {
    await admin.end();
  }
}
