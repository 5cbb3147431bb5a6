import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDatabase, psqlFile } from '@mbsync/testkit';
import type { SchemaChange, SchemaModel } from '../src/index.js';
import { diffSchemas, introspect, judgeImport } from '../src/index.js';
import type { DiffCase } from './cases/case.js';
import { catalogObjectCases } from './cases/catalog-objects.js';
import { objectCases } from './cases/objects.js';
import { partCases } from './cases/parts.js';
import { tableCases } from './cases/tables.js';
import { typeCases } from './cases/types.js';

const cases: DiffCase[] = [...tableCases, ...partCases, ...typeCases, ...objectCases, ...catalogObjectCases];
const TRICKY = new URL('../../../test/fixtures/tricky/', import.meta.url).pathname;
const PAGILA = '/work/shared/peers/pagila/';

/** Two fresh databases, `load` run in each (source first), both introspected, both dropped. */
async function twoModels(prefix: string, loadSource: (url: string, sql: import('postgres').Sql) => Promise<void>,
  loadTarget: (url: string, sql: import('postgres').Sql) => Promise<void>): Promise<[SchemaModel, SchemaModel]> {
  const [source, target] = await Promise.all([createDatabase(`${prefix}_src`), createDatabase(`${prefix}_dst`)]);
  try {
    await Promise.all([loadSource(source.url, source.sql), loadTarget(target.url, target.sql)]);
    return await Promise.all([introspect(source.sql), introspect(target.sql)]);
  } finally {
    await Promise.all([source.drop(), target.drop()]);
  }
}

function summary(c: SchemaChange): string {
  return `${c.kind} ${c.objectType} ${c.name} [${c.severity.replace}/${c.severity['data-only']}] ${c.detail ?? ''}`;
}

/** Every expected change is there with the expected severities and detail, and nothing else is. */
function assertChanges(testCase: DiffCase, changes: SchemaChange[]): void {
  const unmatched = [...changes];
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const e of testCase.expect) {
    const i = unmatched.findIndex((c) => c.objectType === e.objectType && c.name === e.name && c.kind === e.kind);
    if (i < 0) {
      missing.push(`${e.kind} ${e.objectType} ${e.name}`);
      continue;
    }
    const [change] = unmatched.splice(i, 1) as [SchemaChange];
    if (e.severity?.replace && change.severity.replace !== e.severity.replace) wrong.push(`${summary(change)}: replace should be ${e.severity.replace}`);
    if (e.severity?.['data-only'] && change.severity['data-only'] !== e.severity['data-only']) wrong.push(`${summary(change)}: data-only should be ${e.severity['data-only']}`);
    if (e.detail && !e.detail.test(change.detail ?? '')) wrong.push(`${summary(change)}: detail should match ${e.detail}`);
  }
  assert.deepEqual({ missing, wrong, unexpected: unmatched.map(summary) }, { missing: [], wrong: [], unexpected: [] });
}

describe('diffSchemas: before/after DDL cases on a real server', { concurrency: 6 }, () => {
  it('has at least 30 cases with unique names', () => {
    assert.ok(cases.length >= 30, `${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const run = (ddl: string) => async (_url: string, sql: import('postgres').Sql) => {
        if (ddl.trim()) await sql.unsafe(ddl);
      };
      const [from, to] = await twoModels('diff', run(testCase.before), run(testCase.after));
      const changes = diffSchemas(from, to);
      assertChanges(testCase, changes);
      // the manifest stores the model as JSON: the diff must not depend on anything JSON loses
      assert.deepEqual(diffSchemas(JSON.parse(JSON.stringify(from)) as SchemaModel, JSON.parse(JSON.stringify(to)) as SchemaModel), changes);
      if (testCase.dataOnly !== undefined) {
        const verdict = judgeImport(changes);
        assert.equal(verdict['data-only'].allowed, testCase.dataOnly, `data-only verdict: ${verdict['data-only'].reasons.join(' | ')}`);
      }
    });
  }
});

describe('diffSchemas: identical databases report no change', { concurrency: 2 }, () => {
  it('the tricky fixture', async () => {
    const load = async (url: string) => {
      psqlFile(url, `${TRICKY}schema.sql`);
      psqlFile(url, `${TRICKY}data.sql`);
    };
    const [from, to] = await twoModels('diff_tricky', load, load);
    assert.ok(from.tables.length > 0);
    assert.deepEqual(diffSchemas(from, to).map(summary), []);
  });

  it('pagila', async () => {
    const load = async (url: string) => {
      psqlFile(url, `${PAGILA}pagila-schema.sql`);
      psqlFile(url, `${PAGILA}pagila-data.sql`);
    };
    const [from, to] = await twoModels('diff_pagila', load, load);
    assert.ok(from.tables.length >= 15 && from.routines.length > 0 && from.views.length > 0);
    assert.deepEqual(diffSchemas(from, to).map(summary), []);
    assert.deepEqual(diffSchemas(from, to, { ownership: true }).map(summary), []);

    // order of the input lists does not matter, and the output order is fixed
    const shuffled: SchemaModel = { ...to, tables: [...to.tables].reverse(), routines: [...to.routines].reverse() };
    const altered: SchemaModel = { ...shuffled, tables: shuffled.tables.filter((t) => t.name !== 'actor') };
    assert.deepEqual(diffSchemas(from, altered), diffSchemas(from, { ...to, tables: to.tables.filter((t) => t.name !== 'actor') }));
  });
});

describe('diffSchemas on large models', () => {
  it('stays fast with 2000 tables of 20 columns (maps by name, no quadratic scans)', () => {
    const model = (n: number, type: string): SchemaModel => ({
      formatVersion: 1, serverVersionNum: 150000, schemas: [{ name: 'public', owner: 'postgres', acl: null }], extensions: [],
      enums: [], domains: [], compositeTypes: [], rangeTypes: [], routines: [], sequences: [], views: [], dependencies: [],
      tables: Array.from({ length: n }, (_, i) => ({
        schema: 'public', name: `t${i}`, kind: 'table' as const, persistence: 'permanent' as const, owner: 'postgres', acl: null, inherits: [],
        columns: Array.from({ length: 20 }, (_c, j) => ({ name: `c${j}`, position: j + 1, type: j === 0 ? type : 'text', notNull: false, isLocal: true, inheritCount: 0 })),
        constraints: [], indexes: [], triggers: [], rules: [], policies: [], rlsEnabled: false, rlsForced: false, replicaIdentity: 'd' as const,
        reloptions: [], estimatedBytes: 0,
      })),
    });
    const started = performance.now();
    const changes = diffSchemas(model(2000, 'integer'), model(2000, 'bigint'));
    const ms = performance.now() - started;
    assert.equal(changes.length, 2000);
    assert.ok(ms < 2000, `${Math.round(ms)} ms`);
  });
});
