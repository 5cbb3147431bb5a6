import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ADMIN_URL, createDatabase, type TestDatabase } from './databases.js';
import { PLAIN_ADMIN_URL } from './plain-cluster.js';

/** The platform roles test/fixtures/supabase/roles.sql creates (cluster-wide, never dropped). */
export const SUPABASE_ROLES: readonly string[] = [
  'anon', 'authenticated', 'service_role', 'authenticator', 'supabase_admin', 'supabase_auth_admin',
  'supabase_storage_admin', 'supabase_realtime_admin', 'supabase_replication_admin', 'supabase_read_only_user',
  'dashboard_user', 'pgbouncer',
];

/** The schemas the platform owns in the fixture (platform.sql); the user's are `public` and `private`. */
export const SUPABASE_PLATFORM_SCHEMAS: readonly string[] = ['auth', 'extensions', 'graphql_public', 'pgbouncer', 'realtime', 'storage'];

/** GoTrue's migration the source has and a local stack from {@link createLocalSupabaseTarget} lacks. */
export const SUPABASE_LATEST_AUTH_MIGRATION = '20240214120130';

/**
 * Bytes a database from {@link createSupabaseDatabase} grows per unit of `scale` (table data, TOAST and indexes),
 * measured on PostgreSQL 15: scale 1 is a 13 MB database (the catalogs, a 2 MB text and a 1 MB bytea included),
 * scale 20 39 MB, scale 100 136 MB (16 s to load here). A ~1 GB bench source is scale ≈ 800.
 */
export const SUPABASE_BYTES_PER_SCALE = 1.25 * 1024 ** 2;

/** Directory of the fixture's SQL files (test/fixtures/supabase), found from this file whether built or not. */
export function supabaseFixtureDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'fixtures', 'supabase');
    if (existsSync(join(candidate, 'roles.sql'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('test/fixtures/supabase not found above packages/testkit');
}

export interface SupabaseDatabaseOptions {
  /**
   * Run roles.sql first (default true): creates the roles that are missing, leaves existing ones alone. With
   * false the roles must already exist on the server; the load fails naming the missing ones.
   */
  withRoles?: boolean;
  /** Multiplies every generated row count (a positive integer, default 1); see {@link SUPABASE_BYTES_PER_SCALE}. */
  scale?: number;
  /** The server (a loopback admin URL; default the main test cluster, ADMIN_URL). Never the plain cluster. */
  adminUrl?: string;
}

/**
 * A fresh database shaped like a hosted Supabase project: the platform's roles (cluster-wide), the extensions
 * schema, auth/storage/realtime/graphql_public/pgbouncer owned by their service roles, grants and default
 * privileges for the API roles, the supabase_realtime publication, event triggers, and the Multiboard user schema
 * (RLS, FKs into auth.users and storage.objects) with deterministic rows. Loaded as the superuser of the admin URL.
 */
export async function createSupabaseDatabase(prefix: string, options: SupabaseDatabaseOptions = {}): Promise<TestDatabase> {
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer, not ${scale}`);
  return buildDatabase(prefix, options, ['platform.sql', 'auth-migration-20240214120130.sql', 'schema.sql', 'data.sql'], scale);
}

export interface LocalSupabaseTargetOptions {
  /** 'behind' (default): auth lacks the source's latest migration; 'current': auth is at the source's level */
  auth?: 'behind' | 'current';
  /** Same as {@link SupabaseDatabaseOptions.withRoles}. */
  withRoles?: boolean;
  /** The server (loopback admin URL); default ADMIN_URL. Never the plain cluster. */
  adminUrl?: string;
}

/**
 * A database as a fresh local Supabase stack (`supabase start`) has it before the user's migrations: the roles and
 * the platform schemas with their structure and bookkeeping rows (auth/storage/realtime migration lists), an empty
 * public schema with the platform's default privileges, no users, no buckets. By default `auth` is one migration
 * behind {@link createSupabaseDatabase}'s: auth.users lacks `is_anonymous` (and its index), and
 * auth.schema_migrations lacks {@link SUPABASE_LATEST_AUTH_MIGRATION}.
 */
export async function createLocalSupabaseTarget(prefix: string, options: LocalSupabaseTargetOptions = {}): Promise<TestDatabase> {
  const files = options.auth === 'current' ? ['platform.sql', 'auth-migration-20240214120130.sql'] : ['platform.sql'];
  return buildDatabase(prefix, options, files, 1);
}

/** Creates the platform roles that are missing on the server of `adminUrl` (roles.sql; idempotent, concurrency-safe). */
export async function ensureSupabaseRoles(adminUrl: string = ADMIN_URL): Promise<void> {
  refusePlainCluster(adminUrl);
  await runFiles(adminUrl, ['roles.sql'], null);
}

/** Of {@link SUPABASE_ROLES}, those that exist on the server of `adminUrl`. */
export async function existingSupabaseRoles(adminUrl: string = ADMIN_URL): Promise<string[]> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ rolname: string }[]>`SELECT rolname FROM pg_roles WHERE rolname = ANY(${SUPABASE_ROLES as string[]}) ORDER BY rolname`;
    return rows.map((r) => r.rolname);
  } finally {
    await sql.end();
  }
}

async function buildDatabase(prefix: string, options: { withRoles?: boolean; adminUrl?: string }, files: string[], scale: number): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? ADMIN_URL;
  refusePlainCluster(adminUrl);
  if (options.withRoles === false) {
    const existing = new Set(await existingSupabaseRoles(adminUrl));
    const missing = SUPABASE_ROLES.filter((r) => !existing.has(r));
    if (missing.length > 0) throw new Error(`the Supabase fixture needs roles this server lacks: ${missing.join(', ')} (load with withRoles)`);
  } else {
    await ensureSupabaseRoles(adminUrl);
  }
  const db = await createDatabase(prefix, { adminUrl });
  try {
    await runFiles(db.url, files, scale);
  } catch (error) {
    await db.drop().catch(() => {});
    throw error;
  }
  return db;
}

/** Runs fixture files in order on one session (their SET ROLE sections need it), each as one implicit transaction. */
async function runFiles(url: string, files: string[], scale: number | null): Promise<void> {
  const dir = supabaseFixtureDirectory();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    if (scale !== null) await sql`SELECT set_config('mbsync.fixture_scale', ${String(scale)}, false)`;
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      try {
        await sql.unsafe(text);
      } catch (error) {
        throw new Error(`loading test/fixtures/supabase/${file}: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await sql.end();
  }
}

function refusePlainCluster(adminUrl: string): void {
  const a = new URL(adminUrl);
  const plain = new URL(PLAIN_ADMIN_URL);
  if (a.hostname === plain.hostname && (a.port || '5432') === (plain.port || '5432')) {
    throw new Error(`the Supabase fixture creates the platform roles, which the plain cluster (${plain.host}) must never hold`);
  }
}
