import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase, formatBytes, parseSize, type Shape } from './bench-database.js';
import { BENCH_OPTIONS, SHAPE_OPTIONS, parseRuns, shapesOf, startupText } from './export-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, measureStartup, median, type Command, type Measurement } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';

export const syncHelp = `Usage: pnpm bench sync [--shape bytea|enum-wide|many-tables|supabase | --shapes a,b] [--size 1GB] [--runs 3] [--jobs <n>]
                  [--peers pg_dump,pgcopydb,pgcopydb-j2] [--db <name>] [--no-record]

Times 'mbsync sync --no-backup' (streaming, no dump file) against 'pg_dump | psql --single-transaction' and
'pgcopydb clone' (Debian package pgcopydb) twice: with its defaults (4 table jobs, 4 index jobs) and with
'--table-jobs 2 --index-jobs 2' (one per core here), each into a freshly created empty database that is dropped
afterwards, rotating the order run after run. After every run the target's per-table row counts are compared with
the source's. A peer that exits non-zero is recorded as 'failed: <reason>' and the bench goes on. Prints median
wall time, peak RSS and MB/s (source pg_database_size / wall); appends the table, named after the shape, to
docs/benchmarks.md unless --no-record. With --shapes, one table per shape, one shape after the other.

Targets: wall-time ratio <= 0.75 against pg_dump | psql and <= 0.85 against the faster pgcopydb variant,
mbsync peak RSS <= 200 MB.

Options:
  --shape <shape>   bench database shape (see 'pnpm bench generate'); default bytea
  --shapes <list>   several shapes (comma-separated, or 'all'), one table each; instead of --shape
  --size <size>     bench database size; default 1GB
  --db <name>       bench database name; default mbsync_bench_<shape>_<size>
  --runs <n>        runs of each tool; default 3
  --jobs <n>        passed to 'mbsync sync --jobs' (default: mbsync's own default)
  --peers <list>    which peers to run (comma-separated): pg_dump, pgcopydb (defaults), pgcopydb-j2 (2 table and
                    2 index jobs); default all three
  --no-record       print only, do not append to docs/benchmarks.md
  -h, --help        show this help`;

type Peer = 'pg_dump' | 'pgcopydb' | 'pgcopydb-j2';
const PEERS: readonly Peer[] = ['pg_dump', 'pgcopydb', 'pgcopydb-j2'];
const PEER_LABELS: Record<Peer, string> = {
  pg_dump: 'pg_dump | psql --single-transaction',
  pgcopydb: 'pgcopydb clone (defaults: 4+4 jobs)',
  'pgcopydb-j2': 'pgcopydb clone --table-jobs 2 --index-jobs 2',
};
/** our median wall time over pg_dump | psql's, at most (the help text repeats the targets) */
const RATIO_TARGETS = { pg_dump: 0.75 } as const;
/** our median wall time over the faster pgcopydb variant's, at most */
const PGCOPYDB_RATIO_TARGET = 0.85;
const RSS_TARGET_BYTES = 200 * 1024 ** 2;

export interface ToolRuns {
  label: string;
  walls: number[];
  /** peak RSS per run, per pipeline stage */
  peakRss: number[][];
  rowChecks: boolean[];
  /** why runs failed (tools that may fail only), one entry per failed run */
  failures: string[];
}

export async function syncBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BENCH_OPTIONS,
      ...SHAPE_OPTIONS,
      jobs: { type: 'string' },
      peers: { type: 'string', default: PEERS.join(',') },
    },
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const peers = parsePeers(values.peers);
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) throw new Error(`--jobs must be a positive integer, got "${values.jobs}"`);
  const shapes = shapesOf(values);
  for (const shape of shapes) {
    if (signal.aborted) break;
    if (shapes.length > 1) log(`\n=== shape ${shape} ===`);
    await syncBenchShape({ shape, bytes: parseSize(values.size), name: values.db, runs, peers, jobs: values.jobs, record: !values['no-record'] }, signal);
  }
}

interface SyncBenchOptions { shape: Shape; bytes: number; name: string | undefined; runs: number; peers: Peer[]; jobs: string | undefined; record: boolean }

async function syncBenchShape(options: SyncBenchOptions, signal: AbortSignal): Promise<void> {
  const { shape, runs, peers } = options;
  const db = await ensureBenchDatabase(options.bytes, { shape, name: options.name });
  const sourceCounts = await countRows(db.url);
  const totalRows = [...sourceCounts.values()].reduce((a, b) => a + b, 0);
  log(`database ${db.name} (shape ${shape}): ${formatBytes(db.sizeBytes)}, ${sourceCounts.size} tables, ${totalRows.toLocaleString('en-US')} rows`);

  const jobsArgs = options.jobs === undefined ? [] : ['--jobs', options.jobs];
  const newRuns = (label: string): ToolRuns => ({ label, walls: [], peakRss: [], rowChecks: [], failures: [] });
  const ours = newRuns(`mbsync sync --no-backup${jobsArgs.length ? ` --jobs ${options.jobs}` : ''}`);
  const peerRuns = new Map<Peer, ToolRuns>();
  const tools: TargetTool[] = [
    { runs: ours, stages: (target) => [mbsyncCommand(['sync', '--from', db.url, '--to', target, '--no-backup', ...jobsArgs])] },
  ];
  for (const peer of peers) {
    const runs = newRuns(PEER_LABELS[peer]);
    peerRuns.set(peer, runs);
    tools.push({ runs, mayFail: true, stages: (target, scratch) => peerStages(peer, db.url, target, scratch) });
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

  const ok = (t: ToolRuns) => t.walls.length > 0;
  const ourRss = Math.max(...ours.peakRss.map((r) => r[0]!));
  const stagePeaks = (t: ToolRuns) => t.peakRss[0]!.map((_, i) => Math.max(...t.peakRss.map((r) => r[i]!)));
  const peerRss = (peer: Peer | undefined, t: ToolRuns) =>
    peer === 'pg_dump' ? stagePeaks(t).map((b, i) => `${i === 0 ? 'pg_dump' : 'psql'} ${megabytes(b)}`).join(', ') : megabytes(stagePeaks(t)[0]!);
  const peerOf = (t: ToolRuns) => [...peerRuns].find(([, r]) => r === t)?.[0];
  // the ratio target against pgcopydb is taken against whichever of its two variants was faster here
  const copydbs = [...peerRuns].filter(([p, t]) => p !== 'pg_dump' && ok(t)).sort(([, a], [, b]) => median(a.walls) - median(b.walls));
  const bestCopydb = copydbs[0]?.[1];
  const targetText = (t: ToolRuns) => {
    if (t === ours) return `RSS <= ${megabytes(RSS_TARGET_BYTES)} MB`;
    if (peerOf(t) === 'pg_dump') return `ours/this <= ${RATIO_TARGETS.pg_dump}`;
    return t === bestCopydb ? `ours/this <= ${PGCOPYDB_RATIO_TARGET} (faster pgcopydb)` : '';
  };
  const failedText = (t: ToolRuns) => `failed: ${t.failures[0] ?? '?'}`;
  const rows = [ours, ...peerRuns.values()];
  const table = renderTable(
    ['shape', 'tool', 'median wall (s)', 'runs (s)', 'peak RSS (MB)', 'MB/s', 'row counts', 'target'],
    rows.map((t) => [
      shape,
      t.label,
      ok(t) ? seconds(median(t.walls)) : failedText(t),
      [...t.walls.map(seconds), ...t.failures.map(() => 'failed')].join(' / '),
      !ok(t) ? '' : t === ours ? megabytes(stagePeaks(t)[0]!) : peerRss(peerOf(t), t),
      ok(t) ? (db.sizeBytes / 1024 ** 2 / median(t.walls)).toFixed(0) : '',
      ok(t) ? `${t.rowChecks.filter(Boolean).length}/${t.rowChecks.length} equal` : '',
      targetText(t),
    ]),
  );
  const ratioLine = (t: ToolRuns, target: number, what: string) => {
    const ratio = median(ours.walls) / median(t.walls);
    return `ratio ours/${what} (median wall): ${ratio.toFixed(2)} (target <= ${target}: ${verdict(ratio <= target)})`;
  };
  const pgDump = peerRuns.get('pg_dump');
  const summary = [
    ...(pgDump ? [ok(pgDump) ? ratioLine(pgDump, RATIO_TARGETS.pg_dump, pgDump.label) : `${pgDump.label}: ${failedText(pgDump)}`] : []),
    ...(bestCopydb ? [ratioLine(bestCopydb, PGCOPYDB_RATIO_TARGET, `${bestCopydb.label}, the faster pgcopydb`)] : []),
    ...[...peerRuns].filter(([p, t]) => p !== 'pg_dump' && t.failures.length > 0)
      .map(([, t]) => `${t.label}: ${t.failures.length}/${runs} runs failed: ${t.failures[0]}`),
    ...rows.filter((t) => t.rowChecks.some((c) => !c)).map((t) => `${t.label}: row counts DIFFER from the source's in ${t.rowChecks.filter((c) => !c).length} runs`),
    `mbsync peak RSS: ${megabytes(ourRss)} MB (target <= ${megabytes(RSS_TARGET_BYTES)} MB: ${verdict(ourRss <= RSS_TARGET_BYTES)})`,
    `${startupText(startup)} (included in mbsync's wall time)`,
  ].join('\n');
  const notes = `Source ${db.name} (shape ${shape}, ${formatBytes(db.sizeBytes)}, ${sourceCounts.size} tables, ${totalRows.toLocaleString('en-US')} rows), `
    + `${runs} runs of each, order rotated run after run, each into a fresh empty database; pgcopydb clone with a fresh --dir, `
    + 'its VACUUM ANALYZE of each table included, once with its defaults (4 table jobs, 4 index jobs) and once with 2 and 2; '
    + 'MB = 2^20 bytes; MB/s = source pg_database_size / wall time; '
    + `mbsync wall includes node start-up (built CLI); row counts = count(*) of every table, target vs source. ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary}\n\n${notes}`);
  if (options.record) {
    const machineSql = connectAdmin();
    try {
      const file = await appendResults(`Sync, shape ${shape}, ${formatBytes(db.sizeBytes)} (mbsync sync vs ${[...peerRuns.values()].map((t) => t.label).join(', ')})`,
        await describeMachine(machineSql), `${table}\n\n${summary.split('\n').map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await machineSql.end();
    }
  }
}

/** The pipeline of a peer loading `target` from `source`. */
function peerStages(peer: Peer, source: string, target: string, scratch: string): Command[] {
  if (peer === 'pg_dump') {
    return [
      { command: 'pg_dump', args: [source] },
      { command: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', target] },
    ];
  }
  // a fresh work directory per run: pgcopydb refuses to reuse one without --restart
  const dir = join(scratch, `pgcopydb-${randomBytes(4).toString('hex')}`);
  const jobs = peer === 'pgcopydb-j2' ? ['--table-jobs', '2', '--index-jobs', '2'] : [];
  return [{ command: 'pgcopydb', args: ['clone', '--source', source, '--target', target, '--dir', dir, ...jobs] }];
}

/** A tool that loads a fresh empty target database: the pipeline it runs for a target URL. */
export interface TargetTool {
  runs: ToolRuns;
  stages: (target: string, scratch: string) => Command[];
  /** a peer: a non-zero exit is recorded in runs.failures instead of stopping the bench */
  mayFail?: boolean;
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
          if (m.exitCode !== 0 && tool.mayFail) {
            const reason = failureReason(m);
            tool.runs.failures.push(reason);
            log(`run ${run}/${runs} ${tool.runs.label.padEnd(44)} FAILED after ${seconds(m.wallSeconds)} s (exit ${m.exitCode}): ${reason}`);
            if (process.env.MBSYNC_DEBUG) log(m.stderrTail);
            continue;
          }
          if (m.exitCode !== 0) throw new Error(`${tool.runs.label} exited ${m.exitCode}:\n${m.stderrTail.trim()}`);
          const observed = observer?.finished(tool, m);
          const mismatches = compareCounts(sourceCounts, await countRows(benchUrl(target)));
          tool.runs.walls.push(m.wallSeconds);
          tool.runs.peakRss.push(m.processes.map((p) => p.peakRssBytes));
          tool.runs.rowChecks.push(mismatches.length === 0);
          log(`run ${run}/${runs} ${tool.runs.label.padEnd(44)} ${seconds(m.wallSeconds).padStart(6)} s  peak RSS ${rssList(m)} MB  `
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
  const names = text.split(',').map((p) => p.trim()).filter(Boolean);
  return names.map((name) => {
    const peer = PEERS.find((p) => p === name);
    if (!peer) throw new Error(`--peers: unknown peer "${name}" (${PEERS.join(', ')})`);
    return peer;
  });
}

/** The line of a failed run's stderr that says why: its first ERROR/FATAL line (pgcopydb logs many), else its last line. */
function failureReason(m: Measurement): string {
  const lines = m.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /\b(ERROR|FATAL)\b/.test(l)) ?? lines.at(-1) ?? `exit ${m.exitCode}`;
  // pgcopydb prefixes "16:17:11 9863 ERROR  "; keep the message
  return line.replace(/^\d\d:\d\d:\d\d \d+ (ERROR|FATAL)\s+/, '').slice(0, 200);
}

/** count(*) of every ordinary table outside the system schemas, keyed by schema.table. */
/** count(*) of every table but the system's and mbsync's own record of the copy (mbsync_meta). */
export async function countRows(url: string): Promise<Map<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mbsync_meta') AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1`;
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
