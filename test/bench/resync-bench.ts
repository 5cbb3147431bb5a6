import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { startTcpProxy, upstreamOf, type TcpProxy } from '../faults/support/tcp-proxy.js';
import { benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase, formatBytes, parseShape, parseSize } from './bench-database.js';
import { BENCH_OPTIONS, parseRuns } from './export-bench.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, median } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds, verdict } from './report.js';
import { countRows } from './sync-bench.js';
import { parseLink } from './wan-bench.js';

export const resyncHelp = `Usage: pnpm bench resync [--shape <shape>] [--size 1GB] [--runs 3] [--link 10ms/200Mbit] [--changed 1] [--no-record]

Incremental re-sync against a full copy. A scratch copy of the shape's bench database is the source (its rows are
changed between runs; the bench database itself is left alone), a fresh local database the target. After a first
full sync, each round times, in this order: 'mbsync sync --full' (a full copy over the earlier one), 'mbsync sync'
with nothing changed, and 'mbsync sync' after --changed per cent of the rows of every table with a primary key were
updated, spread evenly (random rows). After every run the target's row counts are
compared with the source's (the sync itself checks every table's checksum before COMMIT). With --link the source is
reached through the bench's TCP proxy (one-way delay / rate, as 'pnpm bench wan'), and the bytes it carried are shown;
mbsync then runs with SYNC_COPY_FORMAT=auto (packed through a link of 5 ms round trip or more, where the source has
pgcrypto) unless the environment sets it.

Goals (issue 21): after 1 % changed <= 0.25 x the full sync; after no change <= 0.1 x.

Options:
  --shape <shape>  bench database shape (see 'pnpm bench generate'); default enum-wide
  --size <size>    its size; default 1GB
  --runs <n>       rounds; default 3
  --link <link>    one-way delay/rate of the source's link, e.g. 10ms/200Mbit; default none (loopback)
  --changed <pct>  per cent of rows updated before the third run of a round; default 1
  --no-record      print only, do not append to docs/benchmarks.md
  -h, --help       show this help`;

const GOALS = { changed: 0.25, unchanged: 0.1 } as const;
type Kind = 'full' | 'unchanged' | 'changed';
const LABELS: Record<Kind, string> = { full: 'mbsync sync --full', unchanged: 'mbsync sync, nothing changed', changed: 'mbsync sync, rows changed' };

export async function resyncBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...BENCH_OPTIONS, shape: { type: 'string', default: 'enum-wide' }, link: { type: 'string' }, changed: { type: 'string', default: '1' } },
    strict: true,
  });
  const runs = parseRuns(values.runs);
  const changed = Number(values.changed);
  if (!(changed > 0 && changed <= 100)) throw new Error(`--changed must be a per cent in (0, 100], got "${values.changed}"`);
  const link = values.link === undefined ? null : parseLink(values.link);
  const db = await ensureBenchDatabase(parseSize(values.size), { shape: parseShape(values.shape), name: values.db });
  const admin = connectAdmin();
  const suffix = Math.random().toString(16).slice(2, 10);
  const sourceName = `mbsync_bench_resync_src_${suffix}`;
  const targetName = `mbsync_bench_resync_dst_${suffix}`;
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-resync-'));
  let proxy: TcpProxy | null = null;
  const copyFormat = process.env.SYNC_COPY_FORMAT ?? 'auto';
  const walls: Record<Kind, number[]> = { full: [], unchanged: [], changed: [] };
  const down: Record<Kind, number[]> = { full: [], unchanged: [], changed: [] };
  const checks: boolean[] = [];
  let changedRows = 0;
  try {
    log(`copying ${db.name} (${formatBytes(db.sizeBytes)}) to ${sourceName}`);
    await admin.unsafe(`CREATE DATABASE ${sourceName} TEMPLATE ${db.name}`);
    await createEmptyDatabase(admin, targetName);
    const direct = benchUrl(sourceName);
    if (link) proxy = await startTcpProxy(upstreamOf(direct), { link: { up: link, down: link } });
    const source = proxy ? proxy.url(direct) : direct;
    const sync = async (kind: Kind | null, extra: string[]) => {
      const before = proxy?.forwarded.down ?? 0;
      const command = mbsyncCommand(['sync', '--from', source, '--to', benchUrl(targetName), '--no-backup', '--yes', ...extra]);
      // the copy format the environment asks for, else the one `auto` picks for the link it measures
      const stage = link ? { command: 'env', args: [`SYNC_COPY_FORMAT=${copyFormat}`, command.command, ...command.args] } : command;
      const m = await measure([stage], { scratch, cwd: REPO_ROOT, signal });
      if (m.exitCode !== 0) throw new Error(`mbsync sync exited ${m.exitCode}:\n${m.stderrTail.trim()}`);
      const mismatches = compare(await countRows(direct), await countRows(benchUrl(targetName)));
      if (kind) {
        walls[kind].push(m.wallSeconds);
        down[kind].push((proxy?.forwarded.down ?? 0) - before);
        checks.push(mismatches.length === 0);
      }
      log(`${(kind ? LABELS[kind] : 'first full sync').padEnd(30)} ${seconds(m.wallSeconds).padStart(6)} s  ${proxy ? `${megabytes((proxy.forwarded.down) - before)} MB down  ` : ''}`
        + `row counts ${mismatches.length === 0 ? 'equal' : `DIFFER: ${mismatches.join(', ')}`}`);
    };
    await sync(null, []);
    for (let run = 1; run <= runs; run++) {
      await sync('full', ['--full']);
      await sync('unchanged', []);
      changedRows = await changeRows(direct, changed);
      log(`changed ${changedRows.toLocaleString('en-US')} rows (${changed} % of every keyed table's, spread evenly)`);
      await sync('changed', []);
    }
  } finally {
    await proxy?.close();
    await dropBenchDatabase(admin, sourceName).catch(() => {});
    await dropBenchDatabase(admin, targetName).catch(() => {});
    await rm(scratch, { recursive: true, force: true });
  }

  const full = median(walls.full);
  const rows = (['full', 'unchanged', 'changed'] as Kind[]).map((kind) => [
    LABELS[kind], seconds(median(walls[kind])), walls[kind].map(seconds).join(' / '), ...(link ? [megabytes(median(down[kind]))] : []), (median(walls[kind]) / full).toFixed(2),
  ]);
  const table = renderTable(['run', 'median wall (s)', 'runs (s)', ...(link ? ['MB down'] : []), 'ratio to --full'], rows);
  const summary = [
    `after ${changed} % changed: ${(median(walls.changed) / full).toFixed(2)} x the full sync (goal <= ${GOALS.changed}: ${verdict(median(walls.changed) / full <= GOALS.changed)})`,
    `after no change: ${(median(walls.unchanged) / full).toFixed(2)} x the full sync (goal <= ${GOALS.unchanged}: ${verdict(median(walls.unchanged) / full <= GOALS.unchanged)})`,
    `row counts equal after ${checks.filter(Boolean).length}/${checks.length} runs`,
  ];
  const notes = `Source: a copy of ${db.name} (${formatBytes(db.sizeBytes)})${link ? `, reached through the bench's TCP proxy at ${link.text} (one-way delay / rate each way; mbsync with SYNC_COPY_FORMAT=${copyFormat})` : ' on loopback'}; `
    + `target: a local database holding the earlier copy. ${runs} rounds of --full, unchanged, changed (${changedRows.toLocaleString('en-US')} rows updated per round, `
    + `random rows of every table with a primary key). mbsync wall includes node start-up (built CLI). ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary.join('\n')}\n\n${notes}`);
  if (!values['no-record']) {
    const admin2 = connectAdmin();
    try {
      const file = await appendResults(`Re-sync, shape ${db.shape}, ${formatBytes(db.sizeBytes)}${link ? ` over ${link.text}` : ''} (incremental vs --full)`,
        await describeMachine(admin2), `${table}\n\n${summary.map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await admin2.end();
    }
  }
  await admin.end();
}

/**
 * Updates `percent` % of the rows of every table with a primary key, chosen at random: one column that no key,
 * index or constraint uses, of a text or number type (text gets a character appended, numbers 1 added).
 */
async function changeRows(url: string, percent: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const targets = await sql<{ relation: string; col: string; numeric: boolean }[]>`
      SELECT DISTINCT ON (c.oid) format('%I.%I', n.nspname, c.relname) AS relation, quote_ident(a.attname) AS col,
             t.typcategory = 'N' AS numeric
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mbsync_meta') AND n.nspname NOT LIKE 'pg\\_%'
        AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
        AND t.typtype = 'b' AND (t.typcategory = 'S' OR t.oid IN ('int4'::regtype, 'int8'::regtype, 'numeric'::regtype, 'float8'::regtype))
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey))
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND a.attnum = ANY (k.conkey))
        AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal)
      ORDER BY c.oid, a.attnum`;
    let changed = 0;
    for (const t of targets) {
      const result = await sql.unsafe(`UPDATE ${t.relation} SET ${t.col} = ${t.numeric ? `${t.col} + 1` : `${t.col} || '~'`} WHERE random() < ${percent / 100}`);
      changed += result.count;
    }
    return changed;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function compare(source: Map<string, number>, target: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [name, n] of source) if (target.get(name) !== n) out.push(`${name} ${n} vs ${target.get(name) ?? 'absent'}`);
  return out;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
