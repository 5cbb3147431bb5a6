import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { diffSchemas, introspect, readUncopied, type SchemaModel } from '@mbsync/schema-diff';
import { exportDatabase, renderSchema, STAGE_SCHEMA_PREFIX, type ParallelSyncResult } from '@mbsync/dump';
import { parallelSyncLikeARunner } from './support/parallel.js';
import { ADMIN_URL, createSupabaseDatabase, psqlText, scratchDatabases, type TestDatabase } from '@mbsync/testkit';
import { importFile, stateOf } from './support/databases.js';

const OWNER = 'mbsync_catalog_owner';

/**
 * One of every catalog object kind the model carries besides relations, types and routines, in a schema whose name
 * needs quoting and in public, used by columns, defaults, checks, indexes, a range type, a view and a generated
 * column, so that a copy that loses or reorders one fails.
 */
const SOURCE = `
  CREATE SCHEMA "Lib";
  CREATE COLLATION "Lib"."Nocase" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
  CREATE COLLATION public.posix_mixed (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
  COMMENT ON COLLATION "Lib"."Nocase" IS 'case-insensitive';
  CREATE TABLE public.people (id int PRIMARY KEY, email text COLLATE "Lib"."Nocase" UNIQUE, name text COLLATE public.posix_mixed);
  INSERT INTO public.people VALUES (1, 'Ada@Example.org', 'Ada'), (2, 'bob@example.org', 'bob'), (3, 'CAROL@example.org', 'Carol');

  CREATE TEXT SEARCH DICTIONARY "Lib".plain (TEMPLATE = simple, STOPWORDS = english);
  CREATE TEXT SEARCH CONFIGURATION public.docs_cfg (COPY = pg_catalog.english);
  ALTER TEXT SEARCH CONFIGURATION public.docs_cfg ALTER MAPPING FOR word, asciiword WITH "Lib".plain, english_stem;
  COMMENT ON TEXT SEARCH CONFIGURATION public.docs_cfg IS 'documents';
  CREATE TABLE public.docs (id int PRIMARY KEY, body text, tsv tsvector GENERATED ALWAYS AS (to_tsvector('public.docs_cfg'::regconfig, body)) STORED);
  CREATE INDEX docs_body ON public.docs USING gin (to_tsvector('public.docs_cfg'::regconfig, body));
  INSERT INTO public.docs (id, body) VALUES (1, 'The runners were running'), (2, 'Ducks and geese'), (3, repeat('long text ', 3000));
  ALTER TABLE public.docs ALTER COLUMN body SET COMPRESSION lz4;
  ALTER TABLE public.docs ALTER COLUMN body SET (n_distinct = -0.5);

  CREATE TYPE "Lib".cash AS (units bigint, cents int);
  CREATE FUNCTION "Lib".to_cash(numeric) RETURNS "Lib".cash LANGUAGE sql IMMUTABLE
    AS $$SELECT ROW(trunc($1)::bigint, ((($1 - trunc($1)) * 100))::int)::"Lib".cash$$;
  CREATE CAST (numeric AS "Lib".cash) WITH FUNCTION "Lib".to_cash(numeric) AS IMPLICIT;
  COMMENT ON CAST (numeric AS "Lib".cash) IS 'to cash';
  CREATE FUNCTION "Lib".approx(numeric, numeric) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT abs($1 - $2) < 0.01';
  CREATE OPERATOR "Lib".~= (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = "Lib".approx, COMMUTATOR = OPERATOR("Lib".~=));
  CREATE OPERATOR CLASS "Lib".num_ops FOR TYPE numeric USING btree AS OPERATOR 1 <, OPERATOR 3 =, OPERATOR 5 >, FUNCTION 1 numeric_cmp(numeric, numeric);
  CREATE TYPE public.numspan AS RANGE (subtype = numeric, subtype_opclass = "Lib".num_ops);
  CREATE TABLE public.prices (id int PRIMARY KEY, amount numeric CONSTRAINT not_zero CHECK (NOT amount OPERATOR("Lib".~=) 0),
    cash "Lib".cash DEFAULT 1.25, span public.numspan);
  CREATE INDEX prices_amount ON public.prices (amount "Lib".num_ops);
  INSERT INTO public.prices (id, amount, span) SELECT g, g * 1.5, public.numspan(g, g + 1) FROM generate_series(1, 20) g;
  UPDATE public.prices SET cash = amount WHERE id % 2 = 0;
  CREATE VIEW public.price_cash AS SELECT id, amount::"Lib".cash AS cash FROM public.prices;

  CREATE CONVERSION "Lib".win_to_utf8 FOR 'WIN1252' TO 'UTF8' FROM win_to_utf8;
  CREATE STATISTICS "Lib".people_stats (ndistinct) ON email, name FROM public.people;
  ALTER STATISTICS "Lib".people_stats SET STATISTICS 250;
  COMMENT ON STATISTICS "Lib".people_stats IS 'people';

  CREATE TYPE public.point3 AS (x int, y int, z int);
  CREATE TABLE public.points OF public.point3 (x WITH OPTIONS DEFAULT 0, z WITH OPTIONS NOT NULL, PRIMARY KEY (x, y, z));
  INSERT INTO public.points (y, z) SELECT g, g * 2 FROM generate_series(1, 10) g;

  ALTER COLLATION "Lib"."Nocase" OWNER TO ${OWNER};
  ALTER TEXT SEARCH CONFIGURATION public.docs_cfg OWNER TO ${OWNER};
  ALTER TEXT SEARCH DICTIONARY "Lib".plain OWNER TO ${OWNER};
  ALTER OPERATOR "Lib".~= (numeric, numeric) OWNER TO ${OWNER};
  ALTER OPERATOR CLASS "Lib".num_ops USING btree OWNER TO ${OWNER};
  ALTER OPERATOR FAMILY "Lib".num_ops USING btree OWNER TO ${OWNER};
  ALTER CONVERSION "Lib".win_to_utf8 OWNER TO ${OWNER};
  ALTER STATISTICS "Lib".people_stats OWNER TO ${OWNER};`;

/** What these objects do to values, run on both sides: a copy that differs in behaviour differs here. */
const BEHAVIOUR = [
  `SELECT id FROM public.people WHERE email = 'ADA@EXAMPLE.ORG'`,
  `SELECT array_agg(name ORDER BY name) FROM public.people`,
  `SELECT to_tsvector('public.docs_cfg', 'The runners and the ducks')::text`,
  `SELECT (2.345::numeric)::"Lib".cash::text`,
  `SELECT 1.004 OPERATOR("Lib".~=) 1.0, 1.1 OPERATOR("Lib".~=) 1.0`,
  `SELECT stxstattarget FROM pg_statistic_ext WHERE stxname = 'people_stats'`,
  `SELECT (SELECT attcompression FROM pg_attribute WHERE attrelid = 'public.docs'::regclass AND attname = 'body')::text`,
];

async function behaviour(db: TestDatabase): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const query of BEHAVIOUR) out.push(await db.sql.unsafe(query));
  return out;
}

describe('catalog objects: collations, text search, casts, operators, conversions, statistics, typed tables, compression, options', { timeout: 300_000 }, () => {
  let dir: string;
  const { fresh, track, dropAll } = scratchDatabases();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-catalog-'));
    // roles are cluster-wide: made once, never dropped (another run may be using it)
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`DO $$ BEGIN CREATE ROLE ${OWNER} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    } finally {
      await admin.end();
    }
  });
  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  async function parallel(source: TestDatabase, target: TestDatabase, jobs: number): Promise<ParallelSyncResult> {
    return parallelSyncLikeARunner(source, target, { jobs, owners: true });
  }

  async function assertSameCopy(source: TestDatabase, target: TestDatabase): Promise<void> {
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await behaviour(target), await behaviour(source));
    const [from, to] = await Promise.all([introspect(source.sql), introspect(target.sql)]);
    assert.deepEqual(diffSchemas(from, to, { owners: true }), [], 'every object, its comment and its owner');
  }

  test('parallel sync (staged beside the live schemas, no fallback) with owners, and again over the copy: identical', async () => {
    const source = await fresh('cat_src');
    psqlText(source.url, SOURCE);
    const target = await fresh('cat_dst');
    const first = await parallel(source, target, 2);
    assert.equal(first.fallback, undefined, 'built under the staging names');
    assert.ok(first.staged.includes('public.people') && first.staged.includes('public.points'), first.staged.join(', '));
    await assertSameCopy(source, target);
    const [owner] = await target.sql<{ owner: string }[]>`SELECT pg_get_userbyid(collowner) AS owner FROM pg_collation WHERE collname = 'Nocase'`;
    assert.equal(owner?.owner, OWNER);

    // replacing a copy that holds the same objects: the casts on its types go with the replaced schemas
    psqlText(source.url, `INSERT INTO public.people VALUES (4, 'dave@example.org', 'Dave');`);
    const second = await parallel(source, target, 3);
    assert.equal(second.fallback, undefined);
    await assertSameCopy(source, target);
    const staging = await target.sql`SELECT nspname FROM pg_namespace WHERE nspname LIKE ${`${STAGE_SCHEMA_PREFIX}%`}`;
    assert.equal(staging.length, 0);
  });

  test('one transaction from a dump file (without owners): identical under pg_dump and value by value', async () => {
    const source = await fresh('cat_file_src');
    psqlText(source.url, SOURCE);
    const file = join(dir, 'catalog.sql');
    await exportDatabase({ sql: source.sql, sourceName: 'src', out: file });
    const target = await fresh('cat_file_dst');
    psqlText(target.url, `CREATE SCHEMA "Lib"; CREATE TABLE "Lib".old (x int); INSERT INTO "Lib".old VALUES (1);`);
    await importFile(target, file);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.deepEqual(await behaviour(target), await behaviour(source));
  });

  test('a cast between two built-in types through a copied function: a fresh target is staged; over an existing copy the build falls back to one transaction', async () => {
    const source = await fresh('cat_cast_src');
    psqlText(source.url, `
      CREATE FUNCTION public.mac_bits(macaddr) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$SELECT ('x' || lpad(replace($1::text, ':', ''), 16, '0'))::bit(64)::bigint$$;
      CREATE CAST (macaddr AS bigint) WITH FUNCTION public.mac_bits(macaddr);
      CREATE TABLE public.nics (id int PRIMARY KEY, mac macaddr, bits bigint GENERATED ALWAYS AS (mac::bigint) STORED);
      INSERT INTO public.nics (id, mac) VALUES (1, '08:00:2b:01:02:03'), (2, 'ff:ff:ff:ff:ff:ff');`);
    const target = await fresh('cat_cast_dst');
    const first = await parallel(source, target, 2);
    assert.equal(first.fallback, undefined);
    assert.deepEqual(await stateOf(target), await stateOf(source));
    // the live cast (macaddr AS bigint) exists while the replacement is built beside it: CREATE CAST is refused there
    const second = await parallel(source, target, 2);
    assert.match(second.fallback ?? '', /cast from type macaddr to type bigint already exists/);
    assert.deepEqual(await stateOf(target), await stateOf(source));
  });

  test('dependency order: collation before the column, operator class before the range type and the index, configuration before the generated column, function before the cast', async () => {
    const source = await fresh('cat_order');
    psqlText(source.url, SOURCE);
    const model = await introspect(source.sql);
    const rendered = renderSchema(model);
    const position = (pattern: RegExp, list = rendered.preData) => {
      const i = list.findIndex((s) => pattern.test(s));
      assert.ok(i >= 0, `a statement matches ${pattern}`);
      return i;
    };
    assert.ok(position(/^CREATE COLLATION "Lib"\."Nocase"/) < position(/^CREATE TABLE public\.people/));
    assert.ok(position(/^CREATE OPERATOR FAMILY "Lib"\.num_ops/) < position(/^CREATE OPERATOR CLASS "Lib"\.num_ops/));
    assert.ok(position(/^CREATE OPERATOR CLASS "Lib"\.num_ops/) < position(/^CREATE TYPE public\.numspan AS RANGE/));
    assert.ok(position(/^CREATE TEXT SEARCH DICTIONARY "Lib"\.plain/) < position(/^CREATE TEXT SEARCH CONFIGURATION public\.docs_cfg/));
    assert.ok(position(/ADD MAPPING FOR word WITH "Lib"\.plain, english_stem;$/) < position(/^CREATE TABLE public\.docs/));
    assert.ok(position(/^CREATE OR REPLACE FUNCTION "Lib"\.to_cash/) < position(/^CREATE CAST \(numeric AS "Lib"\.cash\)/));
    assert.ok(position(/^CREATE CAST \(numeric AS "Lib"\.cash\)/) < position(/^CREATE TABLE public\.prices/));
    assert.ok(position(/^CREATE OR REPLACE FUNCTION "Lib"\.approx/) < position(/^CREATE OPERATOR "Lib"\.~=/));
    assert.ok(position(/^CREATE OPERATOR "Lib"\.~=/) < position(/^CREATE TABLE public\.prices/));
    // indexes and statistics come after the data, the typed table before it
    // (the primary key made every column NOT NULL)
    assert.ok(position(/^CREATE TABLE public\.points OF public\.point3 \(\n {4}x WITH OPTIONS DEFAULT 0 NOT NULL,\n {4}y WITH OPTIONS NOT NULL,\n {4}z WITH OPTIONS NOT NULL\n\);$/) >= 0);
    assert.ok(position(/^CREATE STATISTICS "Lib"\.people_stats/, rendered.postData) < position(/^ALTER STATISTICS "Lib"\.people_stats SET STATISTICS 250;$/, rendered.postData));
    assert.ok(position(/^ALTER TABLE ONLY public\.docs ALTER COLUMN body SET COMPRESSION lz4;$/) > position(/^CREATE TABLE public\.docs/));
    // the server's own pg_attver option is neither read nor written
    assert.ok(rendered.preData.includes('ALTER TABLE ONLY public.docs ALTER COLUMN body SET (n_distinct=-0.5);'));
    assert.ok(![...rendered.preData, ...rendered.postData].some((s) => /pg_attver/.test(s)));
    // owners only when asked
    assert.ok(!rendered.postData.some((s) => /^ALTER COLLATION .* OWNER TO/.test(s)));
    assert.ok(renderSchema(model, { owners: true }).postData.includes(`ALTER COLLATION "Lib"."Nocase" OWNER TO ${OWNER};`));
  });

  test('a model without the catalog object lists (a manifest written before they were carried) renders as with empty ones', async () => {
    const source = await fresh('cat_old_manifest');
    psqlText(source.url, `CREATE TABLE public.t (id int PRIMARY KEY, note text); COMMENT ON TABLE public.t IS 't';`);
    const model = await introspect(source.sql);
    const old = Object.fromEntries(Object.entries(model).filter(([key]) => ![
      'collations', 'textSearchParsers', 'textSearchTemplates', 'textSearchDictionaries', 'textSearchConfigurations', 'casts', 'operators',
      'operatorFamilies', 'operatorClasses', 'conversions', 'statistics',
    ].includes(key))) as unknown as SchemaModel;
    assert.equal(old.collations, undefined);
    assert.deepEqual(renderSchema(old, { owners: true }), renderSchema(model, { owners: true }));
    assert.deepEqual(diffSchemas(old, model), []);
  });

  test('the Supabase-shaped fixture: its text search configuration, statistics, compression, attribute options and typed table are rendered, none is refused', async () => {
    const source = track(await createSupabaseDatabase('cat_supabase'));
    const model = await source.sql.begin('isolation level repeatable read read only', (tx) => introspect(tx));
    const statements = (({ preData, postData }) => [...preData, ...postData])(renderSchema(model, { owners: true }));
    const has = (pattern: RegExp) => assert.ok(statements.some((s) => pattern.test(s)), `rendered: ${pattern}`);
    has(/^CREATE TEXT SEARCH CONFIGURATION public\.multiboard \(\n {4}PARSER = pg_catalog\."default"\n\);$/);
    has(/^ALTER TEXT SEARCH CONFIGURATION public\.multiboard\n {4}ADD MAPPING FOR asciiword WITH english_stem;$/);
    has(/^COMMENT ON TEXT SEARCH CONFIGURATION public\.multiboard IS 'component search \(english stemming\)';$/);
    has(/^CREATE STATISTICS public\.parts_material_minutes \(ndistinct, dependencies\) ON material, print_minutes FROM public\.parts;$/);
    has(/^COMMENT ON STATISTICS public\.parts_material_minutes IS /);
    has(/^ALTER TABLE ONLY public\.component_files ALTER COLUMN content SET COMPRESSION pglz;$/);
    has(/^ALTER TABLE ONLY public\.parts ALTER COLUMN material SET \(n_distinct=40\);$/);
    has(/^CREATE TABLE public\.standard_sizes OF public\.bin_size\b/);
    const uncopied = await source.sql.begin('isolation level repeatable read read only', (tx) => readUncopied(tx, model.schemas.map((s) => s.name), { databaseWide: false, privileges: false }));
    const kinds = new Set(uncopied.map((u) => u.kind));
    for (const kind of ['TEXT SEARCH CONFIGURATION', 'STATISTICS', 'COLUMN COMPRESSION', 'COLUMN OPTIONS', 'TABLE OF TYPE']) assert.ok(!kinds.has(kind), `${kind} is not refused: ${JSON.stringify(uncopied)}`);
  });
});
