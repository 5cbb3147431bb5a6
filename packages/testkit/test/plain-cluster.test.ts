import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import {
  ADMIN_URL,
  PLAIN_ADMIN_URL,
  SUPABASE_ROLES,
  clusterRoles,
  createPlainDatabase,
  createSupabaseDatabase,
  ensureSupabaseRoles,
  existingSupabaseRoles,
} from '../src/index.js';

async function scalar<T>(url: string, query: string): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(query);
    return Object.values(row ?? {})[0] as T;
  } finally {
    await sql.end();
  }
}

test('plain cluster: a second server of the same major version as the main one, on its own port', async () => {
  const mainPort = await scalar<string>(ADMIN_URL, 'SHOW port');
  const plainPort = await scalar<string>(PLAIN_ADMIN_URL, 'SHOW port');
  assert.notEqual(plainPort, mainPort, 'PG_PLAIN_TEST_URL must reach a different cluster than PG_TEST_URL');
  const mainMajor = await scalar<string>(ADMIN_URL, "SELECT current_setting('server_version_num')::int / 10000");
  const plainMajor = await scalar<string>(PLAIN_ADMIN_URL, "SELECT current_setting('server_version_num')::int / 10000");
  assert.equal(String(plainMajor), String(mainMajor));
  assert.equal(await scalar<string>(PLAIN_ADMIN_URL, 'SHOW listen_addresses'), '127.0.0.1');
});

test('plain cluster: createPlainDatabase makes a usable database there, drop() removes it', async () => {
  const db = await createPlainDatabase('plain_helper');
  try {
    assert.match(db.name, /^mbsync_test_plain_helper_[0-9a-f]{8}$/);
    assert.equal(new URL(db.url).port, new URL(PLAIN_ADMIN_URL).port);
    await db.sql`CREATE TABLE t (id int PRIMARY KEY, v text)`;
    await db.sql`INSERT INTO t VALUES (1, 'ü')`;
    const rows = await db.sql<{ id: number; v: string }[]>`SELECT id, v FROM t`;
    assert.deepEqual(rows.map((r) => ({ ...r })), [{ id: 1, v: 'ü' }]);
    const [setting] = await db.sql<{ port: string }[]>`SELECT current_setting('port') AS port`;
    assert.equal(setting?.port, new URL(PLAIN_ADMIN_URL).port || '5432');
  } finally {
    await db.drop();
  }
  assert.equal(await scalar<number>(PLAIN_ADMIN_URL, `SELECT count(*)::int FROM pg_database WHERE datname = '${db.name}'`), 0);
});

test('plain cluster: holds none of the Supabase roles, even once the main cluster has them all', async () => {
  await ensureSupabaseRoles(ADMIN_URL);
  assert.deepEqual(await existingSupabaseRoles(ADMIN_URL), [...SUPABASE_ROLES].sort());
  assert.deepEqual(await existingSupabaseRoles(PLAIN_ADMIN_URL), []);
  const others = await clusterRoles(PLAIN_ADMIN_URL);
  assert.deepEqual(others.filter((r) => SUPABASE_ROLES.includes(r)), []);
});

test('plain cluster: the Supabase fixture refuses to load there (it would create the roles)', async () => {
  await assert.rejects(createSupabaseDatabase('plain_refused', { adminUrl: PLAIN_ADMIN_URL }), /plain cluster .* must never hold/);
  assert.deepEqual(await existingSupabaseRoles(PLAIN_ADMIN_URL), []);
});
