import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDatabase } from '@mbsync/testkit';
import type { SchemaChange, Verdict } from '../src/index.js';
import { countTargetRows, diffSchemas, introspect, judgeImport, renderReport, tablesToCount } from '../src/index.js';

interface Judged {
  changes: SchemaChange[];
  counts: Record<string, number>;
  verdict: Verdict;
}

/** Builds the dump side and the target, diffs them, counts the target rows at stake and judges, like the importer will. */
async function judge(before: string, after: string, options: { counts?: boolean } = {}): Promise<Judged> {
  const [source, target] = await Promise.all([createDatabase('verdict_src'), createDatabase('verdict_dst')]);
  try {
    await Promise.all([source.sql.unsafe(before), target.sql.unsafe(after)]);
    const [from, to] = await Promise.all([introspect(source.sql), introspect(target.sql)]);
    const changes = diffSchemas(from, to);
    const counts = options.counts === false ? {} : await countTargetRows(target.sql, tablesToCount(changes));
    const verdict = judgeImport(changes, options.counts === false ? {} : { targetRowCounts: counts });
    return { changes, counts, verdict };
  } finally {
    await Promise.all([source.drop(), target.drop()]);
  }
}

describe('judgeImport: data-only', { concurrency: 4 }, () => {
  it('refuses a narrowing type', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id bigint, sku varchar(40));`, `CREATE TABLE parts (id int, sku varchar(20));`);
    assert.equal(verdict['data-only'].allowed, false);
    assert.equal(verdict['data-only'].needsConfirmation, false);
    assert.equal(verdict['data-only'].reasons.length, 2);
    assert.match(verdict['data-only'].reasons[0]!, /^column public\.parts\.id: type bigint → integer \(not safely wider/);
    assert.match(verdict['data-only'].reasons[1]!, /^column public\.parts\.sku: type character varying\(40\) → character varying\(20\)/);
    assert.equal(verdict.replace.allowed, true);
    assert.equal(verdict.replace.needsConfirmation, false);
  });

  it('refuses a dumped table the target lacks', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id int); CREATE TABLE bins (id int);`, `CREATE TABLE parts (id int);`);
    assert.equal(verdict['data-only'].allowed, false);
    assert.deepEqual(verdict['data-only'].reasons, ['table public.bins: only in the dump: data-only has nowhere to load it']);
  });

  it('refuses a NOT NULL target column the dump cannot fill', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id int);`, `CREATE TABLE parts (id int, sku text NOT NULL);`);
    assert.equal(verdict['data-only'].allowed, false);
    assert.match(verdict['data-only'].reasons.join('\n'), /column public\.parts\.sku: .*NOT NULL without a default/);
  });

  it('refuses an enum missing a label the dump uses', async () => {
    const { verdict } = await judge(
      `CREATE TYPE state AS ENUM ('new', 'open', 'closed'); CREATE TABLE tickets (s state);`,
      `CREATE TYPE state AS ENUM ('new', 'closed'); CREATE TABLE tickets (s state);`,
    );
    assert.equal(verdict['data-only'].allowed, false);
    assert.deepEqual(verdict['data-only'].reasons, ['enum public.state: labels missing on the target: open']);
  });

  it('allows widening, extra target columns that fill themselves and another column order', async () => {
    const { verdict, changes } = await judge(
      `CREATE TYPE state AS ENUM ('new'); CREATE TABLE parts (id int, sku varchar(20), price numeric(8,2), s state);`,
      `CREATE TYPE state AS ENUM ('new', 'open'); CREATE TABLE parts (sku text, id bigint, s state, price numeric(12,2),
         note text, created timestamptz NOT NULL DEFAULT now(), n int GENERATED ALWAYS AS IDENTITY);`,
    );
    assert.ok(changes.length >= 7);
    assert.deepEqual(verdict['data-only'], { allowed: true, needsConfirmation: false, reasons: [], warnings: [] });
  });

  it('allows a target constraint that may reject rows, with a warning', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (qty int);`, `CREATE TABLE parts (qty int CHECK (qty > 0));`);
    assert.equal(verdict['data-only'].allowed, true);
    assert.deepEqual(verdict['data-only'].warnings, ['constraint public.parts.parts_qty_check: only in the target: replace drops it; the target\'s constraint may reject rows of the dump']);
  });
});

describe('judgeImport: replace', { concurrency: 4 }, () => {
  it('needs confirmation when a table only the target has holds rows', async () => {
    const { verdict, counts } = await judge(`CREATE TABLE parts (id int);`,
      `CREATE TABLE parts (id int); CREATE TABLE notes (id int); INSERT INTO notes SELECT generate_series(1, 3);`);
    assert.deepEqual(counts, { 'public.notes': 3 });
    assert.equal(verdict.replace.allowed, true);
    assert.equal(verdict.replace.needsConfirmation, true);
    assert.deepEqual(verdict.replace.reasons, ['table public.notes: only in the target: replace drops it (3 rows)']);
  });

  it('needs no confirmation when the dropped table is empty', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id int);`, `CREATE TABLE parts (id int); CREATE TABLE notes (id int);`);
    assert.equal(verdict.replace.needsConfirmation, false);
    assert.deepEqual(verdict.replace.reasons, []);
    assert.deepEqual(verdict.replace.warnings, ['table public.notes: only in the target: replace drops it (empty)']);
  });

  it('needs confirmation when a column only the target has belongs to a table with rows', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id int);`, `CREATE TABLE parts (id int, note text); INSERT INTO parts VALUES (1, 'x');`);
    assert.equal(verdict.replace.needsConfirmation, true);
    assert.deepEqual(verdict.replace.reasons, ['column public.parts.note: only in the target: replace drops it (1 row of public.parts)']);
    assert.equal(verdict['data-only'].allowed, true);
  });

  it('needs no confirmation for a dropped column of an empty table, nor for changes that drop nothing', async () => {
    const { verdict } = await judge(
      `CREATE TABLE parts (id bigint, sku text); CREATE TABLE bins (id int);`,
      `CREATE TABLE parts (id int, note text); CREATE INDEX parts_id ON parts (id);`,
    );
    assert.equal(verdict.replace.needsConfirmation, false);
    assert.deepEqual(verdict.replace.warnings, [
      'column public.parts.note: only in the target: replace drops it (empty)',
      'index public.parts.parts_id: only in the target: replace drops it',
    ]);
    assert.equal(verdict['data-only'].allowed, false);
  });

  it('asks for confirmation when the row counts are unknown', async () => {
    const { verdict } = await judge(`CREATE TABLE parts (id int);`, `CREATE TABLE parts (id int); CREATE TABLE notes (id int);`, { counts: false });
    assert.equal(verdict.replace.needsConfirmation, true);
    assert.deepEqual(verdict.replace.reasons, ['table public.notes: only in the target: replace drops it (row count unknown)']);
  });

  it('lists extensions missing on the target for both modes', async () => {
    const { verdict } = await judge(`CREATE EXTENSION pg_trgm; CREATE EXTENSION citext; CREATE TABLE t (a int);`, `CREATE TABLE t (a int);`);
    assert.deepEqual(verdict.missingExtensions, ['citext', 'pg_trgm']);
    assert.equal(verdict.replace.warnings.length, 2);
    assert.equal(verdict['data-only'].warnings.length, 2);
    assert.equal(verdict['data-only'].allowed, true);
  });
});

describe('countTargetRows', () => {
  it('gives exact zeros, estimates for analysed tables, exact counts for the rest', async () => {
    const db = await createDatabase('verdict_count');
    try {
      await db.sql.unsafe(`
        CREATE SCHEMA "Odd.Schema";
        CREATE TABLE "Odd.Schema"."we""ird" (id int); INSERT INTO "Odd.Schema"."we""ird" VALUES (1), (2);
        CREATE TABLE empty (id int);
        CREATE TABLE analysed (id int); INSERT INTO analysed SELECT generate_series(1, 5000); ANALYZE analysed;
        CREATE TABLE fresh (id int); INSERT INTO fresh SELECT generate_series(1, 7);
        CREATE TABLE stale (id int); INSERT INTO stale SELECT generate_series(1, 100); ANALYZE stale; DELETE FROM stale;
        CREATE TABLE parent (id int); CREATE TABLE child () INHERITS (parent); INSERT INTO child VALUES (1);
        CREATE TABLE ev (at date) PARTITION BY RANGE (at);
        CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01'); INSERT INTO ev VALUES ('2024-02-02'), ('2024-03-03');`);
      const tables = ['Odd.Schema.we"ird', 'public.empty', 'public.analysed', 'public.fresh', 'public.stale', 'public.parent', 'public.ev', 'public.missing'];
      const estimated = await countTargetRows(db.sql, tables);
      // 'stale' keeps its planner estimate (100) although it is empty now: estimates only err towards confirmation
      assert.deepEqual(estimated, {
        'Odd.Schema.we"ird': 2, 'public.analysed': 5000, 'public.empty': 0, 'public.ev': 2, 'public.fresh': 7, 'public.parent': 0, 'public.stale': 100,
      });
      const exact = await db.sql.begin('isolation level repeatable read read only', (tx) => countTargetRows(tx, tables, { exact: true }));
      assert.equal(exact['public.stale'], 0);
      assert.equal(exact['public.analysed'], 5000);
      assert.deepEqual(await countTargetRows(db.sql, []), {});
    } finally {
      await db.drop();
    }
  });
});

describe('renderReport', () => {
  it('renders changes and the verdict, in colour when asked', async () => {
    const { changes, verdict } = await judge(
      `CREATE TABLE parts (id bigint);`,
      `CREATE TABLE parts (id int, note text); INSERT INTO parts VALUES (1, 'x'); CREATE TABLE notes (id int);`,
    );
    const plain = renderReport(changes, verdict);
    assert.equal(plain, [
      'Schema differences: 3  (- only in the dump/source, + only in the target, ~ changed)',
      '  + table  public.notes  [replace: destructive, data-only: ok]',
      '      only in the target: replace drops it',
      '  ~ column public.parts.id  [replace: info, data-only: blocking]',
      '      type bigint → integer (not safely wider: values may be refused or changed)',
      '  + column public.parts.note  [replace: destructive, data-only: ok]',
      '      only in the target: replace drops it',
      '',
      'Verdict',
      '  replace:   allowed after confirmation',
      '    ! column public.parts.note: only in the target: replace drops it (1 row of public.parts)',
      '    · table public.notes: only in the target: replace drops it (empty)',
      '  data-only: refused',
      '    ! column public.parts.id: type bigint → integer (not safely wider: values may be refused or changed)',
      '',
    ].join('\n'));
    const coloured = renderReport(changes, verdict, { color: true });
    assert.match(coloured, /\u001b\[31mrefused\u001b\[0m/);
    assert.equal(coloured.replace(/\u001b\[\d+m/g, ''), plain);
    assert.equal(renderReport([], judgeImport([])), 'No schema differences.\n\nVerdict\n  replace:   allowed\n  data-only: allowed\n');
  });
});
