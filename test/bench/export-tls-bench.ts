import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startPostgresInstance } from '@mbsync/testkit';
import { formatBytes } from './bench-database.js';
import { ensureBenchDatabase } from './generate.js';
import { MEASUREMENT_METHOD, REPO_ROOT, mbsyncCommand, measure, median, type Command } from './measure.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds } from './report.js';

/** One side of the comparison. */
interface Tool {
  label: string;
  file: string;
  command: Command;
  cleanup: string[];
  walls: number[];
  cpu: number[];
  peakRss: number[];
  fileBytes: number[];
}

/**
 * `pnpm bench export --tls`: the export over TLS against the same export over plain TCP, for mbsync and pg_dump.
 * The bench database is generated in a throwaway PostgreSQL of the same major version with ssl=on and a certificate
 * from a test CA (the bench server has no TLS), and read through 127.0.0.1 without sslmode (plain: loopback) and
 * through "localhost" with sslmode=verify-full and the test CA as sslrootcert (as a Supabase URL would be).
 * Wall times on a shared machine are noisy: the CPU column (client user + system time) is the steadier figure.
 */
export async function exportTlsBench(options: { bytes: number; runs: number; record: boolean; signal: AbortSignal }): Promise<void> {
  const server = await startPostgresInstance({ tls: true, certificateHosts: ['localhost'] });
  const scratch = await mkdtemp(join(tmpdir(), 'mbsync-bench-export-tls-'));
  let cipher: string;
  let machine: string;
  let sizeBytes: number;
  const tools: Tool[] = [];
  try {
    log(`throwaway PostgreSQL with TLS on 127.0.0.1:${server.port}; generating the bench database there`);
    const db = await ensureBenchDatabase(options.bytes, { adminUrl: server.adminUrl });
    sizeBytes = db.sizeBytes;
    const tlsUrl = `${db.url.replace('//postgres@127.0.0.1:', '//postgres@localhost:')}?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.certificates!.caFile)}`;
    const plainUrl = `${db.url}?sslmode=disable`;
    const tool = (label: string, name: string, command: (file: string) => Command, sidecar = false): Tool => {
      const file = join(scratch, name);
      return { label, file, command: command(file), cleanup: sidecar ? [file, `${file}.manifest.json`] : [file], walls: [], cpu: [], peakRss: [], fileBytes: [] };
    };
    tools.push(
      tool('mbsync export, TCP', 'ours-tcp.sql', (f) => mbsyncCommand(['export', '--from', db.url, '--out', f]), true),
      tool('mbsync export, TLS', 'ours-tls.sql', (f) => mbsyncCommand(['export', '--from', tlsUrl, '--out', f]), true),
      tool('pg_dump -Fp, TCP', 'pgdump-tcp.sql', (f) => ({ command: 'pg_dump', args: ['-Fp', '-f', f, plainUrl] })),
      tool('pg_dump -Fp, TLS', 'pgdump-tls.sql', (f) => ({ command: 'pg_dump', args: ['-Fp', '-f', f, tlsUrl] })),
    );
    // what the TLS runs negotiate (TLS version and cipher), as the server sees a session opened the same way
    const probe = postgres(tlsUrl.replace(/\?.*$/, ''), { max: 1, ssl: 'require', onnotice: () => {} });
    try {
      const [row] = await probe<{ v: string }[]>`SELECT version || ' ' || cipher AS v FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      cipher = row?.v ?? '';
      machine = await describeMachine(probe);
    } finally {
      await probe.end();
    }
    for (let run = 1; run <= options.runs; run++) {
      // rotate the order, so no tool always inherits another's warm caches
      const order = tools.map((_, i) => tools[(i + run - 1) % tools.length]!);
      for (const t of order) {
        const m = await measure([t.command], { scratch, cwd: REPO_ROOT, signal: options.signal });
        if (m.exitCode !== 0) throw new Error(`${t.label} exited ${m.exitCode}:\n${m.stderrTail.trim()}`);
        const figures = m.processes[0]!;
        t.walls.push(m.wallSeconds);
        t.cpu.push(figures.cpuSeconds);
        t.peakRss.push(figures.peakRssBytes);
        t.fileBytes.push((await stat(t.file)).size);
        log(`run ${run}/${options.runs} ${t.label.padEnd(19)} ${seconds(m.wallSeconds).padStart(6)} s  CPU ${seconds(figures.cpuSeconds).padStart(5)} s  `
          + `peak RSS ${megabytes(figures.peakRssBytes).padStart(5)} MB`);
        await Promise.all(t.cleanup.map((f) => rm(f, { force: true })));
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await server.stop();
  }

  const byLabel = (label: string) => tools.find((t) => t.label === label)!;
  const ratio = (a: string, b: string, pick: (t: Tool) => number[]) => (median(pick(byLabel(a))) / median(pick(byLabel(b)))).toFixed(2);
  const table = renderTable(
    ['tool', 'median wall (s)', 'runs (s)', 'median CPU (s)', 'peak RSS (MB)', 'file (MB)', 'MB/s'],
    tools.map((t) => [
      t.label,
      seconds(median(t.walls)),
      t.walls.map(seconds).join(' / '),
      seconds(median(t.cpu)),
      megabytes(Math.max(...t.peakRss)),
      megabytes(median(t.fileBytes)),
      (median(t.fileBytes) / 1024 ** 2 / median(t.walls)).toFixed(0),
    ]),
  );
  const summary = [
    `mbsync TLS/TCP: wall ${ratio('mbsync export, TLS', 'mbsync export, TCP', (t) => t.walls)}, CPU ${ratio('mbsync export, TLS', 'mbsync export, TCP', (t) => t.cpu)}`,
    `pg_dump TLS/TCP: wall ${ratio('pg_dump -Fp, TLS', 'pg_dump -Fp, TCP', (t) => t.walls)}, CPU ${ratio('pg_dump -Fp, TLS', 'pg_dump -Fp, TCP', (t) => t.cpu)}`,
    `mbsync/pg_dump over TLS: wall ${ratio('mbsync export, TLS', 'pg_dump -Fp, TLS', (t) => t.walls)}`,
  ].join('\n');
  const notes = `Throwaway server (same major version, ssl=on, fsync=off, certificate from a test CA), database of `
    + `${formatBytes(sizeBytes)}; TLS runs use sslmode=verify-full with the test CA as sslrootcert (${cipher}); TCP runs `
    + `are plain. ${options.runs} runs of each tool, order rotated; MB = 2^20 bytes; MB/s = dump file size / wall time; mbsync `
    + `wall and CPU include node start-up (built CLI) and its default --jobs. ${MEASUREMENT_METHOD}`;
  log(`\n${table}\n\n${summary}\n\n${notes}`);
  if (options.record) {
    const file = await appendResults(`Export over TLS, ${formatBytes(sizeBytes)} (mbsync export and pg_dump, TLS vs plain TCP)`, machine,
      `${table}\n\n${summary.split('\n').map((l) => `- ${l}`).join('\n')}\n\n${notes}`);
    log(`appended to ${file}`);
  }
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
