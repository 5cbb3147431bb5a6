import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { startTcpProxy, upstreamOf, type Direction, type TcpProxy } from '../faults/support/tcp-proxy.js';
import { benchUrl, connectAdmin, databaseSize, formatBytes, parseShape, parseSize, readMarker, type Shape } from './bench-database.js';
import { BENCH_OPTIONS, parseRuns, startupText } from './export-bench.js';
import { ensureBenchDatabase, type BenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, mbsyncCommand, measureStartup, median } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';
import { countRows, runIntoFreshTargets, type RunObserver, type TargetTool, type ToolRuns } from './sync-bench.js';

export const wanHelp = `Usage: pnpm bench wan [--link 10ms/200Mbit | --links <link>,<link>…] [--size 1GB] [--db <name>] [--runs 3] [--jobs <n>] [--pgcrypto] [--no-record]

Times 'mbsync sync --no-backup' against 'pg_dump | psql --single-transaction' with the source across a WAN link:
a TCP proxy in this process (test/faults/support/tcp-proxy.ts) stands in front of the local server and delays and
caps every byte between the source and the tools; the target is a fresh local database (no link), dropped afterwards.
Order rotated run after run, row counts checked, as in 'pnpm bench sync'. Prints median wall time, peak RSS, the
bytes that crossed the link each way and the CPU the proxy took; appends the table to docs/benchmarks.md unless
--no-record.

A link is <one-way delay>/<rate>, the same both ways: 10ms/200Mbit is 10 ms each way (a 20 ms round trip) and
200 Mbit/s each way (1 Mbit = 10^6 bits), the rate shared by every connection a tool opens, as on one network path.

mbsync runs with SYNC_COPY_FORMAT=auto, as users do: it measures the source's round trip, and through a link of
2.5 ms or more each way (5 ms round trip) sends its text tables packed, deflated on the source where it has pgcrypto
(see --pgcrypto; without it, in the smaller format on the wire). Set SYNC_COPY_FORMAT in the bench's environment to
run it otherwise (smaller: per table the format of fewer bytes; binary: binary wherever the types allow).

Goal: wall-time ratio ours/pg_dump | psql <= 0.6 on every link.

Options:
  --link <link>    one link; default 10ms/200Mbit
  --links <list>   several links, comma-separated (e.g. 10ms/200Mbit,30ms/50Mbit): each is benched in turn
  --size <size>    bench database size (see 'pnpm bench generate'); default 1GB
  --shape <name>   the bench database's shape (bytea, enum-wide, many-tables, supabase; see 'pnpm bench
                   generate'); default bytea
  --db <name>      bench database name; default mbsync_bench_<shape>_<size>. An existing database is used as it
                   is, never regenerated; an absent one is generated at --size and --shape
  --runs <n>       runs of each tool per link; default 3
  --jobs <n>       passed to 'mbsync sync --jobs' (default: mbsync's own default)
  --pgcrypto       install the pgcrypto extension in the source for the runs (every Supabase project has it), so
                   mbsync can pack there; dropped afterwards if the bench installed it. Both
                   tools then copy the extension too
  --no-record      print only, do not append to docs/benchmarks.md
  -h, --help       show this help`;

/** our median wall time over pg_dump | psql's, at most, on every link */
const RATIO_GOAL = 0.6;
const DEFAULT_LINK = '10ms/200Mbit';

/** A network path: the same one-way delay and rate each way. */
export interface LinkSpec {
  text: string;
  delayMs: number;
  bitsPerSecond: number;
}

/** What one tool's runs sent over the link, per run. */
interface LinkFigures {
  bytes: Record<Direction, number[]>;
  /** CPU seconds of this process (the proxy, essentially) during the run */
  proxyCpu: number[];
}

export async function wanBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...BENCH_OPTIONS, link: { type: 'string' }, links: { type: 'string' }, jobs: { type: 'string' }, shape: { type: 'string' }, pgcrypto: { type: 'boolean' } },
    strict: true,
  });
  if (values.link !== undefined && values.links !== undefined) throw new Error('--link and --links do not go together');
  const links = (values.links ?? values.link ?? DEFAULT_LINK).split(',').map((l) => l.trim()).filter(Boolean).map(parseLink);
  if (links.length === 0) throw new Error('--links: no link given');
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) throw new Error(`--jobs must be a positive integer, got "${values.jobs}"`);
  const runs = parseRuns(values.runs);
  const jobsArgs = values.jobs === undefined ? [] : ['--jobs', values.jobs];
  const db = await sourceDatabase(parseSize(values.size), values.db, parseShape(values.shape ?? 'bytea'));
  const sourceCounts = await countRows(db.url);
  const totalRows = [...sourceCounts.values()].reduce((a, b) => a + b, 0);
  log(`database ${db.name}: ${formatBytes(db.sizeBytes)}, ${sourceCounts.size} tables, ${totalRows.toLocaleString('en-US')} rows`);

  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-wan-'));
  const results: { link: LinkSpec; ours: ToolRuns; theirs: ToolRuns; figures: Map<ToolRuns, LinkFigures> }[] = [];
  let startup: { wallSeconds: number; peakRssBytes: number };
  const installed = values.pgcrypto ? await installPgcrypto(db.url) : false;
  try {
    startup = await measureStartup({ scratch, signal });
    log(startupText(startup));
    for (const link of links) {
      log(`\nlink ${describeLink(link)}`);
      results.push({ link, ...await benchLink(db, link, { runs, jobsArgs, sourceCounts, scratch, signal }) });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    if (installed) await runOn(db.url, 'DROP EXTENSION pgcrypto');
  }

  const rows: string[][] = [];
  const summary: string[] = [];
  for (const { link, ours, theirs, figures } of results) {
    for (const t of [ours, theirs]) {
      const f = figures.get(t)!;
      const down = median(f.bytes.down);
      rows.push([
        link.text,
        t.label,
        seconds(median(t.walls)),
        t.walls.map(seconds).join(' / '),
        stagePeaks(t).map(megabytes).join(' + '),
        mib(down),
        mib(median(f.bytes.up)),
        seconds((Math.max(down, median(f.bytes.up)) * 8) / link.bitsPerSecond),
        seconds(median(f.proxyCpu)),
        `${t.rowChecks.filter(Boolean).length}/${t.rowChecks.length} equal`,
      ]);
    }
    const ratio = median(ours.walls) / median(theirs.walls);
    summary.push(`${link.text}: ratio ours/${theirs.label} (median wall): ${ratio.toFixed(2)} (goal <= ${RATIO_GOAL}: ${verdict(ratio <= RATIO_GOAL)})`);
  }
  summary.push(`${startupText(startup)} (included in mbsync's wall time)`);
  const table = renderTable(
    ['link', 'tool', 'median wall (s)', 'runs (s)', 'peak RSS (MB)', 'MB down', 'MB up', 'at link rate (s)', 'proxy CPU (s)', 'row counts'],
    rows,
  );
  const notes = `Source ${db.name} (${formatBytes(db.sizeBytes)}, ${totalRows.toLocaleString('en-US')} rows${values.pgcrypto ? ', with pgcrypto' : ''}) behind a TCP proxy in the bench `
    + 'process: a link is <one-way delay>/<rate>, the same each way, the rate shared by all of a tool\'s connections to the source '
    + '(one queue per direction, served 16 KiB per connection in turn); the target is a fresh local database reached directly. '
    + `${runs} runs of each tool per link, order rotated; MB = 2^20 bytes; MB down/up = median bytes through the proxy per run, `
    + 'source → tool and tool → source; at link rate = the larger of the two at the link\'s rate, a floor for the wall time; '
    + 'proxy CPU = user + system CPU of the bench process during the run (the proxy, which shares the machine with both tools alike); '
    + `peak RSS per pipeline stage (pg_dump + psql); mbsync wall includes node start-up (built CLI). ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary.join('\n')}\n\n${notes}`);
  if (!values['no-record']) {
    const admin = connectAdmin();
    try {
      const file = await appendResults(`WAN sync, ${formatBytes(db.sizeBytes)} over ${links.map((l) => l.text).join(', ')} (mbsync sync vs pg_dump | psql)`,
        await describeMachine(admin), `${table}\n\n${summary.map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await admin.end();
    }
  }
}

async function runOn(url: string, statement: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

/** Installs pgcrypto in the source unless it is there; true when this call installed it. */
async function installPgcrypto(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [found] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'`;
    if (found!.n > 0) return false;
    await sql`CREATE EXTENSION pgcrypto`;
    log('installed pgcrypto in the source for these runs');
    return true;
  } finally {
    await sql.end();
  }
}

/** Both tools `runs` times through one proxy shaped as `link`, the proxy's counters read around each run. */
async function benchLink(
  db: BenchDatabase, link: LinkSpec,
  options: { runs: number; jobsArgs: string[]; sourceCounts: Map<string, number>; scratch: string; signal: AbortSignal },
): Promise<{ ours: ToolRuns; theirs: ToolRuns; figures: Map<ToolRuns, LinkFigures> }> {
  const shape = { delayMs: link.delayMs, bitsPerSecond: link.bitsPerSecond };
  const proxy = await startTcpProxy(upstreamOf(db.url), { link: { up: shape, down: shape } });
  try {
    const source = proxy.url(db.url);
    // the proxy is on loopback, standing for a remote source: formats chosen as for one unless the bench's environment says
    const copyFormat = process.env.SYNC_COPY_FORMAT ?? 'auto';
    const ours: ToolRuns = { label: `mbsync sync --no-backup${options.jobsArgs.length ? ` ${options.jobsArgs.join(' ')}` : ''} (SYNC_COPY_FORMAT=${copyFormat})`, walls: [], peakRss: [], rowChecks: [], failures: [] };
    const mbsync = (target: string) => mbsyncCommand(['sync', '--from', source, '--to', target, '--no-backup', ...options.jobsArgs]);
    const theirs: ToolRuns = { label: 'pg_dump | psql --single-transaction', walls: [], peakRss: [], rowChecks: [], failures: [] };
    const tools: TargetTool[] = [
      { runs: ours, stages: (target) => [{ command: 'env', args: [`SYNC_COPY_FORMAT=${copyFormat}`, mbsync(target).command, ...mbsync(target).args] }] },
      {
        runs: theirs,
        stages: (target) => [
          { command: 'pg_dump', args: [source] },
          { command: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', target] },
        ],
      },
    ];
    const figures = new Map<ToolRuns, LinkFigures>(tools.map((t) => [t.runs, { bytes: { up: [], down: [] }, proxyCpu: [] }]));
    await runIntoFreshTargets(tools, options.runs, options.sourceCounts, options.scratch, options.signal, linkObserver(proxy, figures));
    return { ours, theirs, figures };
  } finally {
    await proxy.close();
  }
}

/** Reads the proxy's byte counters and this process's CPU time around each run. */
function linkObserver(proxy: TcpProxy, figures: Map<ToolRuns, LinkFigures>): RunObserver {
  let before = { up: 0, down: 0, cpu: process.cpuUsage() };
  return {
    started() {
      before = { ...proxy.forwarded, cpu: process.cpuUsage() };
    },
    finished(tool) {
      const f = figures.get(tool.runs)!;
      const cpu = process.cpuUsage(before.cpu);
      const run = { up: proxy.forwarded.up - before.up, down: proxy.forwarded.down - before.down, cpu: (cpu.user + cpu.system) / 1e6 };
      f.bytes.up.push(run.up);
      f.bytes.down.push(run.down);
      f.proxyCpu.push(run.cpu);
      return `link ${mib(run.down)} MB down, ${mib(run.up)} MB up, proxy CPU ${seconds(run.cpu)} s`;
    },
  };
}

/** '10ms/200Mbit' → 10 ms each way, 200 000 000 bit/s; rates in bit, kbit, Mbit or Gbit (decimal), '/s' or 'ps' optional. */
export function parseLink(text: string): LinkSpec {
  const match = /^(\d+(?:\.\d+)?)ms\/(\d+(?:\.\d+)?)([kmg]?)(?:bit(?:\/s)?|bps)$/i.exec(text.trim());
  const rate = match ? Number(match[2]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[match[3]!.toLowerCase() as '' | 'k' | 'm' | 'g'] : 0;
  if (!match || !(rate > 0)) throw new Error(`a link looks like 10ms/200Mbit (one-way delay / rate), not "${text}"`);
  return { text: text.trim(), delayMs: Number(match[1]), bitsPerSecond: rate };
}

function describeLink(link: LinkSpec): string {
  return `${link.text}: ${link.delayMs} ms each way (${2 * link.delayMs} ms round trip), ${link.bitsPerSecond / 1e6} Mbit/s each way, `
    + `${(link.bitsPerSecond / 8 / 1024 ** 2).toFixed(1)} MB/s`;
}

/**
 * The source: with --db, an existing database as it is (it may have been generated with a shape this branch's
 * generator does not know: regenerating it would replace it); otherwise, or when absent, the bench database of `bytes`.
 */
async function sourceDatabase(bytes: number, name: string | undefined, shape: Shape): Promise<BenchDatabase> {
  if (name !== undefined) {
    const admin = connectAdmin();
    try {
      const marker = await readMarker(admin, name);
      if (marker !== undefined) {
        const sizeBytes = await databaseSize(admin, name);
        log(`using ${name} as it is: ${formatBytes(sizeBytes)}`);
        return { name, url: benchUrl(name), shape: marker?.shape ?? 'bytea', sizeBytes, reused: true };
      }
    } finally {
      await admin.end();
    }
  }
  return ensureBenchDatabase(bytes, { name, shape });
}

/** Peak RSS per pipeline stage over the runs. */
function stagePeaks(t: ToolRuns): number[] {
  return t.peakRss[0]!.map((_, i) => Math.max(...t.peakRss.map((r) => r[i]!)));
}

/** MB (2^20) with one decimal. */
function mib(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1);
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
