import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDatabase } from '@mbsync/testkit';

const child = new URL('./support/export-child.ts', import.meta.url).pathname;
const ROW_BYTES = 100 * 1024 * 1024;

test('a 100 MB row streams through without being held in memory', async (t) => {
  const db = await createDatabase('large_row');
  const dir = await mkdtemp(join(tmpdir(), 'mbsync-large-'));
  t.after(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });
  // md5 chains make the value incompressible enough that it is really 100 MB on the wire
  await db.sql.unsafe(`CREATE TABLE blob (id int, body text)`);
  await db.sql.unsafe(`INSERT INTO blob SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, ${ROW_BYTES / 32}) g`);
  const out = join(dir, 'large.sql');
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', child, db.url, out], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const figures = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { rssBefore: number; maxRss: number; rows: number; dataBytes: number };
  assert.equal(figures.rows, 1);
  assert.ok(figures.dataBytes > ROW_BYTES, `row of ${figures.dataBytes} bytes`);
  assert.ok((await stat(out)).size > ROW_BYTES);
  const growth = figures.maxRss - figures.rssBefore;
  t.diagnostic(`peak RSS ${(figures.maxRss / 1048576).toFixed(0)} MiB, growth during export ${(growth / 1048576).toFixed(0)} MiB for a ${(figures.dataBytes / 1048576).toFixed(0)} MiB row`);
  // buffering the row even once would add 100 MiB; streaming keeps growth to a few buffers
  assert.ok(growth < 40 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(0)} MiB while exporting a 100 MiB row`);
});
