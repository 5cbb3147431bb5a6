import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase, formatBytes, parseSize } from './bench-database.js';
import { BENCH_OPTIONS, parseRuns, startupText } from './export-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, measureStartup, median, type Command, type Measurement } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';

export const syncHelp = `Usage: pnpm bench sync [--size 1GB] [--runs 3] [--jobs <n>] [--peers pg_dump,pgcopydb] [--db <name>] [--no-record]

Times 'mbsync sync --no-backup' (streaming, no dump file) against 'pg_dump | psql --single-transaction' and
'pgcopydb clone' (Debian package pgcopydb, its default table and index jobs), each into a freshly created empty
database that is dropped afterwards, rotating the order run after run. After every run the target's per-table
row counts are compared with the source's. Prints median wall time, peak RSS and MB/s (source
pg_database_size / wall); appends the table to docs/benchmarks.md unless --no-record.

Targets: wall-time ratio <= 0.8 against pg_dump | psql and <= 1.0 against pgcopydb clone, mbsync peak RSS <= 256 MB.

Options:
  --size <size>   bench database size (see 'pnpm bench generate'); default 1GB
  --db <name>     bench database name; default mbsync_bench_<size>
  --runs <n>      runs of each tool; default 3
  --jobs <n>      passed to 'mbsync sync --jobs' (default: mbsync's own default)
  --peers <list>  which peers to run: pg_dump, pgcopydb or both (comma-separated); default both
  --no-record     print only, do not append to docs/benchmarks.md
  -h, --help      show this help`;

/** our wall time over each peer's, at most */
const RATIO_TARGETS: Record<Peer, number> = { pg_dump: 0.8, pgcopydb: 1.0 };
type Peer = 'pg_dump' | 'pgcopydb';
const RSS_TARGET_BYTES = 256 * 1024 ** 2;

export interface ToolRuns {
  label: string;
  walls: number[];
  /** peak RSS per run, per pipeline stage */
  peakRss: number[][];
  rowChecks: boolean[];
}

export async function syncBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BENCH_OPTIONS,
      jobs: { type: 'string' },
      peers: { type: 'string', default: 'pg_dump,pgcopydb' },
    },
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const db = await ensureBenchDatabase(parseSize(values.size), { name: values.db });
  const sourceCounts = await countRows(db.url);
  const totalRows = [...sourceCounts.values()].reduce((a, b) => a + b, 0);
  log(`database ${db.name}: ${formatBytes(db.sizeBytes)}, ${sourceCounts.size} tables, ${totalRows.toLocaleString('en-US')} rows`);

  const peers = parsePeers(values.peers);
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) throw new Error(`--jobs must be a positive integer, got "${values.jobs}"`);
  const jobsArgs = values.jobs === undefined ? [] : ['--jobs', values.jobs];
  const ours: ToolRuns = { label: `mbsync sync --no-backup${jobsArgs.length ? ` --jobs ${values.jobs}` : ''}`, walls: [], peakRss: [], rowChecks: [] };
  const peerRuns = new Map<Peer, ToolRuns>();
  const tools: TargetTool[] = [
    { runs: ours, stages: (target) => [mbsyncCommand(['sync', '--from', db.url, '--to', target, '--no-backup', ...jobsArgs])] },
  ];
  if (peers.includes('pg_dump')) {
    const runs: ToolRuns = { label: 'pg_dump | psql --single-transaction', walls: [], peakRss: [], rowChecks: [] };
    peerRuns.set('pg_dump', runs);
    tools.push({
      runs,
      stages: (target) => [
        { command: 'pg_dump', args: [db.url] },
        { command: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', target] },
      ],
    });
  }
  if (peers.includes('pgcopydb')) {
    const runs: ToolRuns = { label: 'pgcopydb clone', walls: [], peakRss: [], rowChecks: [] };
    peerRuns.set('pgcopydb', runs);
    // a fresh work directory per run: pgcopydb refuses to reuse one without --restart
    tools.push({ runs, stages: (target, scratch) => [{ command: 'pgcopydb', args: ['clone', '--source', db.url, '--target', target, '--dir', join(scratch, `pgcopydb-${randomBytes(4).toString('hex')}`)] }] });
  }
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-sync-'));
  let startup: { wallSeconds: number; peakRssBytes: number };
  try {
    startup = await measureStartup({ scratch, signal });
    log(startupText(startup));
    await runIntoFreshTargets(tools, runs, sourceCounts, scratch, signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const ourRss = Math.max(...ours.peakRss.map((r) => r[0]!));
  const stagePeaks = (t: ToolRuns) => t.peakRss[0]!.map((_, i) => Math.max(...t.peakRss.map((r) => r[i]!)));
  const peerRss = (peer: Peer | undefined, t: ToolRuns) =>
    peer === 'pg_dump' ? stagePeaks(t).map((b, i) => `${i === 0 ? 'pg_dump' : 'psql'} ${megabytes(b)}`).join(', ') : megabytes(stagePeaks(t)[0]!);
  const rows = [ours, ...peerRuns.values()];
  const peerOf = (t: ToolRuns) => [...peerRuns].find(([, r]) => r === t)?.[0];
  const table = renderTable(
    ['tool', 'median wall (s)', 'runs (s)', 'peak RSS (MB)', 'MB/s', 'row counts', 'target'],
    rows.map((t) => [
      t.label,
      seconds(median(t.walls)),
      t.walls.map(seconds).join(' / '),
      t === ours ? megabytes(stagePeaks(t)[0]!) : peerRss(peerOf(t), t),
      (db.sizeBytes / 1024 ** 2 / median(t.walls)).toFixed(0),
      `${t.rowChecks.filter(Boolean).length}/${t.rowChecks.length} equal`,
      t === ours ? `RSS <= ${megabytes(RSS_TARGET_BYTES)} MB` : `ours/this <= ${RATIO_TARGETS[peerOf(t)!].toFixed(1)}`,
    ]),
  );
  const summary = [
    ...[...peerRuns].map(([peer, t]) => {
      const ratio = median(ours.walls) / median(t.walls);
      return `ratio ours/${t.label} (median wall): ${ratio.toFixed(2)} (target <= ${RATIO_TARGETS[peer].toFixed(1)}: ${verdict(ratio <= RATIO_TARGETS[peer])})`;
    }),
    `mbsync peak RSS: ${megabytes(ourRss)} MB (target <= ${megabytes(RSS_TARGET_BYTES)} MB: ${verdict(ourRss <= RSS_TARGET_BYTES)})`,
    `${startupText(startup)} (included in mbsync's wall time)`,
  ].join('\n');
  const notes = `Source ${db.name} (${formatBytes(db.sizeBytes)}, ${totalRows.toLocaleString('en-US')} rows), ${runs} runs of each, `
    + 'order rotated run after run, each into a fresh empty database; pgcopydb clone with its defaults (4 table jobs, 4 index jobs, '
    + 'VACUUM ANALYZE of each table included) and a fresh --dir; MB = 2^20 bytes; MB/s = source pg_database_size / wall time; '
    + `mbsync wall includes node start-up (built CLI); row counts = count(*) of every table, target vs source. ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary}\n\n${notes}`);
  if (!values['no-record']) {
    const machineSql = connectAdmin();
    try {
      const file = await appendResults(`Sync, ${formatBytes(db.sizeBytes)} (mbsync sync vs ${[...peerRuns.values()].map((t) => t.label).join(' and ')})`, await describeMachine(machineSql),
        `${table}\n\n${summary.split('\n').map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await machineSql.end();
    }
  }
}

/** A tool that loads a fresh empty target database: the pipeline it runs for a target URL. */
export interface TargetTool {
  runs: ToolRuns;
  stages: (target: string, scratch: string) => Command[];
}

/** Takes figures of its own around each measured run (the WAN bench: bytes through its proxy). */
export interface RunObserver {
  /** just before the tool is spawned */
  started(tool: TargetTool): void;
  /** just after it exited (successfully); the text goes on the run's log line */
  finished(tool: TargetTool, measurement: Measurement): string;
}

/**
 * Runs every tool `runs` times, each run into a freshly created empty database that is dropped afterwards, the
 * order rotated run after run; records wall time, peak RSS per stage and whether the target's row counts equal
 * `sourceCounts`.
 */
export async function runIntoFreshTargets(
  tools: TargetTool[], runs: number, sourceCounts: Map<string, number>, scratch: string, signal: AbortSignal, observer?: RunObserver,
): Promise<void> {
  const admin = connectAdmin();
  try {
    for (let run = 1; run <= runs; run++) {
      // rotate who goes first: caches and checkpoints favour no tool in particular
      const order = tools.map((_, i) => tools[(i + run - 1) % tools.length]!);
      for (const tool of order) {
        const target = `mbsync_bench_target_${randomBytes(4).toString('hex')}`;
        await createEmptyDatabase(admin, target);
        try {
          observer?.started(tool);
          const m = await measure(tool.stages(benchUrl(target), scratch), { scratch, cwd: REPO_ROOT, signal });
          if (m.exitCode !== 0) throw new Error(`${tool.runs.label} exited ${m.exitCode}:\n${m.stderrTail.trim()}`);
          const observed = observer?.finished(tool, m);
          const mismatches = compareCounts(sourceCounts, await countRows(benchUrl(target)));
          tool.runs.walls.push(m.wallSeconds);
          tool.runs.peakRss.push(m.processes.map((p) => p.peakRssBytes));
          tool.runs.rowChecks.push(mismatches.length === 0);
          log(`run ${run}/${runs} ${tool.runs.label.padEnd(35)} ${seconds(m.wallSeconds).padStart(6)} s  peak RSS ${rssList(m)} MB  `
            + `row counts ${mismatches.length === 0 ? 'equal' : `DIFFER: ${mismatches.join(', ')}`}${observed ? `  ${observed}` : ''}`);
        } finally {
          await dropBenchDatabase(admin, target);
        }
      }
    }
  } finally {
    await admin.end();
  }
}

function parsePeers(text: string): Peer[] {
  const peers = text.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of peers) if (p !== 'pg_dump' && p !== 'pgcopydb') throw new Error(`--peers: unknown peer "${p}" (pg_dump, pgcopydb)`);
  return peers as Peer[];
}

/** count(*) of every ordinary table outside the system schemas, keyed by schema.table. */
export async function countRows(url: string): Promise<Map<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1`;
    const counts = new Map<string, number>();
    for (const t of tables) {
      const [row] = await sql.unsafe<{ n: string }[]>(`SELECT count(*)::text AS n FROM ${t.name}`);
      counts.set(t.name, Number(row?.n ?? 0));
    }
    return counts;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function compareCounts(source: Map<string, number>, target: Map<string, number>): string[] {
  const names = new Set([...source.keys(), ...target.keys()]);
  return [...names].filter((n) => source.get(n) !== target.get(n)).map((n) => `${n} ${source.get(n) ?? 'absent'} vs ${target.get(n) ?? 'absent'}`);
}

function rssList(m: Measurement): string {
  return m.processes.map((p) => megabytes(p.peakRssBytes)).join(' + ');
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
