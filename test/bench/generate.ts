import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import {
  GENERATOR_VERSION, benchDatabaseName, benchUrl, connectAdmin, createEmptyDatabase, databaseSize, dropBenchDatabase,
  formatBytes, parseSize, readMarker, writeMarker,
} from './bench-database.js';
import {
  attributesSql, categoriesSql, componentFilesSql, componentsSql, partAttributesSql, partsSql, planData,
} from './multiboard-data.js';
import { runTasks, type Task } from './task-pool.js';

export const generateHelp = `Usage: pnpm bench generate --size <100MB|1GB|…> [--db <name>] [--force]

Builds a Multiboard-like database of about the given pg_database_size on the local server, from
test/fixtures/multiboard/schema.sql, filled server-side with INSERT … SELECT generate_series.
A database that already carries the marker for this size and generator version is reused.

Options:
  --size <size>   target size, binary units (1GB = 1024 MB); default 1GB
  --db <name>     database name; default mbsync_bench_<size>, e.g. mbsync_bench_1gb
  --force         rebuild even when a matching database exists
  -h, --help      show this help`;

const SCHEMA_FILE = new URL('../fixtures/multiboard/schema.sql', import.meta.url);

/** A ready bench database. */
export interface BenchDatabase {
  name: string;
  url: string;
  sizeBytes: number;
  reused: boolean;
}

export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { size: { type: 'string', default: '1GB' }, db: { type: 'string' }, force: { type: 'boolean', default: false } },
    strict: true,
  });
  const bytes = parseSize(values.size);
  await ensureBenchDatabase(bytes, { name: values.db, force: values.force });
}

/**
 * Returns the bench database of this size, generating it when absent, stale or `force`d; on the bench server, or on
 * the server of `adminUrl` (a loopback server of the bench's own, e.g. one with TLS on).
 */
export async function ensureBenchDatabase(bytes: number, options: { name?: string; force?: boolean; adminUrl?: string } = {}): Promise<BenchDatabase> {
  const name = options.name ?? benchDatabaseName(bytes);
  const url = benchUrl(name, options.adminUrl);
  const admin = connectAdmin(options.adminUrl);
  try {
    const marker = await readMarker(admin, name);
    if (marker && marker.kind === 'multiboard' && marker.version === GENERATOR_VERSION && marker.scale === bytes && !options.force) {
      const sizeBytes = await databaseSize(admin, name);
      log(`reusing ${name}: ${formatBytes(sizeBytes)}, generated ${marker.generatedAt} in ${marker.seconds} s`);
      return { name, url, sizeBytes, reused: true };
    }
    if (marker !== undefined) {
      log(`${name} exists but ${marker ? `was generated for another size or version (${marker.scale} bytes, v${marker.version})` : 'has no bench marker'}: rebuilding`);
      await dropBenchDatabase(admin, name, options.adminUrl);
    }
    const started = performance.now();
    await createEmptyDatabase(admin, name);
    await fillDatabase(url, bytes);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await writeMarker(admin, name, { tool: 'mbsync-bench', kind: 'multiboard', version: GENERATOR_VERSION, scale: bytes, generatedAt: new Date().toISOString(), seconds });
    const sizeBytes = await databaseSize(admin, name);
    log(`${name} ready: ${formatBytes(sizeBytes)} (asked for ${formatBytes(bytes)}) in ${seconds} s`);
    return { name, url, sizeBytes, reused: false };
  } finally {
    await admin.end();
  }
}

interface ConstraintDef { table: string; name: string; type: 'p' | 'u' | 'f'; def: string; indexDef: string | null }
interface IndexDef { table: string; name: string; def: string }

/**
 * Loads the schema, sets its keys, unique constraints, indexes and foreign keys aside, fills the tables
 * in parallel chunks, then puts them back the way a restore would (indexes in parallel, FKs added NOT VALID
 * then validated in parallel) and VACUUM FREEZE ANALYZEs so the first benchmark run does not pay for hint bits.
 */
async function fillDatabase(url: string, bytes: number): Promise<void> {
  const concurrency = Math.max(2, availableParallelism());
  const sql = postgres(url, {
    max: concurrency,
    onnotice: () => {},
    // parallel maintenance workers would only fight our own parallel tasks for the cores
    connection: { maintenance_work_mem: '512MB', max_parallel_maintenance_workers: '0', synchronous_commit: 'off' },
  });
  const started = performance.now();
  const phase = (text: string) => log(`[${elapsed(started)}] ${text}`);
  try {
    await sql.unsafe(await readFile(SCHEMA_FILE, 'utf8'));
    const { constraints, indexes } = await readKeys(sql);
    for (const c of constraints.filter((c) => c.type === 'f')) await sql.unsafe(`ALTER TABLE ${c.table} DROP CONSTRAINT ${c.name}`);
    for (const c of constraints.filter((c) => c.type !== 'f')) await sql.unsafe(`ALTER TABLE ${c.table} DROP CONSTRAINT ${c.name}`);
    for (const i of indexes) await sql.unsafe(`DROP INDEX ${i.name}`);

    const plan = planData(bytes);
    phase(`loading ${plan.components} components, ${plan.parts} parts, ~${plan.parts * 5} part attributes, ${plan.files} files `
      + `(${concurrency} connections)`);
    const tasks = dataTasks(sql, plan);
    await runTasks(tasks, concurrency, (task, done) => phase(`data ${done}/${tasks.length}: ${task.label}`));

    phase(`building ${constraints.length - constraints.filter((c) => c.type === 'f').length + indexes.length} indexes`);
    const indexTasks: Task[] = [
      ...constraints.filter((c) => c.type !== 'f').map((c) => ({ label: c.name, run: () => sql.unsafe(c.indexDef!) })),
      ...indexes.map((i) => ({ label: i.name, run: () => sql.unsafe(i.def) })),
    ];
    await runTasks(indexTasks, concurrency, (task, done) => phase(`index ${done}/${indexTasks.length}: ${task.label}`));
    for (const c of constraints.filter((c) => c.type !== 'f')) {
      await sql.unsafe(`ALTER TABLE ${c.table} ADD CONSTRAINT ${c.name} ${c.type === 'p' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${c.name}`);
    }
    // VALIDATE takes SHARE UPDATE EXCLUSIVE on the referencing table only, so validations run side by side
    const foreignKeys = constraints.filter((c) => c.type === 'f');
    for (const c of foreignKeys) await sql.unsafe(`ALTER TABLE ${c.table} ADD CONSTRAINT ${c.name} ${c.def} NOT VALID`);
    await runTasks(foreignKeys.map((c) => ({ label: c.name, run: () => sql.unsafe(`ALTER TABLE ${c.table} VALIDATE CONSTRAINT ${c.name}`) })),
      concurrency, (task, done) => phase(`foreign key ${done}/${foreignKeys.length}: ${task.label}`));

    const tables = await sql<{ name: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC`;
    await runTasks(tables.map((t) => ({ label: t.name, run: () => sql.unsafe(`VACUUM (FREEZE, ANALYZE) ${t.name}`) })),
      concurrency, (task, done) => phase(`vacuum ${done}/${tables.length}: ${task.label}`));
    // rows were inserted with explicit ids: move each identity sequence past them, as a real history would
    const identities = await sql<{ table: string; column: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS table, quote_ident(a.attname) AS column
      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND a.attidentity <> '' AND NOT a.attisdropped`;
    for (const i of identities) {
      await sql.unsafe(`SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('${i.table}', '${i.column}'), max(${i.column})) FROM ${i.table}`);
    }
    const counts = await sql<{ name: string; rows: string }[]>`
      SELECT c.relname AS name, c.reltuples::bigint::text AS rows FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`;
    phase(`done, rows per pg_class.reltuples: ${counts.map((c) => `${c.name} ${Number(c.rows).toLocaleString('en-US')}`).join(', ')}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function readKeys(sql: postgres.Sql): Promise<{ constraints: ConstraintDef[]; indexes: IndexDef[] }> {
  const constraints = await sql<ConstraintDef[]>`
    SELECT format('%I.%I', n.nspname, r.relname) AS table, quote_ident(c.conname) AS name, c.contype AS type,
      pg_catalog.pg_get_constraintdef(c.oid) AS def,
      CASE WHEN c.contype IN ('p', 'u') THEN pg_catalog.pg_get_indexdef(c.conindid) END AS "indexDef"
    FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')
    ORDER BY pg_catalog.pg_total_relation_size(r.oid) DESC, c.conname`;
  // FKs point conindid at the referenced key, so only p/u/x constraints own their index
  const indexes = await sql<IndexDef[]>`
    SELECT format('%I.%I', n.nspname, r.relname) AS table, format('%I.%I', n.nspname, ic.relname) AS name,
      pg_catalog.pg_get_indexdef(i.indexrelid) AS def
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class r ON r.oid = i.indrelid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = 'public'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
    ORDER BY ic.relname`;
  return { constraints: [...constraints], indexes: [...indexes] };
}

/** Chunks of a few hundred thousand rows (or ~70 MB of files), biggest first, each seeded so reruns match. */
function dataTasks(sql: postgres.Sql, plan: ReturnType<typeof planData>): Task[] {
  const tasks: Task[] = [];
  const seeded = (label: string, seed: number, text: string): Task => ({
    label,
    run: () => sql.begin(async (tx) => {
      await tx`SELECT setseed(${seed})`;
      await tx.unsafe(text);
    }),
  });
  const chunks = (total: number, size: number, make: (from: number, to: number, index: number) => Task) => {
    for (let from = 1, index = 0; from <= total; from += size, index++) tasks.push(make(from, Math.min(total, from + size - 1), index));
  };
  const range = (table: string, from: number, to: number) => `${table} ${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')}`;
  chunks(plan.parts, 300_000, (from, to, i) => seeded(range('part_attributes for parts', from, to), 0.1 + i / 1e4, partAttributesSql(from, to)));
  chunks(plan.files, 2_000, (from, to, i) => seeded(range('component_files', from, to), 0.2 + i / 1e4, componentFilesSql(from, to, plan.components)));
  chunks(plan.parts, 500_000, (from, to, i) => seeded(range('parts', from, to), 0.3 + i / 1e4, partsSql(from, to, plan.components)));
  chunks(plan.components, 100_000, (from, to, i) => seeded(range('components', from, to), 0.4 + i / 1e4, componentsSql(from, to)));
  tasks.push(seeded('categories, attributes', 0.5, `${categoriesSql()}; ${attributesSql()}`));
  // interleave the two heaviest kinds so both connections stay busy with different tables
  return interleave(tasks.filter((t) => t.label.startsWith('part_attributes')), tasks.filter((t) => !t.label.startsWith('part_attributes')));
}

function interleave(a: Task[], b: Task[]): Task[] {
  const out: Task[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i]) out.push(a[i]!);
    if (b[i]) out.push(b[i]!);
  }
  return out;
}

function elapsed(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

