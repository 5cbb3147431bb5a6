import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';

const child = new URL('./support/export-child.ts', import.meta.url).pathname;
const MiB = 1024 * 1024;

interface Figures {
  rssBefore: number;
  maxRss: number;
  rows: number;
  dataBytes: number;
}

/**
 * Exports a one-row table whose row is `mib` MiB of incompressible text (and a small table beside it, so that
 * a second lane has work), in a child process.
 */
async function exportRowOf(db: TestDatabase, dir: string, mib: number, jobs = 1, run = 1): Promise<Figures> {
  await db.sql.unsafe(`DROP TABLE IF EXISTS blob, beside; CREATE TABLE blob (id int, body text); CREATE TABLE beside AS SELECT g AS id FROM generate_series(1, 5000) g`);
  // md5 chains: the value really is that large on the wire
  await db.sql.unsafe(`INSERT INTO blob SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, ${(mib * MiB) / 32}) g`);
  const out = join(dir, `row-${mib}-${run}.sql`);
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', child, db.url, out, String(jobs)], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const figures = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Figures;
  assert.equal(figures.rows, 5001);
  assert.ok(figures.dataBytes > mib * MiB);
  assert.ok((await stat(out)).size > mib * MiB);
  await rm(out);
  return figures;
}

for (const jobs of [1, 2]) {
  test(`a 100 MB row streams through with ${jobs} lane(s): memory does not grow with the row`, async (t) => {
    const db = await createDatabase(`large_row_${jobs}`);
    const dir = await mkdtemp(join(tmpdir(), 'mbsync-large-'));
    t.after(async () => {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    });
    const growth = (f: Figures) => f.maxRss - f.rssBefore;
    // the fixed amount varies with when the collector runs (18-29 MiB for the same 25 MiB export, 34-46 MiB for the
    // same 100 MiB one, seen on a 2-core machine): each size is exported twice and the means compared
    const smallRuns = [await exportRowOf(db, dir, 25, jobs, 1), await exportRowOf(db, dir, 25, jobs, 2)];
    const largeRuns = [await exportRowOf(db, dir, 100, jobs, 1), await exportRowOf(db, dir, 100, jobs, 2)];
    const mean = (runs: Figures[]) => runs.reduce((n, f) => n + growth(f), 0) / runs.length;
    const mib = (runs: Figures[]) => runs.map((f) => (growth(f) / MiB).toFixed(0)).join(' and ');
    t.diagnostic(`RSS growth while exporting: ${mib(smallRuns)} MiB for a 25 MiB row, ${mib(largeRuns)} MiB for a 100 MiB row (peak ${(Math.max(...largeRuns.map((f) => f.maxRss)) / MiB).toFixed(0)} MiB incl. the tsx runtime)`);
    // Holding the row even once would add 100 MiB (the unpatched driver needs twice that); streaming adds a
    // fixed amount of buffers and GC slack, the same for both sizes. With 2 lanes a lane gathers at most one
    // block (8 MiB) and then hands the row on as it comes.
    for (const large of largeRuns) assert.ok(growth(large) < 64 * MiB, `RSS grew by ${(growth(large) / MiB).toFixed(0)} MiB for a 100 MiB row`);
    assert.ok(mean(largeRuns) - mean(smallRuns) < 24 * MiB, 'growth must not follow the row size');
  });
}
