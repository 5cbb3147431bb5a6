import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDatabase, psqlText, type TestDatabase } from '@mbsync/testkit';
import {
  catalogObjectKeys, diffSchemas, introspect, judgeImport, modelNodes, predictDependents, readDependents, readUncopied, renderReport, type SchemaModel,
} from '../src/index.js';

/** Catalog objects in two schemas, one of them outside the selection in some tests, and a cast between built-in types. */
const SOURCE = `
  CREATE SCHEMA lib; CREATE SCHEMA other;
  CREATE COLLATION lib.bytes (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
  CREATE TABLE public.t (id int PRIMARY KEY, name text COLLATE lib.bytes, body text COMPRESSION pglz, n int);
  ALTER TABLE public.t ALTER COLUMN n SET (n_distinct = 5, n_distinct_inherited = -0.5);
  CREATE TYPE public.pt AS (a int, b text);
  CREATE TABLE public.typed OF public.pt (a WITH OPTIONS NOT NULL DEFAULT 7);

  CREATE FUNCTION lib.rev(int, int) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS 'SELECT btint4cmp($2, $1)';
  CREATE OPERATOR FAMILY lib.rev_ops USING btree;
  CREATE OPERATOR CLASS lib.int4_rev FOR TYPE int4 USING btree FAMILY lib.rev_ops AS
    OPERATOR 1 >, OPERATOR 3 =, OPERATOR 5 <, FUNCTION 1 lib.rev(int, int);
  ALTER OPERATOR FAMILY lib.rev_ops USING btree ADD OPERATOR 3 = (int4, int8), FUNCTION 1 (int4, int8) btint48cmp(int4, int8);
  CREATE TYPE public.span AS RANGE (subtype = int4, subtype_opclass = lib.int4_rev);

  CREATE FUNCTION lib.approx(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT abs($1 - $2) < 2';
  CREATE OPERATOR lib.~= (LEFTARG = int, RIGHTARG = int, FUNCTION = lib.approx, COMMUTATOR = OPERATOR(lib.~=), NEGATOR = OPERATOR(lib.!~=));
  CREATE VIEW public.near AS SELECT id FROM public.t WHERE n OPERATOR(lib.~=) 10;

  CREATE TEXT SEARCH CONFIGURATION lib.cfg (COPY = pg_catalog.simple);
  CREATE TABLE public.docs (id int, tsv tsvector GENERATED ALWAYS AS (to_tsvector('lib.cfg'::regconfig, 'x')) STORED);

  CREATE TYPE other.money2 AS (units bigint);
  CREATE FUNCTION lib.to_money2(bigint) RETURNS other.money2 LANGUAGE sql IMMUTABLE AS 'SELECT ROW($1)::other.money2';
  CREATE CAST (bigint AS other.money2) WITH FUNCTION lib.to_money2(bigint);
  CREATE CAST (macaddr AS bigint) WITH INOUT;
  CREATE STATISTICS other.t_stats ON id, n FROM public.t;`;

describe('catalog objects in the model', () => {
  let db: TestDatabase;
  let model: SchemaModel;

  before(async () => {
    db = await createDatabase('catalog_model');
    psqlText(db.url, SOURCE);
    model = await introspect(db.sql);
  });
  after(async () => {
    await db?.drop();
  });

  test('deterministic, survives JSON, and the server\'s own pg_* attribute options are left out', async () => {
    assert.deepEqual(await introspect(db.sql), model);
    assert.deepEqual(JSON.parse(JSON.stringify(model)), model);
    const [raw] = await db.sql<{ options: string[] }[]>`SELECT attoptions AS options FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'n'`;
    const t = model.tables.find((x) => x.name === 't')!;
    const column = (name: string) => t.columns.find((c) => c.name === name)!;
    assert.deepEqual(column('n').options, raw!.options.filter((o) => !o.startsWith('pg_')));
    assert.deepEqual(column('n').options, ['n_distinct=5', 'n_distinct_inherited=-0.5']);
    assert.equal(column('body').compression, 'pglz');
    assert.equal(column('id').options, undefined, 'a column with only the server\'s options has none');
    assert.equal(model.tables.find((x) => x.name === 'typed')?.ofType, 'public.pt');
  });

  test('collations in their provider\'s terms; a class\'s members apart from its family\'s loose ones', () => {
    assert.deepEqual(model.collations, [{ schema: 'lib', name: 'bytes', owner: 'postgres', provider: 'libc', deterministic: true, lcCollate: 'C', lcCtype: 'POSIX' }]);
    const family = model.operatorFamilies?.find((f) => f.name === 'rev_ops');
    assert.deepEqual(family?.operators, [{ strategy: 3, operator: '=(integer,bigint)' }]);
    assert.deepEqual(family?.functions, [{ number: 1, leftType: 'integer', rightType: 'bigint', function: 'btint48cmp(integer,bigint)' }]);
    const cls = model.operatorClasses?.find((c) => c.name === 'int4_rev');
    assert.equal(cls?.family, 'lib.rev_ops');
    assert.deepEqual(cls?.operators.map((o) => `${o.strategy} ${o.operator}`), ['1 >(integer,integer)', '3 =(integer,integer)', '5 <(integer,integer)']);
    assert.deepEqual(cls?.functions.map((f) => f.function), ['lib.rev(integer,integer)']);
    // the negator was never defined: a shell, left out as pg_dump does (the CREATE OPERATOR naming it makes it again)
    assert.deepEqual(model.operators?.map((o) => `${o.schema}.${o.name} ${o.negator ?? ''}`), ['lib.~= lib.!~=']);
  });

  test('a cast is carried when its function or one of its types is copied; casts between types outside are not', async () => {
    assert.deepEqual(model.casts?.map((c) => `${c.source} → ${c.target} ${c.method} [${c.schemas.join(', ')}]`), ['bigint → other.money2 function [lib, other]']);
    const onlyOther = await introspect(db.sql, { schemas: ['other'] });
    assert.deepEqual(onlyOther.casts?.map((c) => c.schemas), [['other']], 'still carried through its target type');
    const onlyPublic = await introspect(db.sql, { schemas: ['public'] });
    assert.deepEqual(onlyPublic.casts, []);
    // statistics go with their table and their own schema: both must be copied
    assert.deepEqual(model.statistics?.map((s) => s.name), ['t_stats']);
    assert.deepEqual(onlyPublic.statistics, []);
    assert.deepEqual(onlyOther.statistics, []);
  });

  test('the dependency graph orders them: collation, operator class and family, operator, text search configuration, cast', () => {
    const nodes = modelNodes(model);
    for (const key of catalogObjectKeys(model)) assert.ok(nodes.has(key), key);
    const edges = new Set(model.dependencies.map((e) => `${e.from} -> ${e.to}`));
    for (const edge of [
      'relation:"public"."t" -> collation:"lib"."bytes"',
      'type:"public"."span" -> operator-class:"lib"."int4_rev"(btree)',
      'operator-class:"lib"."int4_rev"(btree) -> operator-family:"lib"."rev_ops"(btree)',
      'operator-class:"lib"."int4_rev"(btree) -> function:"lib"."rev"(integer, integer)',
      'operator:"lib"."~="(integer, integer) -> function:"lib"."approx"(integer, integer)',
      'relation:"public"."near" -> operator:"lib"."~="(integer, integer)',
      'relation:"public"."docs" -> ts-configuration:"lib"."cfg"',
      'cast:"bigint"."other.money2" -> function:"lib"."to_money2"(bigint)',
      'cast:"bigint"."other.money2" -> type:"other"."money2"',
      'relation:"public"."typed" -> type:"public"."pt"',
    ]) assert.ok(edges.has(edge), `edge ${edge}`);
  });

  test('the census refuses only what the model cannot carry', async () => {
    const uncopied = await db.sql.begin('isolation level repeatable read read only', (tx) => readUncopied(tx, ['lib', 'public'], { databaseWide: true, privileges: false }));
    assert.deepEqual(uncopied.map((u) => `${u.kind}: ${u.description}`), [
      'CAST: cast from macaddr to bigint',
      'STATISTICS: statistics object other.t_stats on public.t (the object and its table must both be copied)',
    ]);
  });

  test('outside the replaced schemas: a view using their operator and collation comes back; a cast on their type is the replace\'s own', async () => {
    psqlText(db.url, `CREATE SCHEMA reporting;
      CREATE VIEW reporting.close AS SELECT id, name COLLATE lib.bytes AS name FROM public.t WHERE n OPERATOR(lib.~=) 3;`);
    try {
      const dependents = await readDependents(db.sql, ['lib', 'other', 'public']);
      const view = dependents.find((d) => d.description === 'view reporting.close');
      assert.ok(view?.needs.includes('operator:lib.~=(integer,integer)') && view.needs.includes('collation:lib.bytes'), JSON.stringify(view?.needs));
      assert.deepEqual(predictDependents(dependents, model).map((f) => `${f.dependent.description}: ${f.recreated}`), ['view reporting.close: true']);
      // the cast from bigint to other.money2 goes with its type and function, and the dump brings it back
      assert.ok(!dependents.some((d) => /^cast /.test(d.description)));
    } finally {
      psqlText(db.url, 'DROP SCHEMA reporting CASCADE;');
    }
  });

  test('the diff catches a missing object of each kind, and the report names it', async () => {
    const target = await createDatabase('catalog_model_dst');
    try {
      psqlText(target.url, SOURCE);
      const copy = await introspect(target.sql);
      assert.deepEqual(diffSchemas(model, copy, { owners: true }), []);
      psqlText(target.url, `DROP STATISTICS other.t_stats; DROP CAST (bigint AS other.money2); ALTER TABLE public.t ALTER COLUMN body SET COMPRESSION DEFAULT;
        ALTER OPERATOR FAMILY lib.rev_ops USING btree DROP OPERATOR 3 (int4, int8); DROP TEXT SEARCH CONFIGURATION lib.cfg CASCADE;`);
      const changes = diffSchemas(model, await introspect(target.sql));
      const named = changes.map((c) => `${c.kind} ${c.objectType} ${c.name}`);
      for (const expected of ['removed statistics other.t_stats', 'removed cast (bigint AS other.money2)', 'changed column public.t.body',
        'changed operator family lib.rev_ops USING btree', 'removed text search configuration lib.cfg']) {
        assert.ok(named.includes(expected), `${expected} in ${named.join('; ')}`);
      }
      const report = renderReport(changes, judgeImport(changes));
      assert.match(report, /- statistics +other\.t_stats/);
      assert.match(report, /- cast +\(bigint AS other\.money2\)/);
      assert.match(report, /compression pglz → none/);
    } finally {
      await target.drop();
    }
  });
});
