import postgres from 'postgres';
import { createDatabase, dropDatabase, type CreateDatabaseOptions, type TestDatabase } from './databases.js';
import { HARNESS } from './harness-settings.js';

/**
 * Admin connection to the second local cluster (`mbsync_plain`, made by scripts/setup.sh), a PostgreSQL that never
 * holds the platform roles. Roles are cluster-wide, so "a plain PostgreSQL without anon/authenticated/…" can only
 * be a different server from the main one, where fixtures create those roles.
 */
export const PLAIN_ADMIN_URL = HARNESS.plainAdminUrl;

/** A throwaway database (mbsync_test_<prefix>_<random>) on the plain cluster; drop() removes it. */
export function createPlainDatabase(prefix: string, options: Omit<CreateDatabaseOptions, 'adminUrl'> = {}): Promise<TestDatabase> {
  return createDatabase(prefix, { ...options, adminUrl: PLAIN_ADMIN_URL });
}

/** Drops a database of the plain cluster by name, terminating its sessions first. */
export function dropPlainDatabase(name: string): Promise<void> {
  return dropDatabase(name, PLAIN_ADMIN_URL);
}

/**
 * The roles of a cluster other than PostgreSQL's own (`pg_*`) and its bootstrap superuser: on the plain cluster this
 * must stay empty. A test that creates roles there (say `--create-roles`) makes every other test's "plain" target a
 * lie, so such tests need a server of their own (startPostgresInstance) instead.
 */
export async function clusterRoles(adminUrl: string = PLAIN_ADMIN_URL): Promise<string[]> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ rolname: string }[]>`
      SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND oid <> 10 ORDER BY rolname`;
    return rows.map((r) => r.rolname);
  } finally {
    await admin.end();
  }
}
