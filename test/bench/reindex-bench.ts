import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { openTypesense, partsSpec, reindexCollections } from '@mbsync/search-index';
import { createTypesenseServer } from '../typesense-server/index.js';
import { benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase } from './bench-database.js';
import { REPO_ROOT } from './measure.js';
import { attributesSql, categoriesSql, componentsSql, PARTS_PER_COMPONENT, partAttributesSql, partsSql } from './multiboard-data.js';
import { appendResults, describeMachine, megabytes, renderTable, seconds } from './report.js';

export const reindexHelp = `Usage: pnpm bench reindex [--rows 200000] [--batch-size 1000] [--no-record]

Reindexes the parts collection (the default spec: joins its component and aggregates 3–7 attributes per part)
into the in-memory Typesense test server, for 0 (start-up baseline), 50,000 and --rows parts, each run in a
fresh child process so its peak RSS (process.resourceUsage().maxRSS) is that run's alone. The test server runs
in this process, so the documents it holds are not counted against the reindexer. The throwaway database
(demo schema, rows generated server-side) is dropped at the end. Prints documents/s and peak RSS; appends the
table to docs/benchmarks.md unless --no-record.

Target: peak RSS does not grow with the row count (it is bounded by the batch size).

Options:
  --rows <n>        parts in the largest run; default 200000
  --batch-size <n>  documents per import; default 1000
  --no-record       print only, do not append to docs/benchmarks.md
  -h, --help        show this help`;

interface ChildFigures {
  rows: number;
  documents: number;
  seconds: number;
  peakRssBytes: number;
}

export async function reindexBenchCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string', default: '200000' },
      'batch-size': { type: 'string', default: '1000' },
      'no-record': { type: 'boolean', default: false },
      // internal: one measured run, in a child process
      child: { type: 'boolean', default: false },
      'db-url': { type: 'string' },
      'typesense-url': { type: 'string' },
      'api-key': { type: 'string' },
    },
    strict: true,
  });
  const rows = integer(values.rows, '--rows', values.child ? 0 : 1);
  const batchSize = integer(values['batch-size'], '--batch-size', 1);
  if (values.child) return childRun(rows, batchSize, values['db-url'] ?? '', values['typesense-url'] ?? '', values['api-key'] ?? '');

  const sizes = [...new Set([0, Math.min(50_000, rows), rows])];
  const name = `mbsync_bench_reindex_${randomBytes(3).toString('hex')}`;
  const admin = connectAdmin();
  const server = await createTypesenseServer();
  try {
    await createEmptyDatabase(admin, name);
    const url = benchUrl(name);
    log(`generating ${rows.toLocaleString('en-US')} parts in ${name}`);
    const generated = performance.now();
    await generate(url, rows);
    log(`generated in ${((performance.now() - generated) / 1000).toFixed(1)} s`);
    const results: ChildFigures[] = [];
    for (const size of sizes) {
      if (signal.aborted) throw new Error('interrupted');
      const figures = await measureChild(['reindex', '--child', '--rows', String(size), '--batch-size', String(batchSize), '--db-url', url, '--typesense-url', server.url, '--api-key', server.apiKey], signal);
      results.push(figures);
      log(`${size.toLocaleString('en-US')} parts: ${figures.documents} documents in ${seconds(figures.seconds)} s, peak RSS ${megabytes(figures.peakRssBytes)} MB`);
      server.state.reset(); // frees the server's copy (this process), not the child's
    }
    const table = renderTable(
      ['parts', 'documents', 'reindex wall (s)', 'documents/s', 'reindexer peak RSS (MB)'],
      results.map((r) => [r.rows.toLocaleString('en-US'), r.documents.toLocaleString('en-US'), seconds(r.seconds), r.seconds > 0 && r.documents > 0 ? Math.round(r.documents / r.seconds).toLocaleString('en-US') : '-', megabytes(r.peakRssBytes)]),
    );
    const largest = results.at(-1) as ChildFigures;
    const middle = results.find((r) => r.rows === Math.min(50_000, rows)) as ChildFigures;
    const growth = largest.peakRssBytes - middle.peakRssBytes;
    const body = `Batch size ${batchSize}; the reindexer runs in its own process against the in-memory test server (loopback HTTP).\n\n${table}\n\n`
      + `Peak RSS ${megabytes(largest.peakRssBytes)} MB at ${largest.rows.toLocaleString('en-US')} parts vs ${megabytes(middle.peakRssBytes)} MB at ${middle.rows.toLocaleString('en-US')} `
      + `(${growth >= 0 ? '+' : ''}${megabytes(growth)} MB): ${Math.abs(growth) < 32 * 1024 ** 2 ? 'flat, bounded by the batch' : 'GROWS with the row count'}.\n`
      + 'peak RSS = process.resourceUsage().maxRSS of the child process (node + tsx + the reindex), start-up included (0 parts row).';
    process.stdout.write(`\n${body}\n`);
    if (!values['no-record']) {
      const probe = postgres(url, { max: 1, onnotice: () => {} });
      try {
        log(`appended to ${await appendResults('reindex (parts → Typesense test server)', await describeMachine(probe), body)}`);
      } finally {
        await probe.end();
      }
    }
  } finally {
    await server.close();
    await dropBenchDatabase(admin, name).catch((error: unknown) => log(`could not drop ${name}: ${String(error)}`));
    await admin.end();
  }
}

/** Demo schema, then components, parts and their attributes, all generated by the server. */
async function generate(url: string, parts: number): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { synchronous_commit: 'off' } });
  try {
    await sql.unsafe(await readFile(new URL('../fixtures/multiboard/schema.sql', import.meta.url), 'utf8'));
    const components = Math.max(1, Math.ceil(parts / PARTS_PER_COMPONENT));
    await sql.unsafe(categoriesSql());
    await sql.unsafe(attributesSql());
    await sql.unsafe(componentsSql(1, components));
    if (parts > 0) {
      await sql.unsafe(partsSql(1, parts, components));
      await sql.unsafe(partAttributesSql(1, parts));
    }
    await sql.unsafe('VACUUM ANALYZE');
  } finally {
    await sql.end();
  }
}

/** One measured reindex: the parts with id <= rows, into a collection of its own. Prints its figures as JSON. */
async function childRun(rows: number, batchSize: number, dbUrl: string, typesenseUrl: string, apiKey: string): Promise<void> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {}, prepare: false });
  const typesense = openTypesense({ url: typesenseUrl, apiKey });
  try {
    const spec = { ...partsSpec, name: `bench_parts_${rows}`, query: `${partsSpec.query}\n WHERE p.id <= ${rows}` };
    const started = performance.now();
    const result = await reindexCollections({ sql, client: typesense.client, specs: [spec], batchSize });
    const elapsed = (performance.now() - started) / 1000;
    const figures: ChildFigures = { rows, documents: result.collections[0]?.documents ?? 0, seconds: elapsed, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    typesense.close();
    await sql.end();
  }
}

function measureChild(args: string[], signal: AbortSignal): Promise<ChildFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'test/bench/main.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], signal });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`reindex child exited with ${code}`));
      try {
        resolve(JSON.parse(line) as ChildFigures);
      } catch {
        reject(new Error(`reindex child printed no figures: ${line.slice(0, 200)}`));
      }
    });
  });
}

function integer(text: string, option: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new Error(`${option} must be an integer >= ${min}, not "${text}"`);
  return n;
}

function log(text: string): void {
  process.stderr.write(`bench reindex: ${text}\n`);
}
