import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { TOOL_VERSION } from '../dump-format.js';

import { META_SCHEMA } from '@mbsync/schema-diff';

export { META_SCHEMA };
const RECORD_TABLE = `${META_SCHEMA}.copies`;

/** Where a copy came from, without credentials: enough to tell whether a target holds a copy of this source. */
export interface SourceIdentity {
  /** the comparable key: `sysid:<system identifier>` when the server tells it, else `addr:<host>:<port>`, then `/<db oid>/<db name>` */
  key: string;
  systemIdentifier: string | null;
  databaseOid: string;
  databaseName: string;
}

/** What a target holds, as the last successful sync recorded it. */
export interface CopyRecord {
  sourceIdentity: string;
  sourceName: string;
  modelHash: string;
  copiedAt: string;
  toolVersion: string;
  mode: 'full' | 'incremental';
  /** rows per data table ('schema.table') */
  tables: Record<string, number>;
  /**
   * the source's write counters per table ('schema.table': inserts + updates + deletes from pg_stat_user_tables) when
   * it was read: the next sync compares a table whose counters have not moved whole first (most likely equal), and
   * one whose counters moved by key buckets straight away. Only the order of the work depends on it: statistics lag
   * and can be reset, the checksums decide.
   */
  activity: Record<string, string>;
  /** where the next sync can start from without reading every row (see ChangeHorizon); null: not known */
  horizon: ChangeHorizon | null;
}

/**
 * The source's side of a change horizon: an xid below which every transaction that could write this database had
 * ended when the copy's snapshot was taken, so that a row version written since has an xid at or above it (the
 * snapshot's xmax, or the oldest transaction then running that may belong to this database), and the timeline of
 * its WAL (a point-in-time recovery or a promoted replica starts a new one, and may reuse xids).
 */
export interface SourceHorizon {
  /** txid_snapshot_xmin of the copy's snapshot (64 bits: epoch and xid) */
  xid: string;
  timeline: string;
}

/**
 * A table in the target as the copy left it: its row count and the sum of the hashes of its rows' xmins. Any write
 * since (by anyone: a later transaction has another xid) leaves a row version with a new xmin, or fewer rows: either
 * way the fingerprint no longer matches.
 */
export interface TableFingerprint {
  n: number;
  f: string;
}

/**
 * What the next sync needs to read only the rows written since this copy: the source's horizon, and a fingerprint per
 * table of the target. A table whose fingerprint still matches holds exactly the rows of the last copy's snapshot, so
 * the source's rows with xmin below the horizon are in it as they are, and only the rows at or above it (and the
 * keys deleted since) need to move.
 */
export interface ChangeHorizon {
  source: SourceHorizon;
  /** per relation ('schema.table') */
  target: Record<string, TableFingerprint>;
}

/**
 * The query reading the source's horizon in its snapshot transaction (REPEATABLE READ: the snapshot every read of the
 * copy uses); the timeline is null when it cannot be read (a standby, or a role that may not call the WAL functions).
 *
 * The snapshot's xmax, lowered to the oldest of the transactions it saw running (top-level: their subtransactions'
 * xids are higher) unless that transaction is known, now, to run in another database, which cannot write this one's
 * tables, or is autovacuum's (its ANALYZE holds an xid for pg_statistic; it writes no table row) (pg_stat_activity's
 * backend_xid, hidden for other roles' sessions without pg_read_all_stats: then it counts; a transaction ended
 * since counts too). The cluster-wide xmin would do, but any transaction open elsewhere
 * in the cluster would make the next sync read again every row written while it ran.
 *
 * The query's columns are `horizon_xid` and `horizon_timeline`; other columns may be put before them. It should be
 * the transaction's first statement, which takes the snapshot: a transaction the snapshot saw running that has ended
 * by the time pg_stat_activity is read counts as this database's, so the later it runs the more rows the next sync
 * reads again (read a second after the snapshot, with CI's other test files running, it re-read rows every time).
 */
export function horizonQuery(columns = ''): string {
  return `
    WITH s AS (SELECT pg_catalog.txid_current_snapshot() AS snap),
    elsewhere AS (
      SELECT a.backend_xid::text::int8 AS x FROM pg_catalog.pg_stat_activity a
      WHERE a.backend_xid IS NOT NULL AND (a.backend_type = 'autovacuum worker'
        OR a.datid IS DISTINCT FROM (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()))
      UNION ALL
      SELECT p.transaction::text::int8 FROM pg_catalog.pg_prepared_xacts p WHERE p.database <> pg_catalog.current_database()
    )
    SELECT ${columns}LEAST(pg_catalog.txid_snapshot_xmax(s.snap),
        (SELECT min(r.x) FROM pg_catalog.txid_snapshot_xip(s.snap) r(x) WHERE r.x % 4294967296 NOT IN (SELECT e.x FROM elsewhere e)))::text AS horizon_xid,
      CASE WHEN NOT pg_catalog.pg_is_in_recovery()
             AND pg_catalog.has_function_privilege('pg_catalog.pg_current_wal_lsn()', 'EXECUTE')
             AND pg_catalog.has_function_privilege('pg_catalog.pg_walfile_name(pg_catalog.pg_lsn)', 'EXECUTE')
           THEN pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8) END AS horizon_timeline
    FROM s`;
}

/** The horizon from horizonQuery's columns: null when the timeline cannot be read. */
export function horizonOfRow(row: { horizon_xid: string; horizon_timeline: string | null } | undefined): SourceHorizon | null {
  return row?.horizon_timeline ? { xid: row.horizon_xid, timeline: row.horizon_timeline } : null;
}


/**
 * The source's identity, read in its snapshot transaction: the cluster's system identifier when the role may read
 * it (pg_control_system), else the host and port of its URL (`address`, credentials never included), and the
 * database's OID and name (a database dropped and created again under the same name is another source).
 */
export async function readSourceIdentity(tx: postgres.TransactionSql, address: string): Promise<SourceIdentity> {
  const [row] = await tx.unsafe<{ sysid: string | null; oid: string; name: string }[]>(`
    SELECT CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
             THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END AS sysid,
           d.oid::text AS oid, d.datname AS name
    FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`);
  const where = row!.sysid ? `sysid:${row!.sysid}` : `addr:${address}`;
  return { key: `${where}/${row!.oid}/${row!.name}`, systemIdentifier: row!.sysid, databaseOid: row!.oid, databaseName: row!.name };
}

/** The source's write counters per user table (see CopyRecord.activity), in its snapshot transaction. */
export async function readSourceActivity(tx: postgres.TransactionSql): Promise<Record<string, string>> {
  const rows = await tx.unsafe<{ name: string; n: string }[]>(`
    SELECT pg_catalog.format('%s.%s', s.schemaname, s.relname) AS name, (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::text AS n
    FROM pg_catalog.pg_stat_user_tables s`);
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

/** The host(s) and port of a postgres URL, without user, password or parameters. */
export function sourceAddress(url: string): string {
  const rest = url.replace(/^[a-z]+:\/\//i, '');
  const hostPart = rest.replace(/^[^@/]*@/, '').split(/[/?]/)[0] ?? '';
  return hostPart.includes(':') ? hostPart : `${hostPart}:5432`;
}

/**
 * A stable hash of a schema model: the same objects give the same hash whatever order their fields were read in;
 * what changes with the data alone (table sizes) is left out.
 */
export function schemaModelHash(model: SchemaModel): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        if (key === 'estimatedBytes') continue;
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined) out[key] = canonical(v);
      }
      return out;
    }
    return value;
  };
  return createHash('sha256').update(JSON.stringify(canonical(model))).digest('hex');
}

/** The target's record, or null when it has none (never synced by this tool, or by a version before records). */
export async function readCopyRecord(session: postgres.Sql | postgres.TransactionSql): Promise<CopyRecord | null> {
  const [exists] = await session.unsafe<{ ok: boolean }[]>(`SELECT pg_catalog.to_regclass('${RECORD_TABLE}') IS NOT NULL AS ok`);
  if (!exists?.ok) return null;
  // (a record from before `activity` has none: every table then counts as written to)
  const [row] = await session.unsafe<{ source_identity: string; source_name: string; model_hash: string; copied_at: string; tool_version: string; mode: string; tables: string; activity: string | null; horizon: string | null }[]>(
    `SELECT source_identity, source_name, model_hash, copied_at::text AS copied_at, tool_version, mode, tables::text AS tables, pg_catalog.to_jsonb(r) ->> 'activity' AS activity,
       pg_catalog.to_jsonb(r) ->> 'horizon' AS horizon
     FROM ${RECORD_TABLE} r ORDER BY copied_at DESC LIMIT 1`,
  );
  if (!row) return null;
  return {
    sourceIdentity: row.source_identity, sourceName: row.source_name, modelHash: row.model_hash, copiedAt: row.copied_at,
    toolVersion: row.tool_version, mode: row.mode === 'incremental' ? 'incremental' : 'full', tables: JSON.parse(row.tables) as Record<string, number>,
    activity: row.activity ? (JSON.parse(row.activity) as Record<string, string>) : {},
    horizon: row.horizon ? horizonOf(JSON.parse(row.horizon)) : null,
  };
}

/** A recorded horizon as read back: anything malformed (edited by hand) counts as none. */
function horizonOf(value: unknown): ChangeHorizon | null {
  const h = value as Partial<ChangeHorizon> | null;
  if (!h || typeof h.source?.xid !== 'string' || !/^\d+$/.test(h.source.xid) || typeof h.source.timeline !== 'string' || !h.target || typeof h.target !== 'object') return null;
  const target: Record<string, TableFingerprint> = {};
  for (const [key, fp] of Object.entries(h.target)) {
    if (typeof fp?.n === 'number' && typeof fp.f === 'string' && /^-?\d+$/.test(fp.f)) target[key] = { n: fp.n, f: fp.f };
  }
  return { source: { xid: h.source.xid, timeline: h.source.timeline }, target };
}

/**
 * Writes the record in the target's importing transaction (committed with the copy), in a savepoint: a role that
 * may not create the schema only loses the next sync's chance to be incremental, never this sync. Returns whether
 * it was written.
 */
export async function writeCopyRecord(tx: postgres.TransactionSql, record: Omit<CopyRecord, 'copiedAt' | 'toolVersion'>): Promise<boolean> {
  try {
    await tx.savepoint(async (sp) => {
      await sp.unsafe(`CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`);
      await sp.unsafe(`CREATE TABLE IF NOT EXISTS ${RECORD_TABLE} (
        source_identity text NOT NULL, source_name text NOT NULL, model_hash text NOT NULL, copied_at timestamptz NOT NULL,
        tool_version text NOT NULL, mode text NOT NULL, tables jsonb NOT NULL)`);
      await sp.unsafe(`ALTER TABLE ${RECORD_TABLE} ADD COLUMN IF NOT EXISTS activity jsonb`);
      await sp.unsafe(`ALTER TABLE ${RECORD_TABLE} ADD COLUMN IF NOT EXISTS horizon jsonb`);
      await sp.unsafe(`DELETE FROM ${RECORD_TABLE}`);
      await sp.unsafe(`INSERT INTO ${RECORD_TABLE} (source_identity, source_name, model_hash, copied_at, tool_version, mode, tables, activity, horizon)
        VALUES ($1, $2, $3, pg_catalog.clock_timestamp(), $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb)`, [
        record.sourceIdentity, record.sourceName, record.modelHash, TOOL_VERSION, record.mode, JSON.stringify(record.tables), JSON.stringify(record.activity),
        JSON.stringify(record.horizon),
      ]);
    });
    return true;
  } catch {
    return false;
  }
}
