import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createDatabase, psqlFile, psqlText } from '@mbsync/testkit';
import type { TestDatabase } from '@mbsync/testkit';
import { introspect, MANAGED_SCHEMAS, objectKey, SchemaDiffError } from '../src/index.js';
import type { SchemaModel } from '../src/index.js';

const TRICKY = fileURLToPath(new URL('../../../test/fixtures/tricky/', import.meta.url));
const PAGILA = '/work/shared/peers/pagila';

let db: TestDatabase;
let model: SchemaModel;

before(async () => {
  db = await createDatabase('introspect');
  psqlFile(db.url, join(TRICKY, 'schema.sql'));
  psqlFile(db.url, join(TRICKY, 'data.sql'));
  // Supabase-managed schemas with tables: left out unless asked for
  psqlText(db.url, 'CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY); CREATE SCHEMA storage; CREATE TABLE storage.objects (id int);');
  model = await introspect(db.sql);
});
after(async () => { await db?.drop(); });

const table = (m: SchemaModel, schema: string, name: string) => {
  const t = m.tables.find((x) => x.schema === schema && x.name === name);
  assert.ok(t, `${schema}.${name} is in the model`);
  return t;
};

test('the model is deterministic and survives JSON', async () => {
  assert.deepEqual(await introspect(db.sql), model);
  assert.deepEqual(JSON.parse(JSON.stringify(model)), model);
  assert.equal(model.formatVersion, 1);
  assert.ok(model.serverVersionNum >= 120000);
});

test('every schema but the system ones is read by default, as pg_dump does (Supabase\'s auth and storage included); a selection narrows it', async () => {
  assert.ok(MANAGED_SCHEMAS.includes('auth') && MANAGED_SCHEMAS.includes('storage'));
  const schemas = model.schemas.map((s) => s.name);
  assert.deepEqual(schemas, ['Mixed Case', 'app', 'audit', 'auth', 'public', 'storage']);
  assert.ok(model.tables.some((t) => t.schema === 'auth' && t.name === 'users'));
  const auth = await introspect(db.sql, { schemas: ['auth'] });
  assert.deepEqual(auth.tables.map((t) => `${t.schema}.${t.name}`), ['auth.users']);
  // a replacement being built by an import into this database is never part of it
  await db.sql.unsafe('CREATE SCHEMA mbsync_stage_0000_1');
  try {
    assert.ok(!(await introspect(db.sql)).schemas.some((s) => s.name.startsWith('mbsync_stage_')));
  } finally {
    await db.sql.unsafe('DROP SCHEMA mbsync_stage_0000_1');
  }
});

test('schemas, excludeSchemas and excludeTables narrow the model', async () => {
  const only = await introspect(db.sql, { schemas: ['audit'] });
  assert.deepEqual(only.tables.map((t) => t.name), ['log', 'log_special']);
  assert.deepEqual(only.routines, []);
  const without = await introspect(db.sql, { excludeSchemas: ['audit', 'Mixed Case', 'auth', 'storage'], excludeTables: ['app.scratch'] });
  assert.deepEqual(without.schemas.map((s) => s.name), ['app', 'public']);
  assert.ok(!without.tables.some((t) => t.name === 'scratch'));
  await assert.rejects(introspect(db.sql, { schemas: ['no_such_schema'] }), (e: unknown) => e instanceof SchemaDiffError && e.code === 'SCHEMA_DIFF_INVALID_OPTIONS');
});

test('extension members are not part of the model', () => {
  assert.deepEqual(model.extensions.map((x) => `${x.name}@${x.schema}`), ['citext@public', 'hstore@public']);
  assert.ok(!model.routines.some((r) => r.name.startsWith('citext') || r.name.startsWith('hstore')), 'extension functions');
  assert.ok(!model.tables.some((t) => t.schema === 'public'), 'no public tables in the fixture');
  // implicit range constructors are not routines of their own either
  assert.ok(!model.routines.some((r) => r.name === 'floatrange' || r.name === 'floatmultirange'));
});

test('enum labels come in sort order, not creation order', () => {
  const mood = model.enums.find((e) => e.name === 'mood');
  assert.deepEqual(mood?.labels, ['sad', 'meh', 'ok', 'happy', 'ecstatic']);
});

test('columns: dropped ones absent, generated and identity flagged, positions kept', () => {
  const customers = table(model, 'app', 'customers');
  const names = customers.columns.map((c) => c.name);
  assert.ok(!names.includes('to_drop') && !names.some((n) => n.includes('pg.dropped')));
  const col = (n: string) => customers.columns.find((c) => c.name === n)!;
  assert.equal(col('name_upper').generated, 'upper(name)');
  assert.equal(col('name_upper').default, undefined);
  assert.equal(col('id').identity, 'always');
  assert.equal(col('id').identitySequence?.start, '100');
  assert.equal(col('id').identitySequence?.increment, '5');
  assert.equal(col('after_drop').identity, 'by default');
  assert.ok(col('after_drop').position > col('updated_at').position + 1, 'the dropped column left a gap');
  assert.equal(col('name').collation, 'pg_catalog."POSIX"');
  assert.equal(col('email').statistics, 500);
  // identity sequences belong to their column, not to the sequence list
  assert.ok(!model.sequences.some((s) => s.name.startsWith('customers_')));
  const serial = model.sequences.find((s) => s.name === 'orders_id_seq');
  assert.deepEqual(serial?.ownedBy, { schema: 'app', table: 'orders', column: 'id' });
  const countdown = model.sequences.find((s) => s.name === 'countdown');
  assert.deepEqual([countdown?.increment, countdown?.minValue, countdown?.cycle, countdown?.dataType], ['-2', '-100', true, 'integer']);
});

test('tables carry sizes, partitions, constraints and security', () => {
  assert.ok(table(model, 'app', 'values').estimatedBytes > 0);
  const events = table(model, 'app', 'events');
  assert.equal(events.kind, 'partitioned');
  assert.equal(events.partitionKey, 'RANGE (at)');
  assert.deepEqual(table(model, 'app', 'events_other').partitionOf, { schema: 'app', name: 'events' });
  assert.equal(table(model, 'app', 'events_other').partitionBound, 'DEFAULT');
  assert.equal(table(model, 'app', 'scratch').persistence, 'unlogged');
  const docs = table(model, 'app', 'documents');
  assert.equal(docs.rlsEnabled && docs.rlsForced, true);
  assert.deepEqual(docs.policies.map((p) => [p.name, p.permissive, p.command]),
    [['documents_no_delete', false, 'DELETE'], ['documents_owner', true, 'ALL'], ['documents_published', true, 'SELECT']]);
  const check = table(model, 'app', 'customers').constraints.find((c) => c.name === 'customers_name_check');
  assert.equal(check?.validated, false);
});

test('dependencies come from pg_depend, keyed by names', () => {
  const edge = (from: string, to: string) => model.dependencies.some((e) => e.from === from && e.to === to);
  assert.ok(edge(objectKey('relation', 'app', 'happy_customers'), objectKey('relation', 'app', 'customer_names')));
  assert.ok(edge(objectKey('relation', 'app', 'customers'), objectKey('type', 'app', 'mood')));
  assert.ok(edge(objectKey('relation', 'app', 'order_totals'), objectKey('constraint', 'app', 'customers', 'customers_pkey')));
  assert.ok(edge(objectKey('function', 'app', 'customer_count', ''), objectKey('relation', 'app', 'customers')));
  assert.ok(!model.dependencies.some((e) => e.from.includes('oid') || /\d{5}/.test(e.to)));
});

test('pagila introspects (domains, aggregate, partitions, views)', async () => {
  const pagila = await createDatabase('introspect_pagila');
  try {
    psqlFile(pagila.url, join(PAGILA, 'pagila-schema.sql'));
    const m = await introspect(pagila.sql);
    assert.ok(m.tables.length >= 20);
    assert.ok(m.routines.some((r) => r.kind === 'aggregate' && r.name === 'group_concat'));
    assert.ok(m.views.length >= 7);
  } finally {
    await pagila.drop();
  }
});

test('introspection costs the same number of queries for 10 tables as for 500 (no per-table round trips)', async () => {
  const small = await createDatabase('introspect_small');
  const big = await createDatabase('introspect_big');
  try {
    const ddl = (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i += 1) {
        out.push(`CREATE TABLE t${i} (id serial PRIMARY KEY, name text NOT NULL DEFAULT '', ref integer${i > 0 ? ` REFERENCES t${i - 1}(id)` : ''}, at timestamptz);`,
          `CREATE INDEX t${i}_name_idx ON t${i} (name); COMMENT ON TABLE t${i} IS 'table ${i}';`);
      }
      return out.join('\n');
    };
    psqlText(small.url, ddl(10));
    psqlText(big.url, ddl(500));
    // every statement the driver sends is counted (postgres.js calls `debug` once per query)
    const queriesFor = async (db: TestDatabase, tables: number) => {
      let queries = 0;
      const sql = postgres(db.url, { max: 1, onnotice: () => {}, debug: () => void queries++ });
      try {
        const m = await introspect(sql);
        assert.equal(m.tables.length, tables);
        return queries;
      } finally {
        await sql.end();
      }
    };
    const forSmall = await queriesFor(small, 10);
    const forBig = await queriesFor(big, 500);
    assert.equal(forBig, forSmall, `10 tables: ${forSmall} queries, 500 tables: ${forBig}`);
  } finally {
    await Promise.all([small.drop(), big.drop()]);
  }
});

test('an invalid index (a failed CREATE INDEX CONCURRENTLY) is not in the model, so diff never reports it', async (t) => {
  const other = await createDatabase('introspect_invalid');
  t.after(() => other.drop());
  const ddl = 'CREATE TABLE public.t (id int PRIMARY KEY, v int); INSERT INTO public.t SELECT g, g % 3 FROM generate_series(1, 30) g;';
  await other.sql.unsafe(ddl);
  const clean = await introspect(other.sql);
  await assert.rejects(other.sql.unsafe('CREATE UNIQUE INDEX CONCURRENTLY t_v ON public.t (v)'), /could not create unique index/);
  const [index] = await other.sql<[{ valid: boolean }]>`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.t_v'::regclass`;
  assert.equal(index.valid, false);
  const withInvalid = await introspect(other.sql);
  assert.deepEqual(table(withInvalid, 'public', 't').indexes.map((i) => i.name), ['t_pkey']);
  assert.deepEqual(withInvalid, clean);
});
