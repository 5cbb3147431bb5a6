import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { ensureSupabaseRoles, supabaseFixtureDirectory } from '@mbsync/testkit';
import {
  GENERATOR_VERSION, benchDatabaseName, benchUrl, connectAdmin, createEmptyDatabase, databaseSize, dropBenchDatabase,
  formatBytes, parseShape, parseShapes, parseSize, readMarker, writeMarker, type Shape,
} from './bench-database.js';
import {
  ENUM_WIDE_SCHEMA, attachmentsSql, customersSql, eventsSql, orderAttributesSql, ordersSql, planEnumWide, shipmentsSql, type EnumWidePlan,
} from './enum-wide-data.js';
import { manyTablesDataSql, manyTablesSchemaSql, planManyTables } from './many-tables-data.js';
import {
  attributesSql, categoriesSql, componentFilesSql, componentsSql, partAttributesSql, partsSql, planData,
} from './multiboard-data.js';
import { runTasks, type Task } from './task-pool.js';

export const generateHelp = `Usage: pnpm bench generate [--shape bytea|enum-wide|many-tables|supabase] [--shapes a,b] --size <100MB|1GB|…> [--db <name>] [--force]

Builds a bench database of about the given pg_database_size on the local server, filled server-side with
INSERT … SELECT generate_series on one connection per core (2 at least). A database that already carries
the marker for this shape, size and generator version is reused. Shapes:
  bytea        the Multiboard schema (test/fixtures/multiboard/schema.sql): parts and part attributes, a quarter of the
               size in 2–100 KB bytea files (the default; the shape the benches were tuned on)
  enum-wide    an order book whose columns are user types: orders (~700k rows/GB; enum, domains, jsonb, arrays),
               order_attributes (~2.8M rows/GB), 1–4 KB bytea attachments, shipments (ranges), events, customers
               (composite type)
  many-tables  500 tables of 0.1–10 MB each (scaled so they total the size), each with FKs to one or two earlier
               tables, a primary key and one or two indexes, enums among the columns
  supabase     the Supabase-shaped fixture (test/fixtures/supabase: platform roles, auth, storage, the user's RLS'd
               public schema) with its data.sql scaled to the size

Options:
  --shape <shape>   default bytea
  --shapes <list>   several shapes one after the other (comma-separated, or 'all'); instead of --shape
  --size <size>     target size, binary units (1GB = 1024 MB); default 1GB
  --db <name>       database name; default mbsync_bench_<shape>_<size>, e.g. mbsync_bench_enumwide_1gb
  --force           rebuild even when a matching database exists
  -h, --help        show this help`;

const SCHEMA_FILE = new URL('../fixtures/multiboard/schema.sql', import.meta.url);

/** A ready bench database. */
export interface BenchDatabase {
  name: string;
  url: string;
  shape: Shape;
  sizeBytes: number;
  reused: boolean;
}

export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: 'string', default: 'bytea' },
      shapes: { type: 'string' },
      size: { type: 'string', default: '1GB' },
      db: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const bytes = parseSize(values.size);
  const shapes = values.shapes === undefined ? [parseShape(values.shape)] : parseShapes(values.shapes);
  if (shapes.length > 1 && values.db) throw new Error('--db names one database: it does not go with several --shapes');
  for (const shape of shapes) await ensureBenchDatabase(bytes, { shape, name: values.db, force: values.force });
}

/**
 * Returns the bench database of this shape (default bytea) and size, generating it when absent, stale or `force`d;
 * on the bench server, or on the server of `adminUrl` (a loopback server of the bench's own, e.g. one with TLS on).
 */
export async function ensureBenchDatabase(bytes: number, options: { shape?: Shape; name?: string; force?: boolean; adminUrl?: string } = {}): Promise<BenchDatabase> {
  const shape = options.shape ?? 'bytea';
  const name = options.name ?? benchDatabaseName(bytes, shape);
  const url = benchUrl(name, options.adminUrl);
  const admin = connectAdmin(options.adminUrl);
  try {
    const marker = await readMarker(admin, name);
    if (marker && marker.kind === 'multiboard' && (marker.shape ?? 'bytea') === shape && marker.version === GENERATOR_VERSION
      && marker.scale === bytes && !options.force) {
      const sizeBytes = await databaseSize(admin, name);
      log(`reusing ${name} (${shape}): ${formatBytes(sizeBytes)}, generated ${marker.generatedAt} in ${marker.seconds} s`);
      return { name, url, shape, sizeBytes, reused: true };
    }
    if (marker !== undefined) {
      log(`${name} exists but ${marker ? `was generated for another shape, size or version (${marker.shape ?? 'bytea'}, ${marker.scale} bytes, `
        + `v${marker.version})` : 'has no bench marker'}: rebuilding`);
      await dropBenchDatabase(admin, name, options.adminUrl);
    }
    log(`generating ${name}: shape ${shape}, about ${formatBytes(bytes)}`);
    const started = performance.now();
    await createEmptyDatabase(admin, name);
    await fillDatabase(url, shapeFill(shape, bytes, options.adminUrl));
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await writeMarker(admin, name, {
      tool: 'mbsync-bench', kind: 'multiboard', shape, version: GENERATOR_VERSION, scale: bytes, generatedAt: new Date().toISOString(), seconds,
    });
    const sizeBytes = await databaseSize(admin, name);
    log(`${name} ready: ${formatBytes(sizeBytes)} (asked for ${formatBytes(bytes)}) in ${seconds} s`);
    return { name, url, shape, sizeBytes, reused: false };
  } finally {
    await admin.end();
  }
}

/** How one shape is built: its schema, then data tasks run in parallel while keys and indexes are set aside. */
interface ShapeFill {
  /** what the data tasks load, for the log */
  describe: string;
  loadSchema: (sql: postgres.Sql) => Promise<void>;
  /** the schemas whose keys and indexes are set aside during the load, vacuumed and counted afterwards */
  schemas: string[];
  dataTasks: (sql: postgres.Sql) => Task[];
  /** rows carry explicit ids: identity sequences are moved past them afterwards */
  explicitIds: boolean;
}

function shapeFill(shape: Shape, bytes: number, adminUrl: string | undefined): ShapeFill {
  switch (shape) {
    case 'bytea': {
      const plan = planData(bytes);
      return {
        describe: `${plan.components} components, ${plan.parts} parts, ~${plan.parts * 5} part attributes, ${plan.files} files`,
        loadSchema: async (sql) => {
          await sql.unsafe(await readFile(SCHEMA_FILE, 'utf8'));
        },
        schemas: ['public'],
        dataTasks: (sql) => multiboardTasks(sql, plan),
        explicitIds: true,
      };
    }
    case 'enum-wide': {
      const plan = planEnumWide(bytes);
      return {
        describe: `${plan.customers} customers, ${plan.orders} orders, ~${plan.orders * 4} order attributes, ${plan.attachments} attachments, `
          + `${plan.shipments} shipments, ${plan.events} events`,
        loadSchema: async (sql) => {
          await sql.unsafe(ENUM_WIDE_SCHEMA);
        },
        schemas: ['public'],
        dataTasks: (sql) => enumWideTasks(sql, plan),
        explicitIds: true,
      };
    }
    case 'many-tables': {
      const tables = planManyTables(bytes);
      return {
        describe: `${tables.length} tables, ${tables.reduce((n, t) => n + t.rows, 0)} rows, planned ${formatBytes(Math.min(...tables.map((t) => t.bytes)))} `
          + `to ${formatBytes(Math.max(...tables.map((t) => t.bytes)))} each, ${tables.reduce((n, t) => n + t.refs.length, 0)} foreign keys`,
        loadSchema: async (sql) => {
          await sql.unsafe(manyTablesSchemaSql(tables));
        },
        schemas: ['public'],
        dataTasks: (sql) => tables.map((t, i) => seeded(sql, `${t.name} (${t.rows.toLocaleString('en-US')} rows)`, 0.6 + i / 1e4, manyTablesDataSql(t, tables))),
        explicitIds: true,
      };
    }
    case 'supabase': {
      const scale = supabaseScale(bytes);
      return {
        describe: `the Supabase fixture's data.sql at scale ${scale}: ${40 * scale} auth users, ${200 * scale} components, ${1000 * scale} parts, `
          + `${3000 * scale} part attributes, ${500 * scale} download events (one session: data.sql is one script)`,
        loadSchema: async (sql) => {
          // roles are cluster-wide: roles.sql creates the missing ones and never alters existing ones
          await ensureSupabaseRoles(adminUrl);
          for (const file of ['platform.sql', 'auth-migration-20240214120130.sql', 'schema.sql']) {
            await sql.unsafe(await readFile(join(supabaseFixtureDirectory(), file), 'utf8'));
          }
        },
        // realtime and the others hold no rows the data loads
        schemas: ['public', 'auth', 'storage'],
        dataTasks: (sql) => [{
          label: `data.sql at scale ${scale}`,
          run: () => sql.begin(async (tx) => {
            await tx`SELECT set_config('mbsync.fixture_scale', ${String(scale)}, true)`;
            await tx.unsafe(await readFile(join(supabaseFixtureDirectory(), 'data.sql'), 'utf8'));
          }),
        }],
        explicitIds: false,
      };
    }
  }
}

/**
 * What each unit of data.sql's scale adds here, measured on PostgreSQL 15 (scale 70: 88.5 MB): less than the testkit's
 * SUPABASE_BYTES_PER_SCALE because indexes built after the load are packed tighter than ones grown row by row.
 */
const SUPABASE_BENCH_BYTES_PER_SCALE = 1.09 * 1024 ** 2;

/** data.sql's scale for about `bytes`: a scale-1 database weighs ~13 MB. */
export function supabaseScale(bytes: number): number {
  return Math.max(1, Math.round((bytes - 12 * 1024 ** 2) / SUPABASE_BENCH_BYTES_PER_SCALE));
}

interface ConstraintDef { table: string; name: string; type: 'p' | 'u' | 'f'; def: string; indexDef: string | null }
interface IndexDef { table: string; name: string; def: string }

/**
 * Loads the schema, sets its keys, unique constraints, indexes and foreign keys aside, fills the tables
 * in parallel chunks, then puts them back the way a restore would (indexes in parallel, FKs added NOT VALID
 * then validated in parallel) and VACUUM FREEZE ANALYZEs so the first benchmark run does not pay for hint bits.
 */
async function fillDatabase(url: string, fill: ShapeFill): Promise<void> {
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
    phase('loading the schema');
    await fill.loadSchema(sql);
    const { constraints, indexes } = await readKeys(sql, fill.schemas);
    for (const c of constraints.filter((c) => c.type === 'f')) await sql.unsafe(`ALTER TABLE ${c.table} DROP CONSTRAINT ${c.name}`);
    for (const c of constraints.filter((c) => c.type !== 'f')) await sql.unsafe(`ALTER TABLE ${c.table} DROP CONSTRAINT ${c.name}`);
    for (const i of indexes) await sql.unsafe(`DROP INDEX ${i.name}`);

    phase(`set aside ${constraints.length} keys and ${indexes.length} indexes; loading ${fill.describe} (${concurrency} connections)`);
    const tasks = fill.dataTasks(sql);
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
      WHERE n.nspname = ANY(${fill.schemas}) AND c.relkind = 'r' ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC`;
    await runTasks(tables.map((t) => ({ label: t.name, run: () => sql.unsafe(`VACUUM (FREEZE, ANALYZE) ${t.name}`) })),
      concurrency, (task, done) => phase(`vacuum ${done}/${tables.length}: ${task.label}`));
    // rows were inserted with explicit ids: move each identity sequence past them, as a real history would
    const identities = !fill.explicitIds ? [] : await sql<{ table: string; column: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS table, quote_ident(a.attname) AS column
      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY(${fill.schemas}) AND a.attidentity <> '' AND NOT a.attisdropped`;
    for (const i of identities) {
      await sql.unsafe(`SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('${i.table}', '${i.column}'), max(${i.column})) FROM ${i.table}`);
    }
    const counts = await sql<{ name: string; rows: string; size: string }[]>`
      SELECT format('%I.%I', n.nspname, c.relname) AS name, c.reltuples::bigint::text AS rows, pg_catalog.pg_total_relation_size(c.oid)::text AS size
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY(${fill.schemas}) AND c.relkind = 'r' ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, 1`;
    // many-tables has 500: name the biggest, sum up the rest
    const shown = counts.slice(0, 12);
    const rest = counts.slice(12);
    const restText = rest.length === 0 ? '' : `, and ${rest.length} more tables: ${rest.reduce((n, c) => n + Math.max(0, Number(c.rows)), 0).toLocaleString('en-US')} rows, `
      + formatBytes(rest.reduce((n, c) => n + Number(c.size), 0));
    phase(`done, rows per pg_class.reltuples (total size incl. indexes and TOAST): ${shown.map((c) => `${c.name} `
      + `${Math.max(0, Number(c.rows)).toLocaleString('en-US')} (${formatBytes(Number(c.size))})`).join(', ')}${restText}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function readKeys(sql: postgres.Sql, schemas: string[]): Promise<{ constraints: ConstraintDef[]; indexes: IndexDef[] }> {
  const constraints = await sql<ConstraintDef[]>`
    SELECT format('%I.%I', n.nspname, r.relname) AS table, quote_ident(c.conname) AS name, c.contype AS type,
      pg_catalog.pg_get_constraintdef(c.oid) AS def,
      CASE WHEN c.contype IN ('p', 'u') THEN pg_catalog.pg_get_indexdef(c.conindid) END AS "indexDef"
    FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = ANY(${schemas}) AND c.contype IN ('p', 'u', 'f')
      -- a published table without its primary key (its replica identity) refuses UPDATEs, which data.sql runs
      AND NOT (c.contype = 'p' AND (EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr WHERE pr.prrelid = r.oid)
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.puballtables)))
    ORDER BY pg_catalog.pg_total_relation_size(r.oid) DESC, c.conname`;
  // FKs point conindid at the referenced key, so only p/u/x constraints own their index
  const indexes = await sql<IndexDef[]>`
    SELECT format('%I.%I', n.nspname, r.relname) AS table, format('%I.%I', n.nspname, ic.relname) AS name,
      pg_catalog.pg_get_indexdef(i.indexrelid) AS def
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class r ON r.oid = i.indrelid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = ANY(${schemas}) AND NOT i.indisreplident
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
    ORDER BY ic.relname`;
  return { constraints: [...constraints], indexes: [...indexes] };
}

/** A task running `text` in its own transaction after setseed(seed), so reruns make the same rows. */
function seeded(sql: postgres.Sql, label: string, seed: number, text: string): Task {
  return {
    label,
    run: () => sql.begin(async (tx) => {
      await tx`SELECT setseed(${seed})`;
      await tx.unsafe(text);
    }),
  };
}

/** Tasks `make(from, to, index)` over 1..total in chunks of `size`. */
function chunked(total: number, size: number, make: (from: number, to: number, index: number) => Task): Task[] {
  const tasks: Task[] = [];
  for (let from = 1, index = 0; from <= total; from += size, index++) tasks.push(make(from, Math.min(total, from + size - 1), index));
  return tasks;
}

function range(table: string, from: number, to: number): string {
  return `${table} ${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')}`;
}

/** bytea: chunks of a few hundred thousand rows (or ~70 MB of files), biggest first, each seeded so reruns match. */
function multiboardTasks(sql: postgres.Sql, plan: ReturnType<typeof planData>): Task[] {
  const tasks: Task[] = [];
  const chunks = (total: number, size: number, make: (from: number, to: number, index: number) => Task) => tasks.push(...chunked(total, size, make));
  chunks(plan.parts, 300_000, (from, to, i) => seeded(sql, range('part_attributes for parts', from, to), 0.1 + i / 1e4, partAttributesSql(from, to)));
  chunks(plan.files, 2_000, (from, to, i) => seeded(sql, range('component_files', from, to), 0.2 + i / 1e4, componentFilesSql(from, to, plan.components)));
  chunks(plan.parts, 500_000, (from, to, i) => seeded(sql, range('parts', from, to), 0.3 + i / 1e4, partsSql(from, to, plan.components)));
  chunks(plan.components, 100_000, (from, to, i) => seeded(sql, range('components', from, to), 0.4 + i / 1e4, componentsSql(from, to)));
  tasks.push(seeded(sql, 'categories, attributes', 0.5, `${categoriesSql()}; ${attributesSql()}`));
  // interleave the two heaviest kinds so both connections stay busy with different tables
  return interleave(tasks.filter((t) => t.label.startsWith('part_attributes')), tasks.filter((t) => !t.label.startsWith('part_attributes')));
}

/** enum-wide: order_attributes (the most rows) interleaved with the rest, biggest chunks first. */
function enumWideTasks(sql: postgres.Sql, plan: EnumWidePlan): Task[] {
  const attributes = chunked(plan.orders, 100_000, (from, to, i) =>
    seeded(sql, range('order_attributes for orders', from, to), 0.11 + i / 1e4, orderAttributesSql(from, to)));
  const rest = [
    ...chunked(plan.orders, 100_000, (from, to, i) => seeded(sql, range('orders', from, to), 0.21 + i / 1e4, ordersSql(from, to, plan.customers))),
    ...chunked(plan.attachments, 10_000, (from, to, i) => seeded(sql, range('attachments', from, to), 0.31 + i / 1e4, attachmentsSql(from, to, plan.orders))),
    ...chunked(plan.events, 200_000, (from, to, i) => seeded(sql, range('events', from, to), 0.41 + i / 1e4, eventsSql(from, to, plan.orders, plan.customers))),
    ...chunked(plan.shipments, 200_000, (from, to, i) => seeded(sql, range('shipments', from, to), 0.51 + i / 1e4, shipmentsSql(from, to, plan.orders))),
    ...chunked(plan.customers, 100_000, (from, to, i) => seeded(sql, range('customers', from, to), 0.61 + i / 1e4, customersSql(from, to))),
  ];
  return interleave(attributes, rest);
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

