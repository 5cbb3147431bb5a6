import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAdmin, formatBytes, parseShape, parseShapes, parseSize, type Shape } from './bench-database.js';
import { exportTlsBench } from './export-tls-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, measureStartup, median, type Command } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';

export const exportHelp = `Usage: pnpm bench export [--shape <shape> | --shapes a,b] [--size 1GB] [--runs 3] [--db <name>] [--no-record] [--tls]

Times 'mbsync export' against 'pg_dump -Fp' on the generated bench database of a shape (made first when missing),
alternating the two tools run after run, and prints median wall time, peak RSS and MB/s of each, with
the ratio ours/pg_dump. The table, named after the shape, is appended to docs/benchmarks.md unless --no-record.

Targets: wall-time ratio <= 1.0, mbsync peak RSS <= 200 MB.

Options:
  --shape <shape> bytea (default), enum-wide, many-tables or supabase (see 'pnpm bench generate')
  --shapes <list> several shapes (comma-separated, or 'all'), one table each; instead of --shape
  --size <size>   bench database size (see 'pnpm bench generate'); default 1GB
  --db <name>     bench database name; default mbsync_bench_<shape>_<size>
  --runs <n>      runs of each tool; default 3
  --no-record     print only, do not append to docs/benchmarks.md
  --tls           TLS vs plain TCP instead: starts a throwaway PostgreSQL with ssl=on (certificate from a test
                  CA), generates the bench database there (--size, e.g. 200MB), and times mbsync export and
                  pg_dump over plain TCP and over TLS (sslmode=verify-full); the CPU column is the steadier one
  -h, --help      show this help`;

const RATIO_TARGET = 1.0;
const RSS_TARGET_BYTES = 200 * 1024 ** 2;

interface ToolRuns {
  label: string;
  walls: number[];
  peakRss: number[];
  fileBytes: number[];
}

export async function exportBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...BENCH_OPTIONS, ...SHAPE_OPTIONS, tls: { type: 'boolean', default: false } },
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const bytes = parseSize(values.size);
  if (values.tls) {
    if (values.db) throw new Error('--db does not go with --tls: the bench database is generated in a throwaway server');
    if (values.shapes !== undefined || values.shape !== 'bytea') throw new Error('--tls runs on the bytea shape only');
    await exportTlsBench({ bytes, runs, record: !values['no-record'], signal });
    return;
  }
  const shapes = shapesOf(values);
  for (const shape of shapes) {
    if (signal.aborted) break;
    if (shapes.length > 1) log(`\n=== shape ${shape} ===`);
    await exportBenchShape(shape, { bytes, runs, name: values.db, record: !values['no-record'] }, signal);
  }
}

async function exportBenchShape(shape: Shape, options: { bytes: number; runs: number; name: string | undefined; record: boolean }, signal: AbortSignal): Promise<void> {
  const { runs } = options;
  const db = await ensureBenchDatabase(options.bytes, { shape, name: options.name });
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-export-'));
  const ours: ToolRuns = { label: 'mbsync export', walls: [], peakRss: [], fileBytes: [] };
  const theirs: ToolRuns = { label: 'pg_dump -Fp', walls: [], peakRss: [], fileBytes: [] };
  const oursFile = join(scratch, 'ours.sql');
  const theirsFile = join(scratch, 'pgdump.sql');
  const tools: { runs: ToolRuns; file: string; command: Command; cleanup: string[] }[] = [
    { runs: ours, file: oursFile, command: mbsyncCommand(['export', '--from', db.url, '--out', oursFile]), cleanup: [oursFile, `${oursFile}.manifest.json`] },
    { runs: theirs, file: theirsFile, command: { command: 'pg_dump', args: ['-Fp', '-f', theirsFile, db.url] }, cleanup: [theirsFile] },
  ];
  let startup: { wallSeconds: number; peakRssBytes: number };
  try {
    startup = await measureStartup({ scratch, signal });
    log(`database ${db.name} (shape ${shape}): ${formatBytes(db.sizeBytes)}; ${startupText(startup)}`);
    for (let run = 1; run <= runs; run++) {
      // alternate which tool goes first, so neither always inherits the other's warm caches
      const order = run % 2 === 1 ? tools : [...tools].reverse();
      for (const tool of order) {
        const m = await measure([tool.command], { scratch, cwd: REPO_ROOT, signal });
        if (m.exitCode !== 0) throw new Error(`${tool.runs.label} exited ${m.exitCode}:\n${m.stderrTail.trim()}`);
        const fileBytes = (await stat(tool.file)).size;
        tool.runs.walls.push(m.wallSeconds);
        tool.runs.peakRss.push(m.processes[0]!.peakRssBytes);
        tool.runs.fileBytes.push(fileBytes);
        log(`run ${run}/${runs} ${tool.runs.label.padEnd(13)} ${seconds(m.wallSeconds).padStart(6)} s  `
          + `peak RSS ${megabytes(m.processes[0]!.peakRssBytes).padStart(5)} MB  file ${megabytes(fileBytes)} MB`);
        await Promise.all(tool.cleanup.map((f) => rm(f, { force: true })));
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const ratio = median(ours.walls) / median(theirs.walls);
  const ourRss = Math.max(...ours.peakRss);
  const table = renderTable(
    ['shape', 'tool', 'median wall (s)', 'runs (s)', 'peak RSS (MB)', 'file (MB)', 'MB/s', 'target'],
    [ours, theirs].map((t) => [
      shape,
      t.label,
      seconds(median(t.walls)),
      t.walls.map(seconds).join(' / '),
      megabytes(Math.max(...t.peakRss)),
      megabytes(median(t.fileBytes)),
      (median(t.fileBytes) / 1024 ** 2 / median(t.walls)).toFixed(0),
      t === ours ? `RSS <= ${megabytes(RSS_TARGET_BYTES)} MB` : '',
    ]),
  );
  const summary = [
    `ratio ours/pg_dump (median wall): ${ratio.toFixed(2)} (target <= ${RATIO_TARGET}: ${verdict(ratio <= RATIO_TARGET)})`,
    `mbsync peak RSS: ${megabytes(ourRss)} MB (target <= ${megabytes(RSS_TARGET_BYTES)} MB: ${verdict(ourRss <= RSS_TARGET_BYTES)})`,
    `${startupText(startup)}; ratio with it taken off: ${((median(ours.walls) - startup.wallSeconds) / median(theirs.walls)).toFixed(2)} (information only)`,
  ].join('\n');
  const notes = `Database ${db.name} (shape ${shape}, ${formatBytes(db.sizeBytes)}), ${runs} runs of each tool, alternating; `
    + `MB = 2^20 bytes; MB/s = dump file size / wall time; mbsync wall includes node start-up (built CLI). ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary}\n\n${notes}`);
  if (options.record) {
    const admin = connectAdmin();
    try {
      const machine = await describeMachine(admin);
      const file = await appendResults(`Export, shape ${shape}, ${formatBytes(db.sizeBytes)} (mbsync export vs pg_dump)`, machine,
        `${table}\n\n${summary.split('\n').map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await admin.end();
    }
  }
}

/** One phrase describing the CLI's fixed start-up cost. */
export function startupText(startup: { wallSeconds: number; peakRssBytes: number }): string {
  return `mbsync CLI start-up alone ('mbsync --help', median of 3): ${seconds(startup.wallSeconds)} s, peak RSS ${megabytes(startup.peakRssBytes)} MB`;
}

/** The options every side-by-side bench takes (--size, --db, --runs, --no-record), for parseArgs. */
export const BENCH_OPTIONS = {
  size: { type: 'string', default: '1GB' },
  db: { type: 'string' },
  runs: { type: 'string', default: '3' },
  'no-record': { type: 'boolean', default: false },
} as const;

/** --shape and --shapes, for the benches that run on any generated shape (sync, export). */
export const SHAPE_OPTIONS = {
  shape: { type: 'string', default: 'bytea' },
  shapes: { type: 'string' },
} as const;

/** The shapes --shape/--shapes ask for; --db names one database, so it goes with one shape only. */
export function shapesOf(values: { shape: string; shapes?: string | undefined; db?: string | undefined }): Shape[] {
  const shapes = values.shapes === undefined ? [parseShape(values.shape)] : parseShapes(values.shapes);
  if (shapes.length > 1 && values.db !== undefined) throw new Error('--db names one database: it does not go with several --shapes');
  return shapes;
}

export function parseRuns(text: string): number {
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not "${text}"`);
  return runs;
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
