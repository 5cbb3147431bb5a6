import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { CollectionSpec } from './spec.js';

/**
 * The tool's own schema in a target (`mbsync_meta`, as the dump package names it): introspection, diff, backups and
 * replaces leave it alone.
 */
const RECORD_TABLE = 'mbsync_meta.search_collections';

/** The rows a spec query returned, summed: what a collection was built from. */
export interface DocumentsFingerprint {
  rows: number;
  /** sum of hashtextextended(row text, 0) over the rows, as numeric text */
  checksum: string;
}

/**
 * What the target's Typesense collection `name` holds, as the last complete reindex or by-id update recorded it, after
 * Typesense acknowledged: the physical collection, the spec it was built with, and the fingerprint of the rows.
 */
export interface CollectionRecord extends DocumentsFingerprint {
  name: string;
  collection: string;
  specHash: string;
}

/**
 * The fingerprint of a spec query's rows, in the calling session's settings (row text depends on DateStyle, TimeZone,
 * extra_float_digits…): one scan, no sort.
 */
export function fingerprintSql(query: string): string {
  return `SELECT pg_catalog.count(*)::text AS rows, coalesce(pg_catalog.sum(pg_catalog.hashtextextended(q::text, 0)), 0)::text AS checksum FROM (${query}) AS q`;
}

/** A hash of everything in a spec that shapes its documents (not the key order of its JSON). */
export function specHash(spec: CollectionSpec): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
    }
    return value;
  };
  return createHash('sha256').update(JSON.stringify(canonical(spec))).digest('hex');
}

/** The target's records by collection name; none when it has no record table. */
export async function readCollectionRecords(sql: postgres.Sql | postgres.TransactionSql): Promise<Map<string, CollectionRecord>> {
  const [exists] = await sql.unsafe<{ ok: boolean }[]>(`SELECT pg_catalog.to_regclass('${RECORD_TABLE}') IS NOT NULL AS ok`);
  if (!exists?.ok) return new Map();
  const rows = await sql.unsafe<{ name: string; collection: string; spec_hash: string; rows: string; checksum: string }[]>(
    `SELECT name, collection, spec_hash, rows::text AS rows, checksum::text AS checksum FROM ${RECORD_TABLE}`,
  );
  return new Map(rows.map((r) => [r.name, { name: r.name, collection: r.collection, specHash: r.spec_hash, rows: Number(r.rows), checksum: r.checksum }]));
}

/**
 * Records what collection `name` now holds (creating the table where the schema can be created). Best effort:
 * false when it could not be written, which only costs the next sync its by-id update.
 */
export async function writeCollectionRecord(sql: postgres.Sql, record: CollectionRecord): Promise<boolean> {
  try {
    await sql.begin(async (tx) => {
      // (CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists)
      const [schema] = await tx.unsafe<{ ok: boolean }[]>(`SELECT pg_catalog.to_regnamespace('mbsync_meta') IS NOT NULL AS ok`);
      if (!schema?.ok) await tx.unsafe(`CREATE SCHEMA mbsync_meta`);
      await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${RECORD_TABLE} (
        name text PRIMARY KEY, collection text NOT NULL, spec_hash text NOT NULL, rows bigint NOT NULL, checksum numeric NOT NULL,
        recorded_at timestamptz NOT NULL)`);
      await tx.unsafe(`INSERT INTO ${RECORD_TABLE} VALUES ($1, $2, $3, $4, $5, pg_catalog.clock_timestamp())
        ON CONFLICT (name) DO UPDATE SET collection = EXCLUDED.collection, spec_hash = EXCLUDED.spec_hash, rows = EXCLUDED.rows,
          checksum = EXCLUDED.checksum, recorded_at = EXCLUDED.recorded_at`, [record.name, record.collection, record.specHash, record.rows, record.checksum]);
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the record of `name` before its collection is written by id: a collection half updated must not look like
 * the one the record describes. Throws when it cannot (the update must not start then).
 */
export async function forgetCollectionRecord(sql: postgres.Sql, name: string): Promise<void> {
  const [exists] = await sql.unsafe<{ ok: boolean }[]>(`SELECT pg_catalog.to_regclass('${RECORD_TABLE}') IS NOT NULL AS ok`);
  if (exists?.ok) await sql.unsafe(`DELETE FROM ${RECORD_TABLE} WHERE name = $1`, [name]);
}
