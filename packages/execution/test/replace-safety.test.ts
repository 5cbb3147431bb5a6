import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { checkTarget, introspect } from '@mbsync/schema-diff';
import { runSync, type SyncJobInput } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import { createDatabase, pgDumpSchema, psqlText, scratchDatabases, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

// Issue 16's reproductions, each on the default settings (two lanes) and on one transaction (--jobs 1).

const READER = 'mbsync_test_reader';

async function stateOf(db: TestDatabase, schemas?: string[]) {
  const args = schemas ? schemas.flatMap((s) => ['-n', s]) : [];
  return { schema: pgDumpSchema(db.url, args), data: await snapshotDatabase(db.sql, schemas) };
}

describe('replace safety: never report success on a wrong copy, never destroy what the replace does not own', { timeout: 600_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  const { fresh, dropAll } = scratchDatabases();
  const sync = (source: TestDatabase, target: TestDatabase, options: Partial<SyncJobInput> = {}) => runSync({
    source: describeEnvironment('src', source.url),
    target: describeEnvironment('dst', target.url),
    config,
    ...options,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-replace-safety-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    const admin = await createDatabase('safety_roles');
    // roles are cluster-wide: created once, never dropped (other suites may use them)
    psqlText(admin.url, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${READER}') THEN CREATE ROLE ${READER} NOLOGIN; END IF; END $$;`);
    await admin.drop();
  });

  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  const BOOKINGS = `
    CREATE EXTENSION btree_gist;
    CREATE TABLE public.bookings (id serial PRIMARY KEY, room int NOT NULL, during tstzrange NOT NULL,
      CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));
    CREATE INDEX bookings_room ON public.bookings USING gist (room);
    INSERT INTO public.bookings (room, during)
      SELECT g % 10, tstzrange('2026-01-01'::timestamptz + g * interval '1 hour', '2026-01-01'::timestamptz + (g + 1) * interval '1 hour')
      FROM generate_series(1, 500) g;`;

  for (const jobs of [2, 1]) {
    test(`jobs ${jobs}: an exclusion constraint and index of an extension's operator class survive, into a target that has the extension and into an empty one`, async () => {
      const source = await fresh(`gist_src_${jobs}`);
      psqlText(source.url, BOOKINGS);
      const earlier = await fresh(`gist_old_${jobs}`);
      psqlText(earlier.url, BOOKINGS);
      const empty = await fresh(`gist_new_${jobs}`);
      for (const target of [earlier, empty]) {
        const result = await sync(source, target, { jobs });
        assert.equal(result.import.rows, 500);
        assert.deepEqual(await stateOf(target), await stateOf(source));
        const [names] = await target.sql<[{ n: string[] }]>`
          SELECT array_agg(conname::text ORDER BY conname) AS n FROM pg_constraint WHERE conrelid = 'public.bookings'::regclass`;
        assert.deepEqual(names.n, ['bookings_pkey', 'no_overlap']);
        // the constraint works: an overlapping booking is refused
        await assert.rejects(
          target.sql`INSERT INTO public.bookings (room, during) SELECT room, during FROM public.bookings LIMIT 1`,
          (e: { code?: string }) => e.code === '23P01',
        );
      }
    });

    test(`jobs ${jobs}: objects outside the replaced schema that depend on it are listed, backed up and recreated; without privileges copied, the schema keeps its grants and default privileges`, async () => {
      const source = await fresh(`dep_src_${jobs}`);
      const schema = `
        CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL);
        CREATE FUNCTION public.is_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
        CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.seen := now(); RETURN NEW; END$$;`;
      psqlText(source.url, `${schema} INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 100) g;`);
      const target = await fresh(`dep_dst_${jobs}`);
      psqlText(target.url, `${schema}
        INSERT INTO public.items SELECT g, 'old ' || g FROM generate_series(1, 200) g;
        GRANT USAGE ON SCHEMA public TO ${READER};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${READER};
        CREATE SCHEMA reporting;
        CREATE VIEW reporting.item_names AS SELECT id, name FROM public.items;
        COMMENT ON VIEW reporting.item_names IS 'names only';
        CREATE VIEW reporting.short_names AS SELECT id FROM reporting.item_names WHERE length(name) < 10;
        CREATE TABLE reporting.notes (id int CHECK (public.is_ok(id)), item_id int REFERENCES public.items (id), seen timestamptz);
        CREATE TRIGGER notes_touch BEFORE INSERT ON reporting.notes FOR EACH ROW EXECUTE FUNCTION public.touch();
        INSERT INTO reporting.notes (id, item_id) VALUES (1, 1), (2, 50);
        CREATE SCHEMA auth;
        CREATE TABLE auth.users (id int PRIMARY KEY);
        ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
        CREATE POLICY only_ok ON auth.users AS RESTRICTIVE USING (public.is_ok(id));
        SET client_min_messages = error;
        CREATE PUBLICATION items_pub FOR TABLE public.items;`);
      const outside = ['reporting', 'auth'];
      const before = await stateOf(target, outside);

      // diff, before any write: every dependent found, each to be recreated
      const model = await introspect(source.sql);
      const check = await checkTarget(target.sql, model);
      assert.deepEqual(check.verdict.dependents.map((d) => [d.object, d.recreated]).sort(), [
        ['constraint notes_id_check on table reporting.notes', true],
        ['constraint notes_item_id_fkey on table reporting.notes', true],
        ['policy only_ok on table auth.users', true],
        ['publication of table public.items in publication items_pub', true],
        ['trigger notes_touch on table reporting.notes', true],
        ['view reporting.item_names', true],
        ['view reporting.short_names', true],
      ]);
      assert.equal(check.verdict.replace.needsConfirmation, false);

      const result = await sync(source, target, { jobs, owners: false, privileges: false });
      assert.deepEqual(await stateOf(target, ['public']), await stateOf(source, ['public']));
      assert.deepEqual(await stateOf(target, outside), before, 'the objects outside public are as they were');
      assert.equal(result.import.dependents?.lost.length, 0);
      const [pub] = await target.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM pg_publication_tables WHERE pubname = 'items_pub' AND tablename = 'items'`;
      assert.equal(pub.n, '1');
      const [defaults] = await target.sql<[{ acl: string[] }]>`
        SELECT d.defaclacl::text[] AS acl FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = 'public'`;
      assert.ok(defaults.acl.some((a) => a.startsWith(`${READER}=r/`)), `default privileges kept: ${defaults.acl.join(',')}`);
      const [usage] = await target.sql<[{ ok: boolean }]>`SELECT has_schema_privilege(${READER}, 'public', 'USAGE') AS ok`;
      assert.equal(usage.ok, true);
      // the view still reads the (new) table; the foreign key still holds
      const names = await target.sql`SELECT name FROM reporting.item_names WHERE id = 1`;
      assert.equal(names[0]?.name, 'item 1');
      await assert.rejects(target.sql`INSERT INTO reporting.notes (id, item_id) VALUES (3, 999)`, (e: { code?: string }) => e.code === '23503');
      // the backup taken before the replace holds them too
      const backup = gunzipSync(await readFile(result.backup!.file)).toString('utf8');
      for (const text of ['CREATE VIEW reporting.item_names', 'ADD CONSTRAINT notes_item_id_fkey', 'CREATE POLICY only_ok ON auth.users AS RESTRICTIVE', 'ALTER PUBLICATION items_pub ADD TABLE']) {
        assert.ok(backup.includes(text), `backup has ${text}`);
      }
    });

    test(`jobs ${jobs}: a dependent the dump cannot bring back is named and refused before any write; --yes drops it and says so`, async () => {
      const source = await fresh(`lost_src_${jobs}`);
      psqlText(source.url, `CREATE TABLE public.items (id int PRIMARY KEY); INSERT INTO public.items VALUES (1), (2);`);
      const target = await fresh(`lost_dst_${jobs}`);
      psqlText(target.url, `
        CREATE TYPE public.mood AS ENUM ('ok', 'bad');
        CREATE FUNCTION public.is_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
        CREATE TABLE public.items (id int PRIMARY KEY);
        CREATE SCHEMA auth;
        CREATE TABLE auth.users (id int PRIMARY KEY, mood public.mood);
        INSERT INTO auth.users VALUES (1, 'ok');
        ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
        CREATE POLICY only_ok ON auth.users AS RESTRICTIVE USING (public.is_ok(id));`);
      const before = await stateOf(target);
      await assert.rejects(sync(source, target, { jobs }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'JOBS_CONFIRMATION_REQUIRED');
        assert.match(error.message, /policy only_ok on table auth\.users .*would be dropped.*RESTRICTIVE policy: dropping it widens access/);
        assert.match(error.message, /column mood of table auth\.users .*would be dropped/);
        return true;
      });
      assert.deepEqual(await stateOf(target), before, 'nothing was written');

      const result = await sync(source, target, { jobs, acceptDataLoss: true });
      assert.deepEqual(result.import.dependents?.lost.map((l) => l.object).sort(), ['column mood of table auth.users', 'policy only_ok on table auth.users']);
      const policies = await target.sql`SELECT polname FROM pg_policy`;
      assert.equal(policies.length, 0);
    });

    test(`jobs ${jobs}: the catalog is checked against the dump before COMMIT: a copy that differs rolls back naming the object`, async () => {
      const source = await fresh(`verify_src_${jobs}`);
      psqlText(source.url, `CREATE TABLE public.items (id int PRIMARY KEY, name text); INSERT INTO public.items VALUES (1, 'a');`);
      const target = await fresh(`verify_dst_${jobs}`);
      // the target adds a column to every new table called items, behind the import's back
      psqlText(target.url, `
        CREATE TABLE public.items (id int PRIMARY KEY, name text); INSERT INTO public.items VALUES (7, 'old');
        CREATE SCHEMA ops;
        CREATE FUNCTION ops.sneak() RETURNS event_trigger LANGUAGE plpgsql AS $$
          DECLARE r record;
          BEGIN
            FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_identity LIKE '%.items' LOOP
              EXECUTE format('ALTER TABLE %s ADD COLUMN sneaky int', r.object_identity);
            END LOOP;
          END $$;
        CREATE EVENT TRIGGER sneak ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION ops.sneak();`);
      const before = await stateOf(target);
      await assert.rejects(sync(source, target, { jobs }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DUMP_VERIFY_FAILED');
        assert.match(error.message, /column public\.items\.sneaky not in the dump/);
        return true;
      });
      assert.deepEqual(await stateOf(target), before);
      const staging = await target.sql`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mbsync\\_%'`;
      assert.equal(staging.length, 0, 'no staging schema left');
    });

    test(`jobs ${jobs}: validate reads the replaced schemas whatever they are called (auth), and data-only into them is allowed`, async () => {
      const source = await fresh(`auth_src_${jobs}`);
      psqlText(source.url, `
        CREATE SCHEMA auth; CREATE TABLE auth.users (id int PRIMARY KEY, email text);
        INSERT INTO auth.users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 30) g;
        CREATE TABLE public.profiles (id int PRIMARY KEY REFERENCES auth.users (id));
        INSERT INTO public.profiles SELECT generate_series(1, 30);`);
      const target = await fresh(`auth_dst_${jobs}`);
      psqlText(target.url, `
        CREATE SCHEMA auth; CREATE TABLE auth.users (id int PRIMARY KEY, email text);
        CREATE TABLE auth.sessions (id int, user_id int); INSERT INTO auth.sessions VALUES (1, 1);
        CREATE TABLE public.profiles (id int PRIMARY KEY REFERENCES auth.users (id));`);
      const before = await stateOf(target);
      await assert.rejects(sync(source, target, { jobs, schemas: ['auth', 'public'] }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'JOBS_CONFIRMATION_REQUIRED');
        assert.match(error.message, /table auth\.sessions/);
        return true;
      });
      assert.deepEqual(await stateOf(target), before);
      // data-only (through a dump file, which carries the table list): the target has the tables, auth included
      const result = await sync(source, target, { jobs, schemas: ['auth', 'public'], mode: 'data-only', keepDump: true });
      assert.equal(result.import.rows, 60);
      assert.deepEqual(await snapshotDatabase(target.sql, ['public']), await snapshotDatabase(source.sql, ['public']));
      const [users] = await target.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM auth.users`;
      assert.equal(users.n, '30');
    });

    test(`jobs ${jobs}: a table hash-partitioned on an enum is loaded through its root (enum hashes differ between databases)`, async () => {
      const source = await fresh(`hash_src_${jobs}`);
      const schema = `
        CREATE TYPE public.status AS ENUM ('draft', 'live', 'gone', 'held');
        CREATE TABLE public.events (id int, status public.status NOT NULL, note text) PARTITION BY HASH (status);
        CREATE TABLE public.events_0 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 0);
        CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 1);
        CREATE TABLE public.events_2 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 2);
        ALTER TABLE public.events ADD PRIMARY KEY (id, status);`;
      // labels created in another order on the target side make the enum OIDs, and so the hashes, differ
      psqlText(source.url, `CREATE TYPE public.pad AS ENUM ('a', 'b', 'c', 'd', 'e'); ${schema}
        INSERT INTO public.events SELECT g, (ARRAY['draft', 'live', 'gone', 'held'])[1 + g % 4]::public.status, 'e' || g FROM generate_series(1, 400) g;`);
      const target = await fresh(`hash_dst_${jobs}`);
      const result = await sync(source, target, { jobs });
      assert.equal(result.import.rows, 400);
      assert.deepEqual(await snapshotDatabase(target.sql, ['public']).then((s) => Object.values(s.tables).flat().sort()),
        await snapshotDatabase(source.sql, ['public']).then((s) => Object.values(s.tables).flat().sort()));
      const [n] = await target.sql<[{ n: string }]>`SELECT count(*)::text AS n FROM public.events`;
      assert.equal(n.n, '400');
    });
  }
});
