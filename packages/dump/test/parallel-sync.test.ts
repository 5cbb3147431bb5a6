import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import postgres from 'postgres';
import { DumpError, STAGE_SCHEMA_PREFIX, type ParallelSyncResult } from '@mbsync/dump';
import { parallelSyncLikeARunner, type ParallelRunOptions } from './support/parallel.js';
import { createDatabase, psqlFile, psqlText, type TestDatabase } from '@mbsync/testkit';
import { tablesStandingAlone } from '../src/parallel/shadow-plan.js';
import { exportTo, fixtures, importFile, loadPagila, loadTricky, stateOf } from './support/databases.js';

/** Runs the parallel sync from `source` into `target` as a runner does. */
async function parallelSync(source: TestDatabase, target: TestDatabase, options: ParallelRunOptions = {}): Promise<ParallelSyncResult> {
  return parallelSyncLikeARunner(source, target, options);
}

async function stagingSchemas(db: TestDatabase): Promise<string[]> {
  const rows = await db.sql<{ name: string }[]>`SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE ${STAGE_SCHEMA_PREFIX + '%'}`;
  return rows.map((r) => r.name);
}

/** A target that already holds something of its own, to prove replace and rollback. */
function seedTarget(db: TestDatabase): void {
  psqlText(db.url, `
    CREATE TABLE public.keep (id int PRIMARY KEY, note text);
    INSERT INTO public.keep SELECT g, 'row ' || g FROM generate_series(1, 50) g;
    CREATE SCHEMA app; CREATE TABLE app.old (x int); INSERT INTO app.old VALUES (1), (2);`);
}

describe('parallel sync (staging schemas, lanes, one final transaction)', { timeout: 300_000 }, () => {
  const dbs: TestDatabase[] = [];
  const fresh = async (prefix: string, settings?: Record<string, string>) => {
    const db = await createDatabase(prefix, settings ? { sessionSettings: settings } : {});
    dbs.push(db);
    return db;
  };
  after(async () => {
    for (const db of dbs) await db.drop();
  });

  test('tricky fixture: pg_dump --schema-only and every value identical, no staging schema left', async () => {
    const source = await fresh('par_tricky_src', { DateStyle: 'SQL, DMY', TimeZone: 'America/St_Johns', IntervalStyle: 'sql_standard', extra_float_digits: '0' });
    loadTricky(source);
    const target = await fresh('par_tricky_dst', { DateStyle: 'German, DMY', TimeZone: 'Pacific/Chatham', IntervalStyle: 'iso_8601' });
    seedTarget(target);
    const result = await parallelSync(source, target);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
    assert.ok(result.staged.length > 0, 'some tricky tables are staged');
    assert.equal(result.import.rows, result.tables.reduce((n, t) => n + t.rows, 0));
  });

  test('the lanes commit their staging work without waiting for its WAL flush and run no parallel workers; the copy is identical', async () => {
    const source = await fresh('par_async_src');
    psqlText(source.url, `CREATE TABLE public.a (id int PRIMARY KEY, v text);
      INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
      CREATE TABLE public.b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES public.a (id));
      INSERT INTO public.b SELECT g, 1 + g % 2000 FROM generate_series(1, 3000) g;`);
    const target = await fresh('par_async_dst');
    // each lane's settings, read on its own connection just before the sync closes it
    const lanes: string[] = [];
    const openTarget = (name: string) => {
      const sql = postgres(target.url, { max: 1, idle_timeout: 0, connection: { application_name: name }, onnotice: () => {} });
      const end = sql.end.bind(sql);
      sql.end = (async (options?: { timeout?: number }) => {
        if (name.includes('lane')) {
          const [row] = await sql.unsafe<[{ s: string }]>(`SELECT concat_ws(' ', current_setting('synchronous_commit'),
            current_setting('max_parallel_maintenance_workers'), current_setting('max_parallel_workers_per_gather')) AS s`);
          lanes.push(row.s);
        }
        return end(options);
      }) as typeof sql.end;
      return sql;
    };
    const result = await parallelSync(source, target, { openTarget, jobs: 2 });
    // synchronous_commit off; no workers for an index build or a count (the lanes are the parallelism)
    assert.deepEqual(lanes, ['off 0 0', 'off 0 0']);
    assert.ok(result.staged.length === 2, `staged: ${result.staged.join(', ')}`);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    // the setting lives in the lanes' sessions only: nothing persisted for the database or a role, so the main
    // transaction (not a lane) and every later session commit under the server's own setting
    const persisted = await target.sql<{ setting: string }[]>`SELECT unnest(setconfig) AS setting FROM pg_db_role_setting`;
    assert.deepEqual(persisted.filter((r) => /^(synchronous_commit|max_parallel)/.test(r.setting)), []);
  });

  test('tables created by their copies, in its transaction, unless prep names them; the rest of the CREATE TABLEs in order on the first lane: row types, partitions, inheritance, typed tables, a view, an underscore name; identical copy', async () => {
    const source = await fresh('par_prep_src');
    const plain = Array.from({ length: 40 }, (_, i) => `CREATE TABLE public.p${i} (id int PRIMARY KEY, v text); INSERT INTO public.p${i} SELECT g, 'p${i}-' || g FROM generate_series(1, 20) g;`).join('\n');
    psqlText(source.url, `${plain}
      -- a column of another table's row type, and an array of it; a table whose row type is another's array type name
      CREATE TABLE public.t5 (id int PRIMARY KEY, note text);
      CREATE TABLE public._t5 (id int PRIMARY KEY, r public.p1, rs public.p2[]);
      INSERT INTO public.t5 VALUES (1, 'five');
      INSERT INTO public._t5 VALUES (1, ROW(7, 'seven'), ARRAY[ROW(8, 'eight')::public.p2]);
      CREATE TABLE public.parted (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE public.parted_2025 PARTITION OF public.parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      INSERT INTO public.parted VALUES (1, '2025-06-01');
      CREATE TABLE public.base (id int, v text);
      CREATE TABLE public.child (extra int) INHERITS (public.base);
      INSERT INTO public.child VALUES (1, 'inherited', 2);
      CREATE TYPE public.pair AS (a int, b text);
      CREATE TABLE public.typed OF public.pair;
      INSERT INTO public.typed VALUES (1, 'typed');
      CREATE TABLE public.q1 (id int PRIMARY KEY, r public.p3);
      INSERT INTO public.q1 VALUES (1, ROW(3, 'three'));
      CREATE TABLE public._p7 (id int PRIMARY KEY);
      INSERT INTO public._p7 VALUES (7);
      -- a view names its table; a serial column's sequence is OWNED BY its table (that statement follows the table)
      CREATE VIEW public.p4_view AS SELECT id, v FROM public.p4 WHERE id > 10;
      CREATE TABLE public.s1 (id serial PRIMARY KEY, v text);
      ALTER TABLE public.s1 ALTER COLUMN v SET STORAGE EXTERNAL;
      INSERT INTO public.s1 (v) SELECT 's' || g FROM generate_series(1, 30) g;`);
    const target = await fresh('par_prep_dst');
    psqlText(target.url, 'CREATE TABLE public.keep (id int PRIMARY KEY); INSERT INTO public.keep VALUES (1);');
    // what each lane session ran, in order: CREATE TABLE <name>, COPY <name>, ALTER (OWNED BY, SET STORAGE)
    const ran = new Map<string, string[]>();
    const openTarget = (name: string) => postgres(target.url, {
      max: 1, idle_timeout: 0, connection: { application_name: name }, onnotice: () => {},
      debug: (_connection: number, query: string) => {
        if (!name.includes('lane')) return;
        const step = /^CREATE TABLE \S+\.(\S+) [(O]/.exec(query)?.[1] ? `create ${/^CREATE TABLE \S+\.(\S+) [(O]/.exec(query)![1]}`
          : /^COPY \S+\.(\S+) .*FROM STDIN/.exec(query)?.[1] ? `copy ${/^COPY \S+\.(\S+) /.exec(query)![1]}`
            : /^ALTER (SEQUENCE|TABLE ONLY) /.test(query) ? `ALTER ${/^ALTER (SEQUENCE|TABLE ONLY) /.exec(query)![1]}` : null;
        if (step) ran.set(name, [...(ran.get(name) ?? []), step]);
      },
    });
    const result = await parallelSync(source, target, { openTarget, jobs: 2 });
    assert.equal(result.fallback, undefined, 'built beside the live schema, not in one transaction');
    const alone = tablesStandingAlone(result.schema);
    for (const t of ['p0', 'p39', 't5', 'base', 's1']) assert.ok(alone.has(`public.${t}`), `${t} stands alone`);
    for (const t of ['_t5', 'q1', '_p7', 'parted', 'parted_2025', 'child', 'typed']) assert.ok(!alone.has(`public.${t}`), `${t} does not stand alone`);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
    const lanes = [...ran.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, steps]) => steps);
    assert.equal(lanes.length, 2, `statements on ${lanes.length} lane(s)`);
    const [first, second] = lanes as [string[], string[]];
    // before its first COPY, the first lane created what prep names: a row type's table, an inheritance parent, a
    // view's table, tables whose array type name another takes (t5, p7); and every table that needs another, in order
    const firstCopy = first.findIndex((s) => s.startsWith('copy '));
    const prepared = first.slice(0, firstCopy).filter((s) => s.startsWith('create ')).map((s) => s.slice(7));
    assert.deepEqual([...prepared].sort(), ['_p7', '_t5', 'base', 'child', 'p1', 'p2', 'p3', 'p4', 'p7', 'parted', 'parted_2025', 'q1', 't5', 'typed'], `created before the lanes load: ${prepared.join(', ')}`);
    const at = (t: string) => prepared.indexOf(t);
    assert.ok(at('_t5') > at('p1') && at('_t5') > at('p2') && at('child') > at('base') && at('parted_2025') > at('parted') && at('q1') > at('p3'), `in order: ${prepared.join(', ')}`);
    // every other table was created by the lane that copied it, just before its COPY, and on both lanes
    const byCopy = (steps: string[]) => steps.flatMap((s, i) => (s.startsWith('create ') && i > (steps === first ? firstCopy : -1) ? [s.slice(7)] : []));
    const lazy = [...byCopy(first), ...byCopy(second)].sort();
    const expected = ['s1', ...Array.from({ length: 40 }, (_, i) => `p${i}`).filter((t) => !['p1', 'p2', 'p3', 'p4', 'p7'].includes(t))].sort();
    assert.deepEqual(lazy, expected);
    assert.ok(byCopy(first).length > 0 && byCopy(second).length > 0, `both lanes created tables: ${byCopy(first).length} and ${byCopy(second).length}`);
    for (const steps of [first, second]) {
      for (const [i, s] of steps.entries()) {
        if (!s.startsWith('create ') || (steps === first && i < firstCopy)) continue;
        const table = s.slice(7);
        // s1's followers (its column's SET STORAGE, its sequence's OWNED BY) go with it, before the COPY
        const next = steps.slice(i + 1).find((x) => !x.startsWith('ALTER'));
        assert.equal(next, `copy ${table}`, `${table} is copied right after it is created`);
        if (table === 's1') assert.deepEqual(steps.slice(i + 1, i + 3).sort(), ['ALTER SEQUENCE', 'ALTER TABLE ONLY']);
      }
    }
  });

  test('the lanes count each table once loaded and the swap compares: a row written behind the sync\'s back after the copy fails it with DUMP_VERIFY_FAILED; target unchanged, no staging schema left', async () => {
    const source = await fresh('par_count_src');
    psqlText(source.url, `CREATE TABLE public.a (id int, v text); INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 500) g;
      CREATE TABLE public.b (id int PRIMARY KEY); INSERT INTO public.b SELECT generate_series(1, 100);`);
    const target = await fresh('par_count_dst');
    seedTarget(target);
    const before = await stateOf(target);
    // just before a lane counts public.a, another session adds a row to it and commits
    const counted: string[] = [];
    const openTarget = (name: string) => postgres(target.url, {
      max: 1, idle_timeout: 0, connection: { application_name: name }, onnotice: () => {},
      debug: (_connection: number, query: string) => {
        const count = /^SELECT count\(\*\)::text AS n FROM ONLY (\S+)\.(\S+)$/.exec(query);
        if (!count || !name.includes('lane')) return;
        counted.push(count[2]!);
        if (count[2] === 'a') psqlText(target.url, `INSERT INTO ${count[1]}.a VALUES (9999, 'written behind the sync')`);
      },
    });
    await assert.rejects(parallelSync(source, target, { openTarget, jobs: 2 }), (error: unknown) => {
      assert.ok(error instanceof DumpError && error.code === 'DUMP_VERIFY_FAILED', String(error));
      assert.match(error.message, /public\.a: the source has 500, found 501/);
      return true;
    });
    assert.deepEqual(counted.sort(), ['a', 'b'], 'each table counted once, on a lane');
    assert.deepEqual(await stateOf(target), before);
    assert.deepEqual(await stagingSchemas(target), []);
  });

  test('pagila: pg_dump --schema-only and every value identical', async () => {
    const source = await fresh('par_pagila_src');
    loadPagila(source);
    const target = await fresh('par_pagila_dst');
    const result = await parallelSync(source, target);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
    assert.ok(result.staged.length >= 5, `pagila staged: ${result.staged.join(', ')}; not: ${JSON.stringify(result.notStaged)}`);
  });

  test('multiboard bench schema: every table staged; identical copy; a table from 8 MB on loaded frozen', async () => {
    const source = await fresh('par_mb_src');
    psqlFile(source.url, join(fixtures, 'multiboard/schema.sql'));
    psqlText(source.url, `
      INSERT INTO public.categories (slug, name) SELECT 'c' || g, 'Cat ' || g FROM generate_series(1, 20) g;
      INSERT INTO public.components (slug, name, category_id, tags, metadata, price)
        SELECT 'comp-' || g, 'Component ' || g, 1 + g % 20, ARRAY['a', 'b' || g], jsonb_build_object('n', g), g / 7.0 FROM generate_series(1, 3000) g;
      INSERT INTO public.parts (component_id, sku, name, weight_g) SELECT 1 + g % 3000, 'sku-' || g, 'Part ' || g, g * 0.5 FROM generate_series(1, 20000) g;
      INSERT INTO public.attributes (slug, name, data_type) SELECT 'a' || g, 'Attr ' || g, 'text' FROM generate_series(1, 10) g;
      INSERT INTO public.part_attributes SELECT p, a, 'v' || p || '-' || a FROM generate_series(1, 20000) p, generate_series(1, 10) a;
      INSERT INTO public.component_files (component_id, filename, mime_type, content, sha256)
        SELECT g, 'f' || g, 'application/octet-stream', decode(repeat(md5(g::text), 300), 'hex'), md5(g::text) FROM generate_series(1, 200) g;`);
    const target = await fresh('par_mb_dst');
    const result = await parallelSync(source, target, { jobs: 2 });
    assert.deepEqual(result.notStaged, {});
    assert.equal(result.staged.length, 6);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    await target.sql.unsafe('CREATE EXTENSION pg_visibility');
    const [summary] = await target.sql<[{ all_frozen: string; pages: string }]>`
      SELECT all_frozen::text, pg_relation_size('public.part_attributes') / current_setting('block_size')::int AS pages FROM pg_visibility_map_summary('public.part_attributes')`;
    assert.ok(Number(summary.pages) > 10);
    assert.equal(summary.all_frozen, String(summary.pages));
  });

  test('every table is built beside the live schema, whatever its definition refers to; the copy is identical', async () => {
    const source = await fresh('par_edge_src');
    psqlText(source.url, `
      CREATE FUNCTION public.positive(x int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT x > 0';
      CREATE FUNCTION public.norm(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(x)';
      CREATE TABLE public.checked (id int PRIMARY KEY, v int CHECK (public.positive(v)));
      CREATE TABLE public.named (id int PRIMARY KEY, t text CHECK (t::regclass <> 'public.checked'::regclass));
      CREATE TABLE public.words (id int PRIMARY KEY, v text, w text COLLATE "C" NOT NULL, r int4range,
        EXCLUDE USING gist (r WITH &&), UNIQUE NULLS NOT DISTINCT (w), CONSTRAINT words_v_key UNIQUE (v) DEFERRABLE INITIALLY DEFERRED);
      CREATE INDEX words_norm ON public.words (public.norm(v));
      CREATE INDEX words_partial ON public.words (w DESC NULLS LAST) INCLUDE (id) WHERE id > 10;
      CREATE UNIQUE INDEX words_id_w ON public.words (id, w);
      ALTER TABLE public.words CLUSTER ON words_id_w;
      ALTER TABLE public.words REPLICA IDENTITY USING INDEX words_id_w;
      CREATE TABLE public.refs (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 7 INCREMENT BY 3) PRIMARY KEY,
        checked_id int REFERENCES public.checked (id), words_id int, "Select" text DEFAULT 'x' NOT NULL) WITH (fillfactor = 70);
      ALTER TABLE public.refs ADD CONSTRAINT refs_words FOREIGN KEY (words_id) REFERENCES public.words (id) NOT VALID;
      ALTER TABLE public.refs ADD CONSTRAINT refs_select_check CHECK (length("Select") < 100) NOT VALID;
      ALTER TABLE public.refs ALTER COLUMN "Select" SET STATISTICS 500, ALTER COLUMN "Select" SET STORAGE EXTERNAL;
      CREATE SEQUENCE public.counter;
      CREATE TABLE public.counted (n bigint DEFAULT nextval('public.counter') NOT NULL);
      CREATE UNLOGGED TABLE public.scratch (x int);
      CREATE TABLE public.nothing ();
      CREATE SCHEMA "Other";
      CREATE TABLE "Other".words (id int CONSTRAINT words_pkey PRIMARY KEY, note text);
      CREATE TABLE "Other"."Mixed" ("Id" int PRIMARY KEY, "order" int REFERENCES "Other".words (id) ON DELETE CASCADE);
      CREATE VIEW public.words_view AS SELECT id, v FROM public.words;
      INSERT INTO public.checked SELECT g, g FROM generate_series(1, 100) g;
      INSERT INTO public.named VALUES (1, 'public.words');
      INSERT INTO public.words SELECT g, 'V' || g, 'w' || g, int4range(g * 10, g * 10 + 5) FROM generate_series(1, 200) g;
      INSERT INTO public.refs (checked_id, words_id, "Select") SELECT 1 + g % 100, 1 + g % 200, 's' || g FROM generate_series(1, 500) g;
      INSERT INTO public.counted SELECT FROM generate_series(1, 10);
      INSERT INTO public.scratch SELECT generate_series(1, 5);
      INSERT INTO public.nothing DEFAULT VALUES;
      INSERT INTO "Other".words SELECT g, 'n' || g FROM generate_series(1, 50) g;
      INSERT INTO "Other"."Mixed" SELECT g, g FROM generate_series(1, 50) g;`);
    const target = await fresh('par_edge_dst');
    psqlText(target.url, `CREATE TABLE public.words (id int); INSERT INTO public.words VALUES (1);`);
    const result = await parallelSync(source, target);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
    // a CHECK calling a user function, a CHECK naming a table in a literal: built beside the live schema like the rest
    assert.equal(result.fallback, undefined);
    assert.deepEqual(result.notStaged, {});
    assert.deepEqual(result.staged.sort(), ['Other.Mixed', 'Other.words', 'public.checked', 'public.counted', 'public.named', 'public.nothing', 'public.refs', 'public.scratch', 'public.words']);
  });

  test('tables whose columns use the schema\'s own enums, domains, composite and range types: every one staged, binary COPY where the type allows; identical, again over the copy', async () => {
    const source = await fresh('par_types_src');
    psqlText(source.url, `
      CREATE SCHEMA app;
      CREATE TYPE app.status AS ENUM ('draft', 'live', 'retired');
      CREATE DOMAIN app.positive AS numeric(12,3) CHECK (VALUE > 0);
      CREATE DOMAIN app.slug AS text CHECK (VALUE ~ '^[a-z0-9-]+$');
      CREATE DOMAIN app.state AS app.status NOT NULL DEFAULT 'draft';
      CREATE TYPE app.dims AS (w numeric, h numeric, unit text);
      CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
      CREATE TABLE app.parts (id bigint PRIMARY KEY, status app.status NOT NULL, state app.state, price app.positive,
        slug app.slug UNIQUE, meta jsonb, tags text[], made tstzrange, tolerance app.floatrange);
      CREATE INDEX parts_status ON app.parts (status) WHERE status <> 'retired';
      CREATE TABLE app.sized (id int PRIMARY KEY, part_id bigint REFERENCES app.parts (id), size app.dims, history app.status[]);
      CREATE TABLE app.windows (id int PRIMARY KEY, w app.floatrange, EXCLUDE USING gist (w WITH &&));
      INSERT INTO app.parts SELECT g, (ARRAY['draft', 'live', 'retired'])[1 + g % 3]::app.status, (ARRAY['draft', 'live'])[1 + g % 2]::app.status,
        g / 7.0 + 0.001, 'part-' || g, jsonb_build_object('g', g, 'odd', g % 2 = 1), ARRAY['t' || g % 5, NULL],
        CASE WHEN g % 4 = 0 THEN NULL ELSE tstzrange('2024-01-01'::timestamptz + g * interval '1 hour', NULL) END,
        app.floatrange(g * 0.5, g * 0.5 + 0.25, '[)') FROM generate_series(1, 3000) g;
      INSERT INTO app.sized SELECT g, 1 + g % 3000, ROW(g * 1.5, g / 3.0, CASE WHEN g % 2 = 0 THEN 'mm' END)::app.dims,
        ARRAY['draft', 'live']::app.status[] FROM generate_series(1, 2000) g;
      INSERT INTO app.windows SELECT g, app.floatrange(g * 10, g * 10 + 5) FROM generate_series(1, 500) g;`);
    const target = await fresh('par_types_dst');
    // every binary-safe table in binary (by default a table goes as text where that is smaller: copy-format.test.ts)
    const first = await parallelSync(source, target, { jobs: 2, copyFormat: 'binary' });
    assert.equal(first.fallback, undefined);
    assert.deepEqual(first.notStaged, {});
    assert.deepEqual(first.staged.sort(), ['app.parts', 'app.sized', 'app.windows']);
    const formats = Object.fromEntries(first.tables.map((t) => [`${t.schema}.${t.name}`, t.format]));
    // enums, domains (over a built-in type or an enum) and ranges go in binary; a composite value and an array of a
    // user type carry type OIDs, so that table goes as text
    assert.deepEqual(formats, { 'app.parts': 'binary', 'app.sized': 'text', 'app.windows': 'binary' });
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
    // again over the copy: the target already has the types, the new ones are built beside them and swapped in
    psqlText(source.url, `UPDATE app.parts SET status = 'retired', price = price + 1 WHERE id % 10 = 0; DELETE FROM app.sized WHERE id > 1900;`);
    const second = await parallelSync(source, target, { jobs: 2 });
    assert.equal(second.fallback, undefined);
    assert.deepEqual(second.notStaged, {});
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await stagingSchemas(target), []);
  });

  test('a regclass column (values resolved by name as they load): that table is loaded after the swap, the rest staged; identical copy', async () => {
    const source = await fresh('par_reg_src');
    psqlText(source.url, `
      CREATE TABLE public.words (id int PRIMARY KEY, v text);
      CREATE TABLE public.named (id int PRIMARY KEY, t regclass, f regproc[], word_id int REFERENCES public.words (id));
      CREATE TABLE public.uses (id int PRIMARY KEY, named_id int REFERENCES public.named (id));
      CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trigger fired on %', TG_TABLE_NAME; END $$;
      CREATE TRIGGER named_refuse BEFORE INSERT ON public.named FOR EACH ROW EXECUTE FUNCTION public.refuse();
      INSERT INTO public.words SELECT g, 'w' || g FROM generate_series(1, 20) g;
      ALTER TABLE public.named DISABLE TRIGGER named_refuse;
      INSERT INTO public.named VALUES (1, 'public.words', ARRAY['pg_catalog.now']::regproc[], 3), (2, 'public.uses', NULL, NULL);
      ALTER TABLE public.named ENABLE TRIGGER named_refuse;
      INSERT INTO public.uses SELECT g, 1 + g % 2 FROM generate_series(1, 10) g;
      -- a regclass inside a row type, and inside a domain over an array of it: their text names the table too
      CREATE TYPE public.ref AS (n int, rel regclass);
      CREATE DOMAIN public.refs AS public.ref[];
      CREATE TABLE public.boxed (id int PRIMARY KEY, r public.ref, rs public.refs);
      INSERT INTO public.boxed VALUES (1, ROW(1, 'public.words'), ARRAY[ROW(2, 'public.words')::public.ref]);`);
    const target = await fresh('par_reg_dst');
    // the target's own public.words: a value loaded beside it would name it, and be left dangling by the swap
    psqlText(target.url, `CREATE TABLE public.words (id int); INSERT INTO public.words VALUES (1);`);
    const result = await parallelSync(source, target, { jobs: 2 });
    assert.equal(result.fallback, undefined);
    assert.deepEqual(Object.keys(result.notStaged).sort(), ['public.boxed', 'public.named']);
    assert.match(result.notStaged['public.named']!, /reg\* type/);
    assert.deepEqual(result.staged.sort(), ['public.uses', 'public.words']);
    assert.deepEqual(result.verified, { tables: 4, rows: 33 });
    assert.deepEqual(await stateOf(target), await stateOf(source));
    const [row] = await target.sql<[{ ok: boolean; boxed: boolean; enabled: string }]>`
      SELECT t = 'public.words'::regclass AS ok,
        (SELECT (b.r).rel = 'public.words'::regclass AND (b.rs[1]).rel = 'public.words'::regclass FROM public.boxed b) AS boxed,
        (SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'named_refuse') AS enabled FROM public.named WHERE id = 1`;
    assert.deepEqual(row, { ok: true, boxed: true, enabled: 'O' });
    assert.deepEqual(await stagingSchemas(target), []);
  });

  test('materialized views: a lane refreshes those whose result cannot depend on the schemas\' names, the final transaction the rest, on the new data; identical copy', async () => {
    const source = await fresh('par_mv_src');
    psqlText(source.url, `
      CREATE TYPE public.tier AS ENUM ('low', 'high');
      CREATE DOMAIN public.code AS text CHECK (VALUE ~ '^r');
      CREATE TABLE public.sales (id int PRIMARY KEY, region text NOT NULL, amount numeric NOT NULL, tier public.tier NOT NULL, code public.code NOT NULL);
      INSERT INTO public.sales SELECT g, 'r' || g % 7, g % 100, CASE WHEN g % 3 = 0 THEN 'high' ELSE 'low' END::public.tier, 'r' || g % 5 FROM generate_series(1, 3000) g;
      -- a check pg_dump writes after the data (NOT VALID): a lane, before it exists, must not be where it would run
      ALTER DOMAIN public.code ADD CONSTRAINT code_short CHECK (length(VALUE) < 3) NOT VALID;
      CREATE VIEW public.big_sales AS SELECT * FROM public.sales WHERE amount > 50;
      -- built-in immutable functions and operators, the schema's own enum, through a view, one over the other: a lane
      CREATE MATERIALIZED VIEW public.by_region AS SELECT region, sum(amount) AS total, count(*) AS n FROM public.sales GROUP BY region;
      CREATE MATERIALIZED VIEW public.big_by_region AS
        SELECT b.region, b.tier, count(*) AS n, max(r.total) AS total FROM public.big_sales b JOIN public.by_region r USING (region) GROUP BY 1, 2;
      -- a domain's values read and stored (no check runs): a lane
      CREATE MATERIALIZED VIEW public.by_code AS SELECT code, count(*) AS n, min(region)::text AS first FROM public.sales GROUP BY code;
      -- a coercion to the domain runs its checks, the one added after the data included: after the swap
      CREATE MATERIALIZED VIEW public.coded AS SELECT region::public.code AS code, count(*) AS n FROM public.sales GROUP BY 1;
      -- a row type with a regclass field, and a domain over it: their text holds names, as a reg* value's does
      CREATE TYPE public.pair AS (n int, rel regclass);
      CREATE DOMAIN public.pair_d AS public.pair;
      CREATE TABLE public.pairs (id int PRIMARY KEY, p public.pair, d public.pair_d);
      INSERT INTO public.pairs VALUES (1, ROW(1, NULL), ROW(2, NULL));
      CREATE MATERIALIZED VIEW public.paired AS SELECT id, p FROM public.pairs;
      CREATE MATERIALIZED VIEW public.paired_d AS SELECT id, d FROM public.pairs;
      -- a function whose text names the table: run beside the live schema it would read the target's old rows
      CREATE FUNCTION public.sales_total() RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(amount) FROM public.sales';
      CREATE MATERIALIZED VIEW public.by_function AS SELECT public.sales_total() AS total;
      -- a reg* value's text is the name the relation has when it is printed (the import prints it as pg_dump's settings do)
      CREATE MATERIALIZED VIEW public.named AS SELECT 'public.sales'::regclass::text AS rel, count(*) AS n FROM public.sales;
      SET search_path = ''; REFRESH MATERIALIZED VIEW public.named; RESET search_path;
      -- the catalog: beside the live schemas it holds two tables called sales
      CREATE MATERIALIZED VIEW public.sales_schemas AS
        SELECT n.nspname AS schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'sales' AND c.relkind = 'r';
      -- one over a view refreshed after the swap
      CREATE MATERIALIZED VIEW public.twice AS SELECT total * 2 AS total FROM public.by_function;
      CREATE MATERIALIZED VIEW public.empty AS SELECT 1 AS one WITH NO DATA;`);
    const target = await fresh('par_mv_dst');
    // the target's own public.sales, with other rows: a refresh that read it by name would show them
    psqlText(target.url, `CREATE TABLE public.sales (id int, amount numeric); INSERT INTO public.sales VALUES (1, 1000000), (2, 5);`);
    const result = await parallelSync(source, target, { jobs: 2, owners: true, privileges: true });
    assert.equal(result.fallback, undefined);
    assert.deepEqual(result.refreshedInLanes.sort(), ['public.big_by_region', 'public.by_code', 'public.by_region']);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    const [row] = await target.sql<[{ total: string; rel: string; schemas: string[] }]>`
      SELECT (SELECT total::text FROM public.by_function) AS total, (SELECT rel FROM public.named) AS rel, (SELECT array_agg(schema) FROM public.sales_schemas) AS schemas`;
    assert.deepEqual(row, { total: '148500', rel: 'public.sales', schemas: ['public'] });
    assert.deepEqual(await stagingSchemas(target), []);
  });

  test('a materialized view whose owner row security filters is refreshed after the swap, where the restore refuses it as pg_dump\'s does; target unchanged', async () => {
    // policies come with post-data, after the lanes: refreshed in a lane, such a view would read every row and succeed
    const owner = 'mbsync_test_mv_owner';
    const cases = {
      // another role owns the view: the table's policy filters what it reads
      policy: `CREATE TABLE public.regions (region text PRIMARY KEY, open boolean NOT NULL);
        INSERT INTO public.regions SELECT 'r' || g, g % 2 = 0 FROM generate_series(0, 6) g;
        ALTER TABLE public.regions ENABLE ROW LEVEL SECURITY;
        CREATE POLICY open_only ON public.regions FOR SELECT TO ${owner} USING (open);
        GRANT SELECT ON public.regions TO ${owner};
        CREATE MATERIALIZED VIEW public.counted AS SELECT count(*) AS n FROM public.regions;
        ALTER MATERIALIZED VIEW public.counted OWNER TO ${owner};`,
      // the same role owns both, but row security is forced on its own table
      forced: `CREATE TABLE public.flags (id int PRIMARY KEY, shown boolean NOT NULL);
        INSERT INTO public.flags SELECT g, g <= 3 FROM generate_series(1, 10) g;
        ALTER TABLE public.flags ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
        CREATE POLICY shown_only ON public.flags USING (shown);
        ALTER TABLE public.flags OWNER TO ${owner};
        CREATE MATERIALIZED VIEW public.counted AS SELECT count(*) AS n FROM public.flags;
        ALTER MATERIALIZED VIEW public.counted OWNER TO ${owner};`,
    };
    for (const [name, sql] of Object.entries(cases)) {
      const source = await fresh(`par_mvrls_${name}_src`);
      await source.sql.unsafe(`DO $$ BEGIN CREATE ROLE ${owner}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      psqlText(source.url, `${sql}\nREFRESH MATERIALIZED VIEW public.counted;`);
      const target = await fresh(`par_mvrls_${name}_dst`);
      seedTarget(target);
      const before = await stateOf(target);
      await assert.rejects(parallelSync(source, target, { jobs: 2, owners: true, privileges: true }), (error: unknown) => {
        assert.ok(error instanceof DumpError, name);
        assert.match(error.message, /row-level security policy for table/, name);
        return true;
      });
      assert.deepEqual(await stateOf(target), before, name);
      assert.deepEqual(await stagingSchemas(target), [], name);
    }
  });

  test('a regclass column in a partition: the replace is built in one transaction (the job\'s logger hears why); identical copy', async () => {
    const source = await fresh('par_regp_src');
    psqlText(source.url, `
      CREATE TABLE public.words (id int PRIMARY KEY, v text);
      CREATE TABLE public.named (id int, t regclass) PARTITION BY RANGE (id);
      CREATE TABLE public.named_1 PARTITION OF public.named FOR VALUES FROM (0) TO (100);
      INSERT INTO public.words SELECT g, 'w' || g FROM generate_series(1, 20) g;
      INSERT INTO public.named VALUES (1, 'public.words');`);
    const target = await fresh('par_regp_dst');
    psqlText(target.url, `CREATE TABLE public.words (id int); INSERT INTO public.words VALUES (1);`);
    const warnings: { details: Record<string, unknown>; message: string }[] = [];
    const result = await parallelSync(source, target, { logger: { warn: (details, message) => void warnings.push({ details, message }) } });
    assert.match(result.fallback ?? '', /public\.named_1\.t is of type regclass/);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /final transaction/);
    assert.match(String(warnings[0]!.details.reason), /public\.named_1\.t is of type regclass/);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    const [row] = await target.sql<[{ ok: boolean }]>`SELECT t = 'public.words'::regclass AS ok FROM public.named`;
    assert.equal(row.ok, true);
    assert.deepEqual(await stagingSchemas(target), []);
  });

  /** A source with one table big enough that its COPY lasts a while, plus a view (created by the final transaction). */
  async function bigSource(prefix: string): Promise<TestDatabase> {
    const source = await fresh(prefix);
    psqlText(source.url, `
      CREATE TABLE public.big (id bigint PRIMARY KEY, body text NOT NULL);
      INSERT INTO public.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 300000) g;
      CREATE TABLE public.small (id int PRIMARY KEY, big_id bigint REFERENCES public.big (id));
      INSERT INTO public.small SELECT g, g FROM generate_series(1, 1000) g;
      CREATE VIEW public.small_view AS SELECT id FROM public.small;`);
    return source;
  }

  async function assertUnchanged(target: TestDatabase, before: Awaited<ReturnType<typeof stateOf>>): Promise<void> {
    assert.deepEqual(await stateOf(target), before);
    assert.deepEqual(await stagingSchemas(target), []);
  }

  test('a lane killed mid-COPY (pg_terminate_backend): the sync fails, the target is unchanged, no staging schema is left', async () => {
    const source = await bigSource('par_kill_src');
    const target = await fresh('par_kill_dst');
    seedTarget(target);
    const before = await stateOf(target);
    let killed = 0;
    let killing: Promise<void> | null = null;
    const error = await parallelSync(source, target, {
      onProgress: (p) => {
        if (killing || p.table !== 'public.big' || p.bytesDone === 0) return;
        killing = (async () => {
          const rows = await target.sql<{ n: number }[]>`
            SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'mbsync sync lane%' AND state = 'active' AND query LIKE 'COPY %.big (%'`;
          killed = rows[0]!.n;
        })();
      },
    }).then(() => null, (e: unknown) => e);
    await killing;
    assert.equal(killed, 1, 'one lane was terminated mid-COPY');
    assert.ok(error instanceof DumpError, String(error));
    await assertUnchanged(target, before);
  });

  test('a failure in the final transaction (an event trigger refuses CREATE VIEW): target unchanged, no staging schema left', async () => {
    const source = await bigSource('par_final_src');
    const target = await fresh('par_final_dst');
    seedTarget(target);
    psqlText(target.url, `
      CREATE SCHEMA ops;
      CREATE FUNCTION ops.no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'views are refused here'; END $$;
      CREATE EVENT TRIGGER no_views ON ddl_command_end WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION ops.no_views();`);
    const before = await stateOf(target);
    const error = await parallelSync(source, target).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof DumpError && error.code === 'DUMP_IMPORT_FAILED', String(error));
    assert.match(error.message, /views are refused here/);
    await assertUnchanged(target, before);
  });

  test('cancel (AbortSignal) while the lanes copy: DUMP_CANCELLED, target unchanged, no staging schema left', async () => {
    const source = await bigSource('par_cancel_src');
    const target = await fresh('par_cancel_dst');
    seedTarget(target);
    const before = await stateOf(target);
    const controller = new AbortController();
    const error = await parallelSync(source, target, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.table === 'public.big' && p.bytesDone > 0) controller.abort();
      },
    }).then(() => null, (e: unknown) => e);
    assert.ok(controller.signal.aborted, 'the copy was under way when cancelled');
    assert.ok(error instanceof DumpError && error.code === 'DUMP_CANCELLED', String(error));
    await assertUnchanged(target, before);
  });

  test('a hook failure before any write (validation) leaves the target unchanged and creates no staging schema', async () => {
    const source = await bigSource('par_hook_src');
    const target = await fresh('par_hook_dst');
    seedTarget(target);
    const before = await stateOf(target);
    const refusal = new Error('refused by the schema check');
    const error = await parallelSync(source, target, { check: async () => { throw refusal; } }).then(() => null, (e: unknown) => e);
    assert.equal(error, refusal);
    await assertUnchanged(target, before);
  });

  test('a backup failure alongside the lanes fails the sync with its own error; target unchanged', async () => {
    const source = await bigSource('par_backup_src');
    const target = await fresh('par_backup_dst');
    seedTarget(target);
    const before = await stateOf(target);
    const refusal = new Error('backup disk full');
    const error = await parallelSync(source, target, { beside: async () => { throw refusal; } }).then(() => null, (e: unknown) => e);
    assert.equal(error, refusal);
    await assertUnchanged(target, before);
  });

  test('a staging schema left by a killed process is dropped by the next import (parallel or one-transaction)', async () => {
    const source = await bigSource('par_stale_src');
    const target = await fresh('par_stale_dst');
    psqlText(target.url, `CREATE SCHEMA mbsync_stage_deadbeef_1; CREATE TABLE mbsync_stage_deadbeef_1.big (id bigint); INSERT INTO mbsync_stage_deadbeef_1.big VALUES (1);`);
    await parallelSync(source, target);
    assert.deepEqual(await stagingSchemas(target), []);
    assert.deepEqual(await stateOf(target), await stateOf(source));

    psqlText(target.url, `CREATE SCHEMA mbsync_stage_deadbeef_2; CREATE TABLE mbsync_stage_deadbeef_2.t (id bigint);`);
    const dir = await mkdtemp(join(tmpdir(), 'mbsync-parallel-'));
    try {
      const file = join(dir, 'source.sql');
      await exportTo(source, file);
      await importFile(target, file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await stagingSchemas(target), []);
  });

  test('a second import into the same target while one holds the lock fails with DUMP_TARGET_BUSY and changes nothing', async () => {
    const source = await bigSource('par_busy_src');
    const target = await fresh('par_busy_dst');
    seedTarget(target);
    const before = await stateOf(target);
    const holder = postgres(target.url, { max: 1, onnotice: () => {} });
    try {
      await holder.begin(async (tx) => {
        await tx.unsafe(`SELECT pg_advisory_xact_lock(hashtext('multiboard-sync:import'))`);
        const error = await parallelSync(source, target).then(() => null, (e: unknown) => e);
        assert.ok(error instanceof DumpError && error.code === 'DUMP_TARGET_BUSY', String(error));
      });
    } finally {
      await holder.end({ timeout: 1 });
    }
    await assertUnchanged(target, before);
  });
});
