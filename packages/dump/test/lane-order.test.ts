import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { copyCost, countCost, foreignKeyCost, indexCost, weightOf, type TableWeight } from '../src/parallel/task-costs.js';
import { runLaneTasks, type LaneTask } from '../src/parallel/task-scheduler.js';

/**
 * The lanes' order on the task graphs of two bench shapes, run by the real scheduler on a virtual clock: each task
 * takes the seconds the server log of a sync gave it (docs/design.md, "The lanes' order"), and the scheduler sees only
 * the weights task-costs.ts gives it from the source's catalog. The makespan is compared with the best any order
 * could do: the longer of the heaviest chain and the work shared evenly over the lanes.
 */

interface Step {
  id: string; after: string[]; locks: { table: string; exclusive: boolean }[]; cost: number; seconds: number;
  /** bytes on disk of the table it works on (the referencing one, for a foreign key) */
  bytes: number;
}

/** A virtual clock: `sleep` resolves in order of due time, the clock moving only while every lane waits. */
class VirtualClock {
  now = 0;
  #timers: { due: number; resolve: () => void }[] = [];
  sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ due: this.now + seconds, resolve }));
  }
  /** Runs `work` to its end, advancing the clock to the next timer whenever nothing else can happen. */
  async run(work: Promise<void>): Promise<number> {
    let done = false;
    void work.then(() => { done = true; }, () => { done = true; });
    while (!done) {
      // let every ready continuation run (the scheduler starts tasks in microtasks)
      await new Promise((resolve) => setImmediate(resolve));
      if (done) break;
      this.#timers.sort((a, b) => a.due - b.due);
      const next = this.#timers.shift();
      if (!next) throw new Error('the scheduler waits on nothing');
      this.now = next.due;
      next.resolve();
    }
    await work;
    return this.now;
  }
}

async function makespan(steps: Step[], lanes = 2): Promise<{ seconds: number; started: string[] }> {
  const clock = new VirtualClock();
  const started: string[] = [];
  const tasks: LaneTask<number>[] = steps.map((s) => ({
    id: s.id, after: s.after, locks: s.locks, cost: s.cost,
    run: async () => {
      started.push(s.id);
      await clock.sleep(s.seconds);
    },
  }));
  const seconds = await clock.run(runLaneTasks(Array.from({ length: lanes }, (_, i) => i), tasks, () => {}));
  return { seconds, started };
}

/** The best any order could do: the heaviest chain of seconds, or all the work over the lanes. */
function lowerBound(steps: Step[], lanes = 2): number {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const memo = new Map<string, number>();
  const finish = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const s = byId.get(id)!;
    const value = s.seconds + Math.max(0, ...s.after.filter((a) => byId.has(a)).map(finish));
    memo.set(id, value);
    return value;
  };
  const chain = Math.max(...steps.map((s) => finish(s.id)));
  return Math.max(chain, steps.reduce((n, s) => n + s.seconds, 0) / lanes);
}

interface TableSpec { weight: TableWeight; copy: number; count: number; indexes: { name: string; definition: string; seconds: number }[] }

/** Steps as shadow-plan.ts and parallel-sync.ts lay them out: copy, builds after it, foreign keys after both tables' builds, counts. */
function graph(tables: Record<string, TableSpec>, foreignKeys: { from: string; to: string; seconds: number }[]): Step[] {
  const steps: Step[] = [];
  const builds = new Map<string, string[]>();
  for (const [key, t] of Object.entries(tables)) {
    steps.push({ id: `copy:${key}`, after: [], locks: [{ table: key, exclusive: true }], cost: copyCost(t.weight), seconds: t.copy, bytes: t.weight.bytes });
    steps.push({ id: `count:${key}`, after: [`copy:${key}`], locks: [], cost: countCost(t.weight), seconds: t.count, bytes: t.weight.bytes });
    builds.set(key, t.indexes.map((i) => `index:${key}:${i.name}`));
    for (const i of t.indexes) {
      steps.push({ id: `index:${key}:${i.name}`, after: [`copy:${key}`], locks: [{ table: key, exclusive: false }], cost: indexCost(t.weight, i.definition), seconds: i.seconds, bytes: t.weight.bytes });
    }
  }
  for (const fk of foreignKeys) {
    steps.push({
      id: `fk:${fk.from}:${fk.to}`, after: [`copy:${fk.from}`, `copy:${fk.to}`, ...builds.get(fk.from)!, ...builds.get(fk.to)!],
      locks: [...new Set([fk.from, fk.to])].map((table) => ({ table, exclusive: true })),
      cost: foreignKeyCost(tables[fk.from]!.weight, tables[fk.to]!.weight), seconds: fk.seconds, bytes: tables[fk.from]!.weight.bytes,
    });
  }
  return steps;
}

const MB = 1024 ** 2;
const btree = (columns: string) => `CREATE INDEX x ON t USING btree (${columns})`;

/** A table: MB on disk (heap and TOAST), MB of heap, rows; seconds of its copy and count; its indexes as [name, method, seconds]. */
function table(bytes: number, heap: number, rows: number, copy: number, count: number, indexes: [string, string, number][]): TableSpec {
  return {
    weight: { bytes: bytes * MB, heapBytes: heap * MB, rows }, copy, count,
    indexes: indexes.map(([name, method, seconds]) => ({ name, definition: `CREATE INDEX ${name} ON t USING ${method} (c)`, seconds })),
  };
}

/** The bytea shape at 1 GB (2026-12-07, an Intel Xeon 2-core machine): the catalog's sizes and rows, each step's seconds from the server log of one sync. */
const BYTEA = graph({
  part_attributes: table(275, 275, 5_242_027, 4.33, 0.18, [['pkey', 'btree', 3.98], ['attribute', 'btree', 3.76]]),
  component_files: table(258, 1.1, 7_241, 2.35, 0.01, [['pkey', 'btree', 0.02], ['component', 'btree', 0.02]]),
  parts: table(132, 132, 1_048_408, 2.16, 0.06, [['pkey', 'btree', 0.35], ['sku', 'btree', 1.24], ['component', 'btree', 0.56]]),
  components: table(85, 85, 131_051, 1.77, 0.02, [['pkey', 'btree', 0.10], ['slug', 'btree', 0.15]]),
  attributes: table(0.05, 0.01, 60, 0.01, 0, [['pkey', 'btree', 0.01]]),
}, [
  { from: 'part_attributes', to: 'parts', seconds: 0.99 },
  { from: 'part_attributes', to: 'attributes', seconds: 0.37 },
  { from: 'parts', to: 'components', seconds: 0.13 },
  { from: 'component_files', to: 'components', seconds: 0.02 },
]);

/** The supabase shape at 1 GB, the same way (steps from 0.1 s on; the rest as 0.01 s): two trigram GIN indexes and a tsvector one. */
const SUPABASE = graph({
  parts: table(145.7, 145.7, 928_010, 3.16, 0.05, [['pkey', 'btree', 0.30], ['sku', 'btree', 0.52], ['component', 'btree', 0.36], ['name_trgm', 'gin', 3.97]]),
  part_attributes: table(144.1, 144.0, 2_784_030, 1.96, 0.17, [['pkey', 'btree', 0.72], ['attribute', 'btree', 1.41]]),
  components: table(115.8, 115.6, 185_602, 4.77, 0.02, [
    ['pkey', 'btree', 0.12], ['number', 'btree', 0.11], ['slug', 'btree', 0.18], ['user', 'btree', 0.14], ['name_trgm', 'gin', 0.47], ['search', 'gin', 1.69],
  ]),
  objects: table(55.3, 55.3, 129_921, 0.67, 0.01, [['pkey', 'btree', 0.05], ['bucketid_objname', 'btree', 0.22], ['bucket_name', 'btree', 0.19], ['name_prefix', 'btree', 0.12]]),
  refresh_tokens: table(37.1, 37.0, 222_720, 0.39, 0.01, [
    ['pkey', 'btree', 0.05], ['token', 'btree', 0.26], ['instance_user', 'btree', 0.30], ['parent', 'btree', 0.29], ['session_revoked', 'btree', 0.20], ['updated_at', 'btree', 0.14],
  ]),
  download_events: table(37.0, 37.0, 464_000, 0.49, 0.01, [['pkey', 'btree', 0.17], ['part', 'btree', 0.27]]),
  component_files: table(30.1, 29.0, 111_363, 0.34, 0.01, [['pkey', 'btree', 0.05]]),
  users: table(15.9, 15.9, 37_124, 0.25, 0.01, [['pkey', 'btree', 0.02], ['email', 'btree', 0.03]]),
  audit_log_entries: table(13.2, 13.1, 55_680, 0.14, 0.01, [['pkey', 'btree', 0.02]]),
  audit_log: table(11.0, 10.9, 92_800, 0.17, 0.01, [['pkey', 'btree', 0.02]]),
  identities: table(10.8, 10.7, 37_123, 0.15, 0.01, [['pkey', 'btree', 0.02]]),
  sessions: table(9.9, 9.8, 74_240, 0.14, 0.01, [['pkey', 'btree', 0.02]]),
  profiles: table(8.7, 8.6, 37_124, 0.12, 0.01, [['pkey', 'btree', 0.02], ['username', 'btree', 0.22]]),
  attributes: table(0.05, 0.01, 12, 0.01, 0, [['pkey', 'btree', 0.01]]),
}, [
  { from: 'part_attributes', to: 'parts', seconds: 0.83 },
  { from: 'part_attributes', to: 'attributes', seconds: 0.23 },
  { from: 'parts', to: 'components', seconds: 0.14 },
  { from: 'download_events', to: 'parts', seconds: 0.11 },
  { from: 'download_events', to: 'users', seconds: 0.12 },
  { from: 'component_files', to: 'components', seconds: 0.01 },
  { from: 'component_files', to: 'objects', seconds: 0.01 },
  { from: 'components', to: 'users', seconds: 0.01 },
  { from: 'refresh_tokens', to: 'sessions', seconds: 0.01 },
  { from: 'sessions', to: 'users', seconds: 0.01 },
  { from: 'identities', to: 'users', seconds: 0.01 },
  { from: 'profiles', to: 'users', seconds: 0.01 },
  { from: 'audit_log', to: 'users', seconds: 0.01 },
]);

/** What the lanes weighed before task-costs.ts: bytes on disk, an index half its table's, a foreign key a quarter. */
function byBytes(steps: Step[]): Step[] {
  return steps.map((s) => {
    const kind = s.id.split(':')[0]!;
    const bytes = s.bytes;
    const cost = kind === 'copy' ? bytes : kind === 'index' ? bytes / 2 : kind === 'count' ? bytes / 8 : bytes / 4;
    return { ...s, cost };
  });
}

describe('lane costs (task-costs.ts) and the order they give the lanes', () => {
  test('a table of many narrow rows weighs more to load, index and check than one of as many bytes in a few large values', () => {
    const narrow: TableWeight = { bytes: 275 * MB, heapBytes: 275 * MB, rows: 5_242_027 };
    const files: TableWeight = { bytes: 275 * MB, heapBytes: 1.1 * MB, rows: 7_241 };
    assert.ok(copyCost(narrow) > 1.5 * copyCost(files), 'copy');
    assert.ok(indexCost(narrow, btree('id')) > 100 * indexCost(files, btree('id')), 'index');
    assert.ok(foreignKeyCost(narrow, files) > 100 * foreignKeyCost(files, files), 'foreign key');
    assert.ok(countCost(narrow) > 100 * countCost(files), 'count');
  });

  test('a GIN or GiST index weighs several times a btree index of the same table; an exclusion constraint by its method', () => {
    const w: TableWeight = { bytes: 146 * MB, heapBytes: 146 * MB, rows: 928_010 };
    const b = indexCost(w, 'CREATE UNIQUE INDEX parts_pkey ON public.parts USING btree (id)');
    assert.ok(indexCost(w, 'CREATE INDEX parts_name_trgm ON public.parts USING gin (name public.gin_trgm_ops)') > 5 * b);
    assert.ok(indexCost(w, 'EXCLUDE USING gist (during WITH &&)') > 5 * b);
    assert.equal(indexCost(w, 'PRIMARY KEY (id)'), b);
  });

  test('a table missing from the catalog\'s figures is weighed by its bytes, as rows of 128 bytes', () => {
    assert.deepEqual(weightOf(128_000), { bytes: 128_000, heapBytes: 128_000, rows: 1_000 });
    const known = { bytes: 1, heapBytes: 1, rows: 1 };
    assert.equal(weightOf(128_000, known), known);
  });

  for (const [shape, steps] of [['bytea', BYTEA], ['supabase', SUPABASE]] as const) {
    test(`${shape} shape: the lanes finish within 1 % of the best any order could do`, async () => {
      const best = lowerBound(steps);
      const ours = await makespan(steps);
      assert.equal(ours.started.length, steps.length, 'every task ran once');
      assert.ok(ours.seconds <= best * 1.01, `${ours.seconds.toFixed(2)} s, best ${best.toFixed(2)} s (order: ${ours.started.join(', ')})`);
    });
  }

  test('bytea shape: weighed by bytes alone, the lanes ended 4 % later, the foreign keys of the largest table last on one lane', async () => {
    const ours = await makespan(BYTEA);
    const old = await makespan(byBytes(BYTEA));
    assert.ok(old.seconds > ours.seconds * 1.03, `by bytes ${old.seconds.toFixed(2)} s, with task-costs ${ours.seconds.toFixed(2)} s`);
    assert.equal(old.started.at(-2), 'fk:part_attributes:parts');
    // with task-costs the parts' indexes come before the components' copy, so those keys start while it runs
    assert.ok(ours.started.indexOf('index:parts:sku') < ours.started.indexOf('copy:components'), ours.started.join(', '));
  });

  test('supabase shape: the trigram GIN index, the longest step, is the first build to start (by bytes alone: after the btree indexes of its table)', async () => {
    const builds = (order: string[]) => order.filter((id) => id.startsWith('index:'));
    assert.equal(builds((await makespan(SUPABASE)).started)[0], 'index:parts:name_trgm');
    assert.notEqual(builds((await makespan(byBytes(SUPABASE))).started)[0], 'index:parts:name_trgm');
  });
});
