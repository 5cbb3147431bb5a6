import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type postgres from 'postgres';
import { introspect } from '@mbsync/schema-diff';
import { createDatabase, pgDumpSchema, psqlFile, snapshotDatabase } from '@mbsync/testkit';
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
  psqlFile(copy.url, file);
  assert.equal(pgDumpSchema(copy.url), pgDumpSchema(source.url));
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
