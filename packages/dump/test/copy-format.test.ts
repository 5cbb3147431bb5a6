import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { introspect } from '@mbsync/schema-diff';
import { createDatabase, psqlText, type TestDatabase } from '@mbsync/testkit';
import { exportSessionSettingsSql } from '../src/dump-format.js';
import {
  binaryCopyable, chooseCopyFormats, estimateCopySize, smallerInText, statisticsTextWidth, userTypesOf,
  type ColumnStatistics, type TableStatistics,
} from '../src/parallel/copy-format.js';
import { parallelSyncLikeARunner } from './support/parallel.js';
import { stateOf } from './support/databases.js';

const NO_TYPES = userTypesOf({ enums: [], domains: [], rangeTypes: [] });
const TYPES = userTypesOf({
  enums: [{ schema: 'app', name: 'mood', labels: ['ok', 'sad', 'happy'] } as never],
  domains: [{ schema: 'app', name: 'state', baseType: 'app.mood' } as never, { schema: 'app', name: 'amount', baseType: 'numeric(12,2)' } as never],
  rangeTypes: [{ schema: 'app', name: 'floatrange', subtype: 'double precision' } as never],
});

/** A column as pg_stats would describe it: `text` is the average text length of its values (null: not known). */
function column(type: string, avgWidth: number, options: { text?: number | null; nullFrac?: number; elements?: number } = {}): ColumnStatistics {
  const text = options.text ?? null;
  return { type, nullFrac: options.nullFrac ?? 0, avgWidth, mcvWidth: null, mcvFrac: null, histWidth: text, elements: options.elements ?? null };
}

function table(columns: (ColumnStatistics | null)[], rows = 10_000, toastBytes = 0): TableStatistics {
  return { rows, toastBytes, columns };
}

function chosen(t: TableStatistics, types = NO_TYPES): 'text' | 'binary' {
  return smallerInText(estimateCopySize(t, types)) ? 'text' : 'binary';
}

describe('COPY size estimate (text vs binary, from the statistics)', () => {
  test('many small integers and short texts: text is smaller (binary pays 4 bytes a field)', () => {
    const t = table([
      column('integer', 4, { text: 4 }),
      ...Array.from({ length: 6 }, () => column('smallint', 2, { text: 2 })),
      ...Array.from({ length: 3 }, () => column('integer', 4, { text: 3, nullFrac: 0.3 })),
      ...Array.from({ length: 4 }, () => column('text', 9)),
      column('boolean', 1, { text: 1 }),
      column('character varying(20)', 6, { nullFrac: 0.5 }),
    ]);
    const e = estimateCopySize(t, NO_TYPES)!;
    assert.ok(e.text < e.binary * 0.7, `text ${e.text} vs binary ${e.binary}`);
    assert.equal(chosen(t), 'text');
  });

  test('enums, small arrays, numerics, domains over them: text', () => {
    const t = table([
      column('bigint', 8, { text: 6 }),
      column('app.mood', 4, { text: 3 }),
      column('app.state', 4),
      column('integer[]', 36, { text: 9, elements: 3 }),
      column('text[]', 40, { text: 14, elements: 2 }),
      column('app.amount', 6, { text: 7 }),
      column('numeric', 8),
    ]);
    assert.equal(chosen(t, TYPES), 'text');
  });

  test('bytea, timestamps, uuids and floats: binary', () => {
    assert.equal(chosen(table([column('bigint', 8, { text: 7 }), column('bytea', 2000)])), 'binary');
    assert.equal(chosen(table([
      column('uuid', 16, { text: 36 }), column('timestamp with time zone', 8, { text: 22 }),
      column('timestamp(3) without time zone', 8, { text: 23 }), column('double precision', 8, { text: 17 }),
    ])), 'binary');
    // a range of timestamps: two 8-byte bounds against two quoted timestamps
    assert.equal(chosen(table([column('uuid', 16), column('tstzrange', 25)])), 'binary');
  });

  test('bytea stored in TOAST (the heap holds an 18-byte pointer): the TOAST bytes count twice in text', () => {
    const t = table([column('integer', 4, { text: 4 }), column('text', 12), column('bytea', 18)], 1_000, 5_000_000);
    const e = estimateCopySize(t, NO_TYPES)!;
    assert.ok(e.text > 1.8 * e.binary, `text ${e.text} vs binary ${e.binary}`);
    assert.equal(chosen(t), 'binary');
  });

  test('a near tie stays binary (text must be 5 % smaller)', () => {
    // per row: binary 2 + 2 × (4 + 8) = 26; text 2 × (1 + 11) = 24 (8 % smaller), then 25 (4 %)
    assert.equal(chosen(table([column('bigint', 8, { text: 11 }), column('bigint', 8, { text: 11 })])), 'text');
    assert.equal(chosen(table([column('bigint', 8, { text: 11 }), column('bigint', 8, { text: 12 })])), 'binary');
  });

  test('no statistics, no rows counted or a type without rules: no estimate, binary as before', () => {
    assert.equal(estimateCopySize(table([column('smallint', 2), null]), NO_TYPES), null);
    assert.equal(estimateCopySize(table([column('smallint', 2)], -1), NO_TYPES), null);
    assert.equal(estimateCopySize(table([column('smallint', 2)], 0), NO_TYPES), null);
    assert.equal(estimateCopySize(table([column('tsvector', 20)]), NO_TYPES), null);
    assert.equal(smallerInText(null), false);
  });

  test('the text width of the statistics: most common values by frequency, the histogram for the rest', () => {
    // 20 % NULL, 30 % in the MCVs averaging 5 bytes, the other 50 % histogram bounds averaging 10
    assert.equal(statisticsTextWidth({ nullFrac: 0.2, mcvWidth: 0.3 * 5, mcvFrac: 0.3, histWidth: 10 }), 6.5 / 0.8);
    assert.equal(statisticsTextWidth({ nullFrac: 0, mcvWidth: 0.9 * 4, mcvFrac: 0.9, histWidth: null }), 4);
    assert.equal(statisticsTextWidth({ nullFrac: 1, mcvWidth: null, mcvFrac: null, histWidth: null }), null);
  });

  test('the fidelity rule is unchanged: composites and arrays of user types are never binary', () => {
    const copyable = binaryCopyable({ enums: [{ schema: 'app', name: 'mood', labels: ['ok'] } as never], domains: [], rangeTypes: [] });
    assert.equal(copyable(['integer', 'app.mood', 'text[]']), true);
    assert.equal(copyable(['integer', 'app.mood[]']), false);
    assert.equal(copyable(['integer', 'app.point']), false);
    assert.equal(copyable([]), false);
  });
});

describe('parallel sync: COPY format per table by its size', { timeout: 300_000 }, () => {
  const dbs: TestDatabase[] = [];
  const fresh = async (prefix: string) => {
    const db = await createDatabase(prefix);
    dbs.push(db);
    return db;
  };
  after(async () => {
    for (const db of dbs) await db.drop();
  });

  test('small integers and short texts go as text, bytea/uuid/timestamps as binary, unanalyzed and unsafe as before; identical value by value', async () => {
    const source = await fresh('fmt_src');
    psqlText(source.url, `
      CREATE TYPE public.mood AS ENUM ('ok', 'sad', 'happy');
      CREATE TYPE public.pt AS (x int, y int);
      CREATE TABLE public.counters (id int PRIMARY KEY, a smallint, b smallint, c smallint, d int, e int, label text,
        mood public.mood NOT NULL, flag boolean, tags text[]);
      INSERT INTO public.counters SELECT g, g % 100, (g % 7)::smallint, NULLIF(g % 5, 0), g % 1000, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 50 END,
        'L' || g % 97 || E'\\t\\\\', (ARRAY['ok', 'sad', 'happy'])[1 + g % 3]::public.mood, g % 2 = 0, ARRAY['a' || g % 4, 'b']
      FROM generate_series(1, 5000) g;
      CREATE TABLE public.blobs (id uuid PRIMARY KEY, at timestamptz NOT NULL, seen timestamp, body bytea NOT NULL);
      INSERT INTO public.blobs SELECT md5(g::text)::uuid, '2024-01-01 00:00:00.123456+00'::timestamptz + g * interval '17 seconds',
        '2023-05-06 07:08:09.5'::timestamp + g * interval '1 minute', decode(repeat(md5('b' || g), 20 + g % 10), 'hex')
      FROM generate_series(1, 800) g;
      CREATE TABLE public.points (id int PRIMARY KEY, at public.pt);
      INSERT INTO public.points SELECT g, ROW(g, -g)::public.pt FROM generate_series(1, 300) g;
      CREATE TABLE public.unanalyzed (id int, a smallint, b smallint, note text) WITH (autovacuum_enabled = false);
      INSERT INTO public.unanalyzed SELECT g, g % 10, g % 3, 'n' || g FROM generate_series(1, 2000) g;
      ANALYZE public.counters, public.blobs, public.points;`);
    const smaller = await fresh('fmt_dst');
    const bySize = await parallelSyncLikeARunner(source, smaller, { jobs: 2 });
    assert.equal(bySize.fallback, undefined);
    const formats = (r: typeof bySize) => Object.fromEntries(r.tables.map((t) => [`${t.schema}.${t.name}`, t.format]));
    assert.deepEqual(formats(bySize), { 'public.blobs': 'binary', 'public.counters': 'text', 'public.points': 'text', 'public.unanalyzed': 'binary' });
    assert.deepEqual(await stateOf(smaller), await stateOf(source));

    // the same with every binary-safe table in binary: counters costs more bytes that way, the rest the same
    const allBinary = await fresh('fmt_bin');
    const binary = await parallelSyncLikeARunner(source, allBinary, { jobs: 2, copyFormat: 'binary' });
    assert.deepEqual(formats(binary), { 'public.blobs': 'binary', 'public.counters': 'binary', 'public.points': 'text', 'public.unanalyzed': 'binary' });
    assert.deepEqual(await stateOf(allBinary), await stateOf(source));
    const bytes = (r: typeof bySize) => Object.fromEntries(r.tables.map((t) => [`${t.schema}.${t.name}`, t.bytes]));
    const [a, b] = [bytes(bySize), bytes(binary)];
    assert.ok(a['public.counters']! < 0.8 * b['public.counters']!, `counters: text ${a['public.counters']} bytes, binary ${b['public.counters']}`);
    const total = (r: typeof bySize) => r.tables.reduce((n, t) => n + t.bytes, 0);
    assert.ok(total(bySize) < total(binary));

    // the estimate, from the statistics alone, is within 15 % of what each format really cost
    const estimates = await source.sql.begin(async (tx) => {
      await tx.unsafe(exportSessionSettingsSql());
      const model = await introspect(tx);
      const tables = model.tables.map((t) => ({ schema: t.schema, name: t.name, columns: t.columns.sort((x, y) => x.position - y.position).map((c) => ({ name: c.name, type: c.type })) }));
      return chooseCopyFormats(tx, model, tables);
    });
    assert.equal(estimates.get('public.points'), undefined, 'not binary-safe: not estimated');
    assert.equal(estimates.get('public.unanalyzed')?.estimate, null);
    for (const key of ['public.counters', 'public.blobs']) {
      const e = estimates.get(key)!.estimate!;
      const near = (estimate: number, real: number) => Math.abs(estimate - real) / real < 0.15;
      const real = { text: key === 'public.counters' ? a[key]! : undefined, binary: b[key]! };
      assert.ok(near(e.binary, real.binary), `${key}: binary estimated ${Math.round(e.binary)}, was ${real.binary}`);
      if (real.text !== undefined) assert.ok(near(e.text, real.text), `${key}: text estimated ${Math.round(e.text)}, was ${real.text}`);
    }
  });
});
