#!/usr/bin/env node
// Lists every *.test.ts in the repository and runs them with node:test + tsx.
// `node --test dir/` finds nothing on Node 20 for .ts files and exits 0, so we list the files
// ourselves and fail when there are none. Extra arguments are taken as path filters.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const skipDirs = new Set(['node_modules', 'dist', '.git', '.bench']);

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) out.push(...findTests(join(dir, entry.name)));
    } else if (entry.name.endsWith('.test.ts')) {
      out.push(relative(root, join(dir, entry.name)));
    }
  }
  return out;
}

const filters = process.argv.slice(2);
const files = findTests(root)
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files found${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// Browser tests drive real api/worker processes and Chromium with timing-sensitive steps (an api restart
// mid-job): they run on their own after the rest, so the other suites' load cannot starve them.
const browser = files.filter((f) => f.includes('dashboard'));
const others = files.filter((f) => !browser.includes(f));
let status = 0;
for (const [group, groupConcurrency] of [[others, concurrency], [browser, '1']]) {
  if (group.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--test', `--test-concurrency=${groupConcurrency}`, ...group],
    { cwd: root, stdio: 'inherit' },
  );
  if ((result.status ?? 1) !== 0) status = result.status ?? 1;
}
process.exit(status);
