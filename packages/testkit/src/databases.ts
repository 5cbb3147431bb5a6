import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { HARNESS } from './harness-settings.js';

/** Admin connection used to create and drop throwaway databases. Tests only ever touch loopback. */
export const ADMIN_URL = HARNESS.adminUrl;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Connection URL for database `name` on the admin server (`adminUrl`, default {@link ADMIN_URL}). */
export function databaseUrl(name: string, adminUrl: string = ADMIN_URL): string {
  const url = new URL(adminUrl);
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

export interface CreateDatabaseOptions {
  /** the database's encoding (default UTF8; with C collation, any server encoding) */
  encoding?: string;
  /** `ALTER DATABASE … SET` applied before anyone connects */
  sessionSettings?: Record<string, string>;
  /** the server to create it on (a loopback admin URL); default {@link ADMIN_URL} */
  adminUrl?: string;
}

/** Creates a uniquely named database (mbsync_test_<prefix>_<random>) from template0. */
export async function createDatabase(prefix: string, options: CreateDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? ADMIN_URL;
  const name = `mbsync_test_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  // checked before anything is created: a non-loopback admin URL is refused here
  const url = databaseUrl(name, adminUrl);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING '${(options.encoding ?? 'UTF8').replace(/[^A-Za-z0-9_]/g, '')}' LC_COLLATE 'C' LC_CTYPE 'C'`);
    for (const [key, value] of Object.entries(options.sessionSettings ?? {})) {
      await admin.unsafe(`ALTER DATABASE "${name}" SET ${key} = '${value.replace(/'/g, "''")}'`);
    }
  } finally {
    await admin.end();
  }
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await dropDatabase(name, adminUrl);
    },
  };
}

/** Drops a database by name (on `adminUrl`'s server, default {@link ADMIN_URL}), terminating its sessions first. */
export async function dropDatabase(name: string, adminUrl: string = ADMIN_URL): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`);
  } finally {
    await admin.end();
  }
}

/** The throwaway databases of one suite: `fresh` makes one, `dropAll` (in `after`) drops every one made. */
export interface ScratchDatabases {
  fresh(prefix: string, options?: CreateDatabaseOptions): Promise<TestDatabase>;
  /** a database made elsewhere (a fixture), dropped with the rest */
  track(db: TestDatabase): TestDatabase;
  dropAll(): Promise<void>;
}

export function scratchDatabases(): ScratchDatabases {
  const made: TestDatabase[] = [];
  return {
    async fresh(prefix, options) {
      const db = await createDatabase(prefix, options);
      made.push(db);
      return db;
    },
    track(db) {
      made.push(db);
      return db;
    },
    async dropAll() {
      for (const db of made.splice(0)) await db.drop();
    },
  };
}
