import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type postgres from 'postgres';
import { introspect } from '@mbsync/schema-diff';
import { createDatabase, pgDumpSchema, psqlFile, psqlText, snapshotDatabase } from '@mbsync/testkit';
import type { TestDatabase } from '@mbsync/testkit';
import { qualify, quoteIdent, renderSchema } from '../src/ddl.js';
import type { RenderOptions, RenderedSchema } from '../src/ddl.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TRICKY = join(ROOT, 'test/fixtures/tricky');
const PAGILA = '/work/shared/peers/pagila';

// pg_dump's session preamble; the exporter writes the same.
const HEADER = [
  'SET statement_timeout = 0;', 'SET lock_timeout = 0;', 'SET idle_in_transaction_session_timeout = 0;',
  "SET client_encoding = 'UTF8';", 'SET standard_conforming_strings = on;',
  "SELECT pg_catalog.set_config('search_path', '', false);", 'SET check_function_bodies = false;',
  'SET xmloption = content;', 'SET client_min_messages = warning;', 'SET row_security = off;',
];

const SNAPSHOT_SETTINGS = [
  "SET DateStyle = 'ISO'", "SET IntervalStyle = 'postgres'", 'SET extra_float_digits = 3',
  "SELECT pg_catalog.set_config('search_path', '', true)", 'SET row_security = off',
];

/**
 * Writes a dump file the way the exporter does (minimal local stand-in for packages/dump/src/export.ts):
 * one REPEATABLE READ READ ONLY snapshot, DDL from introspect + renderSchema, COPY text straight from the server.
 */
async function exportToFile(sql: postgres.Sql, file: string, options: RenderOptions = {}): Promise<RenderedSchema> {
  const out = createWriteStream(file);
  const write = async (text: string | Buffer) => { if (!out.write(text)) await once(out, 'drain'); };
  const rendered = await sql.begin('isolation level repeatable read read only', async (tx) => {
    for (const s of SNAPSHOT_SETTINGS) await tx.unsafe(s);
    const model = await introspect(tx);
    const r = renderSchema(model, options);
    await write(`${HEADER.join('\n')}\n\n`);
    for (const s of r.preData) await write(`${s}\n\n`);
    for (const t of r.dataTables) {
      const cols = t.columns.length ? ` (${t.columns.map(quoteIdent).join(', ')})` : '';
      await write(`COPY ${qualify(t.schema, t.name)}${cols} FROM stdin;\n`);
      const stream = await tx.unsafe(`COPY ${qualify(t.schema, t.name)}${cols} TO STDOUT`).readable();
      for await (const chunk of stream) await write(chunk as Buffer);
      // postgres.js 3.4 pauses its socket when a COPY chunk meets backpressure and only the stream's read()
      // resumes it; when that chunk was the last one the stream has ended, so nothing would: resume by hand.
      (stream as unknown as { _read(size: number): void })._read(0);
      await write('\\.\n\n');
    }
    for (const s of r.sequences) {
      const name = qualify(s.schema, s.name);
      const [row] = await tx.unsafe(`SELECT last_value::text AS v, is_called AS c FROM ${name}`);
      await write(`SELECT pg_catalog.setval('${name.replace(/'/g, "''")}', ${row?.v}, ${row?.c});\n`);
    }
    await write('\n');
    for (const s of [...r.postData, ...r.refreshMaterializedViews]) await write(`${s}\n\n`);
    return r;
  });
  out.end();
  await once(out, 'close');
  return rendered;
}

async function withDatabases(prefix: string, run: (source: TestDatabase, copy: TestDatabase, dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'mbsync-ddl-'));
  const source = await createDatabase(`${prefix}_src`);
  const copy = await createDatabase(`${prefix}_copy`).catch(async (e) => { await source.drop(); throw e; });
  try {
    await run(source, copy, dir);
  } finally {
    await Promise.allSettled([source.drop(), copy.drop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function assertRoundTrip(source: TestDatabase, copy: TestDatabase, dir: string): Promise<RenderedSchema> {
  const file = join(dir, 'dump.sql');
  const rendered = await exportToFile(source.sql, file);
  const keep = process.env.DDL_TEST_KEEP; // a directory: keep the dump and both schema dumps there to diff
  if (keep) copyFileSync(file, join(keep, 'dump.sql'));
  psqlFile(copy.url, file);
  const [expected, actual] = [pgDumpSchema(source.url), pgDumpSchema(copy.url)];
  if (keep) { writeFileSync(join(keep, 'source.sql'), expected); writeFileSync(join(keep, 'copy.sql'), actual); }
  assert.equal(actual, expected);
  assert.deepEqual(await snapshotDatabase(copy.sql), await snapshotDatabase(source.sql));
  return rendered;
}

test('tricky fixture: schema and data round-trip exactly', async () => {
  await withDatabases('ddl_tricky', async (source, copy, dir) => {
    psqlFile(source.url, join(TRICKY, 'schema.sql'));
    psqlFile(source.url, join(TRICKY, 'data.sql'));
    const rendered = await assertRoundTrip(source, copy, dir);
    const names = rendered.dataTables.map((t) => `${t.schema}.${t.name}`);
    assert.ok(!names.includes('app.events'), 'a partitioned parent has no rows of its own');
    assert.ok(names.includes('app.events_2024'), 'leaf partitions are copied');
  });
});

test('pagila: schema and data round-trip exactly', async () => {
  await withDatabases('ddl_pagila', async (source, copy, dir) => {
    psqlFile(source.url, join(PAGILA, 'pagila-schema.sql'));
    psqlFile(source.url, join(PAGILA, 'pagila-data.sql'));
    await assertRoundTrip(source, copy, dir);
  });
});

test('owners and privileges: ALTER … OWNER TO and GRANTs rebuild the ACLs', async () => {
  await withDatabases('ddl_acl', async (source, copy, dir) => {
    psqlText(source.url, `
      CREATE SCHEMA s;
      CREATE TABLE s.t (id integer PRIMARY KEY, secret text);
      CREATE VIEW s.v AS SELECT id FROM s.t;
      CREATE SEQUENCE s.q;
      CREATE FUNCTION s.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
      GRANT USAGE ON SCHEMA s TO pg_read_all_data;
      GRANT SELECT, INSERT ON s.t TO pg_read_all_data WITH GRANT OPTION;
      GRANT UPDATE (secret) ON s.t TO pg_write_all_data;
      GRANT SELECT ON s.v TO PUBLIC;
      GRANT USAGE ON SEQUENCE s.q TO pg_write_all_data;
      REVOKE EXECUTE ON FUNCTION s.f() FROM PUBLIC;`);
    const plain = renderSchema(await introspect(source.sql));
    assert.ok(!plain.postData.some((s) => /OWNER TO|GRANT|REVOKE/.test(s)), 'off by default');

    const file = join(dir, 'acl.sql');
    const rendered = await exportToFile(source.sql, file, { owners: true, privileges: true });
    assert.ok(rendered.postData.includes('ALTER TABLE s.t OWNER TO postgres;'));
    assert.ok(rendered.postData.includes('ALTER FUNCTION s.f() OWNER TO postgres;'));
    assert.ok(rendered.postData.includes('GRANT INSERT, SELECT ON TABLE s.t TO pg_read_all_data WITH GRANT OPTION;'));
    assert.ok(rendered.postData.includes('GRANT UPDATE (secret) ON TABLE s.t TO pg_write_all_data;'));
    assert.ok(rendered.postData.includes('REVOKE ALL ON FUNCTION s.f() FROM PUBLIC;'));
    psqlFile(copy.url, file);
    const acls = `SELECT c.relname AS name, c.relacl::text AS acl, pg_get_userbyid(c.relowner) AS owner,
        (SELECT array_agg(a.attname || ':' || a.attacl::text ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL) AS columns
      FROM pg_class c WHERE c.relnamespace = 's'::regnamespace
      UNION ALL SELECT p.proname, p.proacl::text, pg_get_userbyid(p.proowner), NULL FROM pg_proc p WHERE p.pronamespace = 's'::regnamespace
      UNION ALL SELECT nspname, nspacl::text, pg_get_userbyid(nspowner), NULL FROM pg_namespace WHERE nspname = 's'
      ORDER BY 1`;
    assert.deepEqual(await copy.sql.unsafe(acls), await source.sql.unsafe(acls));
  });
});
