import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAdmin, formatBytes, parseSize } from './bench-database.js';
import { BENCH_OPTIONS, parseRuns, startupText } from './export-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, measureStartup, median } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';
import { countRows, runIntoFreshTargets, type TargetTool, type ToolRuns } from './sync-bench.js';

export const importHelp = `Usage: pnpm bench import [--size 1GB] [--runs 3] [--db <name>] [--no-record]

Times 'mbsync import --no-backup' against 'psql --single-transaction -f', both restoring the same dump file
into a freshly created empty database that is dropped afterwards, rotating the order run after run. The file
is made once with 'mbsync export --jobs 1' (one COPY block per table, as pg_dump writes it; psql restores it
as it restores pg_dump's plain output). After every run the target's per-table row counts are compared with
the source's. Prints median wall time, peak RSS and MB/s (dump file size / wall); appends the table to
docs/benchmarks.md unless --no-record.

Targets: mbsync peak RSS <= 256 MB; the ratio ours/psql is printed for information (the issue sets none:
the import of a file is one transaction, like psql's, and the speed-up is the parallel sync's).

Options:
  --size <size>   bench database size (see 'pnpm bench generate'); default 1GB
  --db <name>     bench database name; default mbsync_bench_bytea_<size> (the bytea shape)
  --runs <n>      runs of each tool; default 3
  --no-record     print only, do not append to docs/benchmarks.md
  -h, --help      show this help`;

const RSS_TARGET_BYTES = 256 * 1024 ** 2;

export async function importBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: BENCH_OPTIONS,
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const db = await ensureBenchDatabase(parseSize(values.size), { name: values.db });
  const sourceCounts = await countRows(db.url);
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-import-'));
  const dump = join(scratch, 'source.sql');
  const ours: ToolRuns = { label: 'mbsync import --no-backup', walls: [], peakRss: [], rowChecks: [], failures: [] };
  const psql: ToolRuns = { label: 'psql --single-transaction -f', walls: [], peakRss: [], rowChecks: [], failures: [] };
  const tools: TargetTool[] = [
    { runs: ours, stages: (target) => [mbsyncCommand(['import', '--in', dump, '--to', target, '--no-backup'])] },
    { runs: psql, stages: (target) => [{ command: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', target, '-f', dump] }] },
  ];
  let startup: { wallSeconds: number; peakRssBytes: number };
  let fileBytes: number;
  try {
    const made = await measure([mbsyncCommand(['export', '--from', db.url, '--out', dump, '--jobs', '1'])], { scratch, cwd: REPO_ROOT, signal });
    if (made.exitCode !== 0) throw new Error(`mbsync export exited ${made.exitCode}:\n${made.stderrTail.trim()}`);
    fileBytes = (await stat(dump)).size;
    log(`database ${db.name}: ${formatBytes(db.sizeBytes)}; dump file ${formatBytes(fileBytes)}`);
    startup = await measureStartup({ scratch, signal });
    log(startupText(startup));
    await runIntoFreshTargets(tools, runs, sourceCounts, scratch, signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const peak = (t: ToolRuns) => Math.max(...t.peakRss.map((r) => r[0]!));
  const table = renderTable(
    ['tool', 'median wall (s)', 'runs (s)', 'peak RSS (MB)', 'MB/s', 'row counts'],
    [ours, psql].map((t) => [
      t.label,
      seconds(median(t.walls)),
      t.walls.map(seconds).join(' / '),
      megabytes(peak(t)),
      (fileBytes / 1024 ** 2 / median(t.walls)).toFixed(0),
      `${t.rowChecks.filter(Boolean).length}/${t.rowChecks.length} equal`,
    ]),
  );
  const ratio = median(ours.walls) / median(psql.walls);
  const summary = [
    `ratio ours/psql (median wall): ${ratio.toFixed(2)} (information)`,
    `mbsync peak RSS: ${megabytes(peak(ours))} MB (target <= ${megabytes(RSS_TARGET_BYTES)} MB: ${verdict(peak(ours) <= RSS_TARGET_BYTES)})`,
    `${startupText(startup)} (included in mbsync's wall time)`,
  ].join('\n');
  const notes = `Source ${db.name} (${formatBytes(db.sizeBytes)}), one dump file of ${formatBytes(fileBytes)} made by mbsync export --jobs 1, restored ${runs} times by each tool, `
    + 'order rotated run after run, each into a fresh empty database; mbsync import: one transaction, COPY FREEZE into the tables it creates, '
    + `row counts checked against the manifest before COMMIT; MB = 2^20 bytes; MB/s = dump file size / wall time; row counts = count(*) of every table, target vs source. ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary}\n\n${notes}`);
  if (!values['no-record']) {
    const machineSql = connectAdmin();
    try {
      log(`appended to ${await appendResults(`Import, ${formatBytes(db.sizeBytes)} (mbsync import vs psql)`, await describeMachine(machineSql), `${table}\n\n${summary.split('\n').map((l) => `- ${l}`).join('\n')}\n\n${notes}`)}`);
    } finally {
      await machineSql.end();
    }
  }
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
