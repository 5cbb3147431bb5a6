import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkTarget, introspect } from '@mbsync/schema-diff';
import { runSync, type SyncJobInput } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import {
  createDatabase, createLocalSupabaseTarget, createPlainDatabase, createSupabaseDatabase, pgDumpSchemaFull, snapshotDatabase, startPostgresInstance,
  type TestDatabase,
} from '@mbsync/testkit';

/**
 * Issue 17's acceptance: a Supabase-shaped source (test/fixtures/supabase: the platform's roles, extensions schema,
 * auth, storage, RLS, grants, default privileges, publication, event triggers, FKs into auth) copied
 *  (a) into the second cluster, without the platform's roles: refused before any write naming the roles; with
 *      createRoles (on a throwaway cluster, so the second one stays without them) identical;
 *  (b) into a fresh database of a cluster with the roles: identical, owners and privileges included;
 *  (c) into a local Supabase stack: the user's schemas identical, auth and storage rows identical, the platform's
 *      structure untouched; with auth one migration behind, refused before any write naming what does not fit.
 * Identical means pg_dump (with owners and privileges) and every value.
 */
const USER_SCHEMAS = ['public', 'private'];
const PLATFORM_DATA = ['auth', 'storage'];

const dumpOf = (db: { url: string }, schemas?: string[]) => pgDumpSchemaFull(db.url, (schemas ?? []).flatMap((s) => ['-n', s]));

describe('copying a Supabase-shaped database', { timeout: 900_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  const dbs: TestDatabase[] = [];
  const keep = <T extends TestDatabase>(db: T) => {
    dbs.push(db);
    return db;
  };
  const sync = (target: { url: string }, options: Partial<SyncJobInput> = {}) => runSync({
    source: describeEnvironment('staging_copy', source.url), target: describeEnvironment('local', target.url), config, ...options,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-supabase-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = keep(await createSupabaseDatabase('supa_src'));
  });
  after(async () => {
    for (const db of dbs) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const jobs of [2, 1]) {
    test(`(b) jobs ${jobs}: into a fresh database of a cluster with the roles, the default sync is identical`, async () => {
      const target = keep(await createDatabase(`supa_b_${jobs}`));
      const result = await sync(target, { jobs });
      assert.equal(dumpOf(target), dumpOf(source), 'pg_dump with owners and privileges');
      assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
      assert.ok(result.import.rows > 5000);
      // the pieces the issue names, looked at directly
      const [pub] = await target.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM pg_publication_tables WHERE pubname = 'supabase_realtime'`;
      const [srcPub] = await source.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM pg_publication_tables WHERE pubname = 'supabase_realtime'`;
      assert.equal(pub.n, srcPub.n);
      const triggers = await target.sql`SELECT evtname FROM pg_event_trigger ORDER BY 1`;
      assert.deepEqual(triggers.map((t) => t.evtname), ['issue_pg_graphql_access', 'pgrst_ddl_watch', 'pgrst_drop_watch']);
    });
  }

  test('(b) the same target synced again: incremental, only the rows changed in public, auth and storage move; identical', async () => {
    const target = keep(await createDatabase('supa_resync'));
    assert.equal((await sync(target, { jobs: 2 })).incremental.mode, 'full');
    await source.sql.unsafe(`
      UPDATE public.components SET price = coalesce(price, 0) + 1, tags = array_append(tags, 'resync') WHERE number % 7 = 0;
      DELETE FROM public.download_events WHERE id % 50 = 0;
      UPDATE auth.users SET raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || '{"resynced": true}' WHERE email LIKE '%1@%';
      UPDATE storage.objects SET metadata = coalesce(metadata, '{}') || '{"v": 2}' WHERE name LIKE '%1%';`);
    const inc = (await sync(target, { jobs: 2 })).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    const written = [...inc.tables.patched.map((p) => p.table), ...inc.tables.copied];
    for (const table of ['public.components', 'public.download_events', 'auth.users', 'storage.objects']) assert.ok(written.includes(table), `${table}: ${JSON.stringify(inc.tables)}`);
    assert.ok(inc.tables.skipped.includes('public.categories'), JSON.stringify(inc.tables.skipped));
    assert.equal(dumpOf(target), dumpOf(source), 'pg_dump with owners and privileges');
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });

  test('(a) into the second cluster, without the roles: refused before any write, naming the roles, the objects and --create-roles; diff says so first', async () => {
    const target = keep(await createPlainDatabase('supa_a'));
    const before = dumpOf(target);
    const check = await checkTarget(target.sql, await introspect(source.sql), { roles: { owners: true, privileges: true } });
    assert.ok(check.verdict.missingRoles.some((r) => r.role === 'anon' && r.objects.some((o) => o.startsWith('policy '))), 'diff names anon and a policy needing it');
    assert.equal(check.verdict.replace.allowed, false);
    for (const jobs of [2, 1]) {
      await assert.rejects(sync(target, { jobs }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'JOBS_SCHEMA_INCOMPATIBLE');
        assert.match(error.message, /lacks roles the copy needs: .*\banon\b/);
        assert.match(error.message, /--create-roles/);
        return true;
      });
    }
    // without owners and privileges, the policies still name their roles
    await assert.rejects(sync(target, { owners: false, privileges: false }), (error: Error) => {
      assert.match(error.message, /authenticated \(policy /);
      return true;
    });
    assert.equal(dumpOf(target), before, 'nothing was written');
    const [roles] = await target.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'supabase_auth_admin')`;
    assert.equal(roles.n, '0', 'no role was created');
  });

  test('(a) with createRoles, into a cluster without the roles: the roles are created NOLOGIN and the copy is identical', async () => {
    // a throwaway cluster: the second one must stay without the platform's roles for the other tests
    const server = await startPostgresInstance();
    try {
      const target = await createDatabase('supa_a_roles', { adminUrl: server.adminUrl });
      try {
        // an event trigger's owner must be a superuser, which createRoles never makes: named before any write
        await assert.rejects(sync(target, { createRoles: true }), (error: Error) => {
          assert.match(error.message, /event trigger pgrst_ddl_watch \(owner supabase_admin\)/);
          return true;
        });
        // as the message says: the operator makes that one role a superuser; createRoles makes the rest
        await target.sql.unsafe('CREATE ROLE supabase_admin SUPERUSER NOLOGIN');
        const result = await sync(target, { createRoles: true });
        assert.ok(result.import.createdRoles?.includes('anon'));
        assert.equal(dumpOf(target), dumpOf(source));
        assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
        const created = await target.sql`SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'anon'`;
        assert.deepEqual(created.map((r) => [r.rolname, r.rolcanlogin, r.rolsuper]), [['anon', false, false]]);
        const memberships = await target.sql`SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = ANY(${result.import.createdRoles!})`;
        assert.equal(memberships.length, 0, 'no membership');
      } finally {
        await target.drop();
      }
    } finally {
      await server.stop();
    }
  });

  for (const jobs of [2, 1]) {
    test(`(c) jobs ${jobs}: into a local Supabase stack, the user's schemas and the auth and storage rows are identical, the platform's structure untouched`, async () => {
      const target = keep(await createLocalSupabaseTarget(`supa_c_${jobs}`, { auth: 'current' }));
      const platformBefore = await introspect(target.sql, { schemas: ['auth', 'storage', 'realtime', 'extensions'] });
      const result = await sync(target, { jobs });
      assert.equal(dumpOf(target, USER_SCHEMAS), dumpOf(source, USER_SCHEMAS));
      assert.deepEqual(await snapshotDatabase(target.sql, USER_SCHEMAS), await snapshotDatabase(source.sql, USER_SCHEMAS));
      const rows = async (db: TestDatabase) => {
        const snap = await snapshotDatabase(db.sql, PLATFORM_DATA);
        delete snap.tables['auth.schema_migrations'];
        delete snap.tables['storage.migrations'];
        return snap;
      };
      assert.deepEqual(await rows(target), await rows(source), 'auth and storage rows');
      // the platform's tables keep their structure; the user's own trigger and policies on them come along
      const platformAfter = await introspect(target.sql, { schemas: ['auth', 'storage', 'realtime', 'extensions'] });
      const structure = (m: typeof platformAfter) => m.tables.map((t) => ({ table: `${t.schema}.${t.name}`, columns: t.columns, constraints: t.constraints, indexes: t.indexes }));
      assert.deepEqual(structure(platformAfter), structure(platformBefore));
      const added = (m: typeof platformAfter) => m.tables.flatMap((t) => [...t.triggers.map((g) => `${t.name}/${g.name}`), ...t.policies.map((p) => `${t.name}/${p.name}`)]).sort();
      const sourcePlatform = await introspect(source.sql, { schemas: ['auth', 'storage'] });
      assert.deepEqual(added(platformAfter).filter((x) => !added(platformBefore).includes(x)), added(sourcePlatform).filter((x) => !added(platformBefore).includes(x)));
      assert.ok(result.import.rows > 5000);
    });
  }

  test('(c) into a local Supabase stack whose auth is one migration behind: refused before any write, naming what does not fit', async () => {
    const target = keep(await createLocalSupabaseTarget('supa_c_behind'));
    const before = { schema: dumpOf(target), data: await snapshotDatabase(target.sql) };
    await assert.rejects(sync(target), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'JOBS_SCHEMA_INCOMPATIBLE');
      assert.match(error.message, /auth\.users\.is_anonymous/);
      return true;
    });
    assert.deepEqual({ schema: dumpOf(target), data: await snapshotDatabase(target.sql) }, before);
  });
});
