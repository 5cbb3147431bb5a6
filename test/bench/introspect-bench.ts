import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { introspect } from '@mbsync/schema-diff';
import {
  GENERATOR_VERSION, benchUrl, connectAdmin, createEmptyDatabase, dropBenchDatabase, readMarker, writeMarker,
} from './bench-database.js';
import { introspectSchemaSql } from './introspect-schema.js';
import { median } from './measure.js';
import { appendResults, describeMachine, renderTable, verdict } from './report.js';

export const introspectHelp = `Usage: pnpm bench introspect [--tables 500] [--runs 5] [--no-record]

Builds (or reuses) a database of N tables over three schemas (varied column types, enum and domain
columns, identity and generated columns, checks, unique keys, indexes, foreign keys, comments, views, a
materialized view, triggers) and times introspect() from @mbsync/schema-diff inside a REPEATABLE READ
READ ONLY transaction, each run on a fresh connection (connecting not timed). Prints the median next to
the 2 s target; appends it to docs/benchmarks.md unless --no-record.

Options:
  --tables <n>    number of tables; default 500 (database mbsync_bench_introspect_<n>)
  --runs <n>      timed runs; default 5
  --no-record     print only, do not append to docs/benchmarks.md
  -h, --help      show this help`;

const TARGET_SECONDS = 2;

export async function introspectBenchCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tables: { type: 'string', default: '500' },
      runs: { type: 'string', default: '5' },
      'no-record': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const tables = Number(values.tables);
  const runs = Number(values.runs);
  if (!Number.isInteger(tables) || tables < 10) throw new Error(`--tables must be an integer >= 10, not "${values.tables}"`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not "${values.runs}"`);
  const name = `mbsync_bench_introspect_${tables}`;
  const url = benchUrl(name);
  await ensureIntrospectDatabase(name, url, tables);

  const timings: number[] = [];
  let summary = '';
  for (let run = 1; run <= runs; run++) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      const started = performance.now();
      const model = await sql.begin('isolation level repeatable read read only', (tx) => introspect(tx));
      const elapsed = (performance.now() - started) / 1000;
      timings.push(elapsed);
      const indexes = model.tables.reduce((n, t) => n + t.indexes.length, 0);
      const foreignKeys = model.tables.reduce((n, t) => n + t.constraints.filter((c) => c.type === 'foreign key').length, 0);
      summary = `${model.tables.length} tables, ${model.views.length} views, ${indexes} indexes, ${foreignKeys} foreign keys, `
        + `${model.routines.length} routines, ${model.dependencies.length} dependency edges`;
      log(`run ${run}/${runs}: ${elapsed.toFixed(3)} s (${summary})`);
      if (model.tables.length !== tables) throw new Error(`introspect found ${model.tables.length} tables, expected ${tables}`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  const med = median(timings);
  const table = renderTable(
    ['what', 'median (s)', 'runs (s)', 'target'],
    [[`introspect(), ${tables} tables`, med.toFixed(3), timings.map((t) => t.toFixed(3)).join(' / '), `<= ${TARGET_SECONDS} s: ${verdict(med <= TARGET_SECONDS)}`]],
  );
  const notes = `Model read: ${summary}. Each run on a fresh connection inside BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; `
    + 'timed from BEGIN to COMMIT, connecting excluded.';
  log(`\n${table}\n\n${notes}`);
  if (!values['no-record']) {
    const admin = connectAdmin();
    try {
      const file = await appendResults(`Introspection, ${tables} tables`, await describeMachine(admin), `${table}\n\n${notes}`);
      log(`appended to ${file}`);
    } finally {
      await admin.end();
    }
  }
}

async function ensureIntrospectDatabase(name: string, url: string, tables: number): Promise<void> {
  const admin = connectAdmin();
  try {
    const marker = await readMarker(admin, name);
    if (marker && marker.kind === 'introspect' && marker.version === GENERATOR_VERSION && marker.scale === tables) {
      log(`reusing ${name} (generated ${marker.generatedAt})`);
      return;
    }
    if (marker !== undefined) await dropBenchDatabase(admin, name);
    const started = performance.now();
    await createEmptyDatabase(admin, name);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.begin((tx) => tx.unsafe(introspectSchemaSql(tables)));
    } finally {
      await sql.end({ timeout: 5 });
    }
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await writeMarker(admin, name, { tool: 'mbsync-bench', kind: 'introspect', version: GENERATOR_VERSION, scale: tables, generatedAt: new Date().toISOString(), seconds });
    log(`${name} created with ${tables} tables in ${seconds} s`);
  } finally {
    await admin.end();
  }
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}
