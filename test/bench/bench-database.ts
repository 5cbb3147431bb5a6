import postgres from 'postgres';
import { ADMIN_URL, databaseUrl, dropDatabase } from '@mbsync/testkit';

/** Bumped whenever the generated data changes shape, so stale bench databases are rebuilt instead of reused. */
export const GENERATOR_VERSION = 1;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * The kinds of database the generator builds (see generate.ts): `bytea` is the Multiboard schema the benches were
 * tuned on; the others are shapes they were not tuned for.
 */
export const SHAPES = ['bytea', 'enum-wide', 'many-tables', 'supabase'] as const;
export type Shape = (typeof SHAPES)[number];

/** What a bench database says about itself, stored as its COMMENT ON DATABASE (never part of a dump). */
export interface BenchMarker {
  tool: 'mbsync-bench';
  kind: 'multiboard' | 'introspect';
  /** multiboard only; absent on markers written before shapes existed */
  shape?: Shape;
  version: number;
  /** multiboard: the requested pg_database_size in bytes; introspect: the number of tables */
  scale: number;
  generatedAt: string;
  seconds: number;
}

/** '1GB', '100MB', '1.5GB' → bytes (binary units, as pg_size_pretty counts). */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toUpperCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`--size must look like 100MB or 1GB, not "${text}"`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 20 * UNITS.MB!) throw new Error('--size must be at least 20MB');
  return bytes;
}

/** 1073741824 → '1gb', 104857600 → '100mb': the suffix of the default database name. */
export function sizeLabel(bytes: number): string {
  for (const unit of ['TB', 'GB', 'MB'] as const) {
    const n = Math.round((bytes / UNITS[unit]!) * 10) / 10;
    if (n >= 1) return `${String(n).replace('.', '_')}${unit.toLowerCase()}`;
  }
  return `${bytes}b`;
}

/** Human figure in MB/GB with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes >= UNITS.GB!) return `${(bytes / UNITS.GB!).toFixed(2)} GB`;
  return `${(bytes / UNITS.MB!).toFixed(1)} MB`;
}

/** Default name of the bench database of a shape and size: mbsync_bench_bytea_1gb, mbsync_bench_enumwide_100mb. */
export function benchDatabaseName(bytes: number, shape: Shape = 'bytea'): string {
  return `mbsync_bench_${shape.replace(/-/g, '')}_${sizeLabel(bytes)}`;
}

export function parseShape(text: string): Shape {
  const shape = SHAPES.find((s) => s === text.trim());
  if (!shape) throw new Error(`--shape must be one of ${SHAPES.join(', ')}, not "${text}"`);
  return shape;
}

/** 'bytea,enum-wide' → both; 'all' → every shape. */
export function parseShapes(text: string): Shape[] {
  if (text.trim() === 'all') return [...SHAPES];
  const shapes = text.split(',').filter((s) => s.trim() !== '').map(parseShape);
  if (shapes.length === 0) throw new Error('--shapes names no shape');
  return [...new Set(shapes)];
}

/** Refuses anything but a loopback server: benches create and drop databases. */
export function assertLoopback(adminUrl: string = ADMIN_URL): void {
  const host = new URL(adminUrl).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`benches run on the local server only; PG_TEST_URL points to ${host}`);
}

/** URL of database `name` on the local bench server (or the server of `adminUrl`, e.g. a throwaway TLS server). */
export function benchUrl(name: string, adminUrl: string = ADMIN_URL): string {
  assertLoopback(adminUrl);
  return databaseUrl(name, adminUrl);
}

/** A small pool on the admin database (postgres) of the bench server, or of `adminUrl`'s. */
export function connectAdmin(adminUrl: string = ADMIN_URL): postgres.Sql {
  assertLoopback(adminUrl);
  return postgres(adminUrl, { max: 1, onnotice: () => {} });
}

/** The marker of database `name`: undefined when the database does not exist, null when it has no marker. */
export async function readMarker(admin: postgres.Sql, name: string): Promise<BenchMarker | null | undefined> {
  const rows = await admin<{ comment: string | null }[]>`
    SELECT pg_catalog.shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = ${name}`;
  const row = rows[0];
  if (!row) return undefined;
  try {
    const parsed = JSON.parse(row.comment ?? '') as Partial<BenchMarker>;
    return parsed.tool === 'mbsync-bench' ? (parsed as BenchMarker) : null;
  } catch {
    return null;
  }
}

/** Writes the marker: done last, so an interrupted generation is never reused. */
export async function writeMarker(admin: postgres.Sql, name: string, marker: BenchMarker): Promise<void> {
  const text = JSON.stringify(marker).replace(/'/g, "''");
  await admin.unsafe(`COMMENT ON DATABASE "${name}" IS '${text}'`);
}

/** Creates an empty UTF8 database (template0, C collation like the test databases). */
export async function createEmptyDatabase(admin: postgres.Sql, name: string): Promise<void> {
  await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
}

/**
 * Drops a database the benches own: one carrying a bench marker, or named mbsync_bench_*.
 * Anything else is refused, so a mistyped --db never drops someone's data.
 */
export async function dropBenchDatabase(admin: postgres.Sql, name: string, adminUrl: string = ADMIN_URL): Promise<void> {
  const marker = await readMarker(admin, name);
  if (marker === undefined) return;
  if (marker === null && !name.startsWith('mbsync_bench_')) {
    throw new Error(`database "${name}" exists and was not made by the bench generator; refusing to drop it`);
  }
  await dropDatabase(name, adminUrl);
}

/** pg_database_size of a database. */
export async function databaseSize(admin: postgres.Sql, name: string): Promise<number> {
  const [row] = await admin<{ size: string }[]>`SELECT pg_catalog.pg_database_size(${name})::text AS size`;
  return Number(row?.size ?? 0);
}
