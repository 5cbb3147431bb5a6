import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runExport, runSync } from '@mbsync/execution';
import { describeEnvironment, type JobProgress, loadCoreConfig } from '@mbsync/jobs';
import { benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase, formatBytes, parseSize } from './bench-database.js';
import { BENCH_OPTIONS, parseRuns } from './export-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { median } from './measure.js';
import { appendResults, describeMachine, renderTable, seconds, verdict } from './report.js';

export const progressHelp = `Usage: pnpm bench progress [--size 1GB] [--runs 5] [--db <name>] [--no-record]

What progress reporting costs. 'export' (to a file) and 'sync' (into a fresh empty database, --no-backup)
run in this process through the same runners the CLI and the worker use, alternately with progress off
(no callback: the meters only count) and on (every report formatted as the CLI's --json line and written
to /dev/null). Prints the median wall time of each, the on/off ratio, and the time spent inside the
progress callback as a share of the wall time. The table is appended to docs/benchmarks.md unless --no-record.

Target: progress costs < 2 % of wall time.

Options:
  --size <size>   bench database size (see 'pnpm bench generate'); default 1GB
  --db <name>     bench database name; default mbsync_bench_bytea_<size> (the bytea shape)
  --runs <n>      runs of each mode and job; default 5
  --no-record     print only, do not append to docs/benchmarks.md
  -h, --help      show this help`;

const TARGET_SHARE = 0.02;

interface ModeRuns {
  walls: number[];
  /** seconds inside the progress callback, per run */
  callback: number[];
  reports: number[];
}

type Job = 'export' | 'sync';
type Mode = 'off' | 'on';

export async function progressBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...BENCH_OPTIONS, runs: { type: 'string', default: '5' } },
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const db = await ensureBenchDatabase(parseSize(values.size), { name: values.db });
  const source = describeEnvironment('bench', db.url);
  const config = loadCoreConfig({ ...process.env, DISK_RESERVE_MB: '0' });
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-progress-'));
  const admin = connectAdmin();
  const devNull = openSync('/dev/null', 'w');
  const results = new Map<string, ModeRuns>();
  const runsOf = (job: Job, mode: Mode) => {
    const key = `${job}/${mode}`;
    if (!results.has(key)) results.set(key, { walls: [], callback: [], reports: [] });
    return results.get(key)!;
  };

  const once = async (job: Job, mode: Mode): Promise<void> => {
    let spent = 0;
    let reports = 0;
    const onProgress = mode === 'off' ? undefined : (p: JobProgress) => {
      const t0 = performance.now();
      writeSync(devNull, JSON.stringify({ type: 'progress', ...p }) + '\n');
      reports++;
      spent += performance.now() - t0;
    };
    const started = performance.now();
    if (job === 'export') {
      const out = join(scratch, `bench-${randomBytes(4).toString('hex')}.sql`);
      await runExport({ source, out, config, signal, onProgress: onProgress && ((p) => onProgress({ ...p, phase: 'export', phases: ['export'] })) });
      const wall = (performance.now() - started) / 1000;
      await rm(out, { force: true });
      await rm(`${out}.manifest.json`, { force: true });
      record(job, mode, wall, spent, reports);
    } else {
      const name = `mbsync_bench_target_${randomBytes(4).toString('hex')}`;
      await createEmptyDatabase(admin, name);
      try {
        await runSync({ source, target: describeEnvironment('bench_target', benchUrl(name)), config, noBackup: true, skipReindex: true, acceptDataLoss: true, signal, onProgress });
        record(job, mode, (performance.now() - started) / 1000, spent, reports);
      } finally {
        await dropBenchDatabase(admin, name);
      }
    }
  };
  const record = (job: Job, mode: Mode, wall: number, spentMs: number, reports: number) => {
    const r = runsOf(job, mode);
    r.walls.push(wall);
    r.callback.push(spentMs / 1000);
    r.reports.push(reports);
    process.stderr.write(`${job} progress ${mode.padEnd(3)} ${seconds(wall).padStart(6)} s  ${reports} reports, ${(spentMs).toFixed(1)} ms in the callback\n`);
  };

  let machine: string;
  try {
    machine = await describeMachine(admin);
    process.stderr.write(`database ${db.name}: ${formatBytes(db.sizeBytes)}\n`);
    for (let run = 1; run <= runs; run++) {
      // alternate which mode goes first, so neither always inherits the other's warm caches
      const modes: Mode[] = run % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
      for (const job of ['export', 'sync'] as Job[]) for (const mode of modes) await once(job, mode);
    }
  } finally {
    closeSync(devNull);
    await admin.end();
    await rm(scratch, { recursive: true, force: true });
  }

  const rows: string[][] = [];
  const summary: string[] = [];
  for (const job of ['export', 'sync'] as Job[]) {
    const off = runsOf(job, 'off');
    const on = runsOf(job, 'on');
    const ratio = median(on.walls) / median(off.walls);
    const share = Math.max(...on.callback.map((c, i) => c / on.walls[i]!));
    rows.push([job, seconds(median(off.walls)), off.walls.map(seconds).join(' / '), seconds(median(on.walls)), on.walls.map(seconds).join(' / '),
      ratio.toFixed(3), String(median(on.reports)), `${(share * 100).toFixed(3)} %`]);
    summary.push(`- ${job}: on/off ${ratio.toFixed(3)} (noise on this shared machine is a few %, either way); time inside the progress callback at most `
      + `${(share * 100).toFixed(3)} % of the wall time (target < ${TARGET_SHARE * 100} %: ${verdict(share < TARGET_SHARE)})`);
  }
  const table = renderTable(['job', 'off: median (s)', 'off: runs (s)', 'on: median (s)', 'on: runs (s)', 'on/off', 'reports per run', 'callback share (max)'], rows);
  const body = [
    table,
    '',
    ...summary,
    '',
    `Database ${db.name} (${formatBytes(db.sizeBytes)}), ${runs} runs of each job in each mode, in this process (the runners the CLI and the worker use), `
      + 'modes alternated; off = no progress callback (the meters still count), on = every report formatted as a --json line and written to /dev/null; '
      + 'sync = streaming replace sync into a fresh empty database with --no-backup and no reindex.',
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  if (!values['no-record']) process.stdout.write(`appended to ${await appendResults(`Progress cost, ${formatBytes(db.sizeBytes)}`, machine, body)}\n`);
}
