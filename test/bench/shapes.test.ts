// The bench generator's size planning and shape names: pure functions, no database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchDatabaseName, parseShapes, parseSize } from './bench-database.js';
import { ENUM_WIDE_ROWS_PER_GB, planEnumWide } from './enum-wide-data.js';
import { supabaseScale } from './generate.js';
import { MANY_TABLES, manyTablesDataSql, manyTablesSchemaSql, planManyTables } from './many-tables-data.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

describe('bench shapes', () => {
  it('names databases after shape and size', () => {
    assert.equal(benchDatabaseName(GB), 'mbsync_bench_bytea_1gb');
    assert.equal(benchDatabaseName(GB, 'enum-wide'), 'mbsync_bench_enumwide_1gb');
    assert.equal(benchDatabaseName(parseSize('100MB'), 'many-tables'), 'mbsync_bench_manytables_100mb');
    assert.deepEqual(parseShapes('supabase, bytea,supabase'), ['supabase', 'bytea']);
    assert.equal(parseShapes('all').length, 4);
    assert.throws(() => parseShapes('bytea,wide'), /--shape must be one of/);
  });

  it('plans enum-wide at the proportions of the shape', () => {
    const plan = planEnumWide(GB);
    // ~700k orders per GB (the calibration constant puts a little more in, as rows weigh a little less than a GB)
    assert.ok(plan.orders > 650_000 && plan.orders < 800_000, `orders ${plan.orders}`);
    assert.equal(Math.round(plan.events / plan.orders * 100), Math.round(ENUM_WIDE_ROWS_PER_GB.events / ENUM_WIDE_ROWS_PER_GB.orders * 100));
    // attachments of 1–4 KB stay under a tenth of the size
    assert.ok(plan.attachments * 2.6 * 1024 < GB / 10);
    const small = planEnumWide(parseSize('100MB'));
    assert.ok(small.orders > plan.orders / 12 && small.orders < plan.orders / 9);
  });

  it('plans 500 tables spread over 0.1–10 MB that total about the size, each referencing earlier tables', () => {
    const plan = planManyTables(GB);
    assert.equal(plan.length, MANY_TABLES);
    assert.equal(new Set(plan.map((t) => t.name)).size, MANY_TABLES);
    const total = plan.reduce((n, t) => n + t.bytes, 0);
    assert.ok(total > 0.85 * GB && total < GB, `planned ${total / MB} MB`);
    const sizes = plan.map((t) => t.bytes);
    assert.ok(Math.min(...sizes) < 0.1 * MB && Math.max(...sizes) > 8 * MB);
    // spread, not sorted: the first and last hundred hold both small and big tables
    for (const slice of [plan.slice(0, 100), plan.slice(-100)]) assert.ok(Math.max(...slice.map((t) => t.bytes)) / Math.min(...slice.map((t) => t.bytes)) > 50);
    assert.deepEqual(plan[0]!.refs, []);
    for (const [i, t] of plan.entries()) {
      if (i === 0) continue;
      assert.ok(t.refs.length >= 1 && t.refs.length <= 2, `${t.name} refs ${t.refs.join(',')}`);
      assert.ok(t.refs.every((r) => r < i), `${t.name} references a later table`);
      assert.equal(new Set(t.refs).size, t.refs.length);
    }
    const bigger = planManyTables(2 * GB).reduce((n, t) => n + t.rows, 0);
    assert.ok(bigger > 1.9 * plan.reduce((n, t) => n + t.rows, 0));
  });

  it('writes one CREATE TABLE and one INSERT per table', () => {
    const plan = planManyTables(parseSize('100MB'));
    assert.equal(manyTablesSchemaSql(plan).match(/CREATE TABLE/g)?.length, MANY_TABLES);
    assert.match(manyTablesDataSql(plan[4]!, plan), /^INSERT INTO public\.mt_005_ledger \(id, mt_\d{3}_id, mt_\d{3}_id, status/);
  });

  it('scales the Supabase fixture to the size', () => {
    assert.ok(supabaseScale(GB) > 800 && supabaseScale(GB) < 1000);
    assert.equal(supabaseScale(20 * MB), 7);
  });
});
