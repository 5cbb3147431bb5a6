import { spawnSync } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import type postgres from 'postgres';

const RESULTS_FILE = new URL('../../docs/benchmarks.md', import.meta.url);

const RESULTS_HEADER = `# Benchmarks

Figures appended by \`pnpm bench export|sync|introspect\` (test/bench/). The machines are shared and noisy:
read medians, compare the two tools measured side by side in the same run, and never compare runs taken on
different machines.
`;

/** One line naming the machine and the versions the figures were taken with. */
export async function describeMachine(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ version: string }[]>`SELECT pg_catalog.current_setting('server_version') AS version`;
  const pgDump = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? 'pg_dump ?';
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${availableParallelism()} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB RAM, PostgreSQL ${row?.version ?? '?'} `
    + `(local, loopback TCP), ${pgDump}, Node ${process.version}, ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

/** A markdown table with padded columns, readable on a terminal as well. */
export function renderTable(headers: string[], rows: string[][]): string {
  headers = headers.map(escapeCell);
  rows = rows.map((r) => r.map(escapeCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Appends a section to docs/benchmarks.md, creating the file with its header when needed. */
export async function appendResults(title: string, machine: string, body: string): Promise<string> {
  const existing = await readFile(RESULTS_FILE, 'utf8').catch(() => '');
  const section = `\n## ${title}\n\nMachine: ${machine}\n\n${body.trim()}\n`;
  await appendFile(RESULTS_FILE, existing ? section : RESULTS_HEADER + section);
  return RESULTS_FILE.pathname;
}

/** 1.23 s, 12.3 s */
export function seconds(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function megabytes(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / 1024 ** 2).toFixed(0) : '?';
}

/** "met" / "MISSED" next to a target. */
export function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/** A '|' inside a cell would end it. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
