import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type postgres from 'postgres';
import type { SchemaModel, Table } from '@mbsync/schema-diff';
import { qualify, quoteIdent, renderSchema, type DataTable } from '../ddl.js';
import { readSequenceValues } from '../dump-writer.js';
import { DumpError, throwIfAborted } from '../errors.js';
import { pipeCopy } from '../parallel/copy-pipe.js';
import { insertedRows } from '../parallel/parallel-sync.js';
import { binaryCopyable } from '../parallel/shadow-plan.js';
import { schemasOfModel } from '../replace/schemas.js';
import { chunksOf, waitForDrain } from '../stream-chunks.js';
import type { SourceSnapshot } from '../source-snapshot.js';
import { quoteLiteral } from '../sql-literal.js';
import type { TargetSession } from '../target-session.js';
import { verifySchemaModel } from '../verify.js';
import type { ChangeHorizon, SourceHorizon, TableFingerprint } from './copy-record.js';

/**
 * Raised before anything was written (or by a verification that rolled the patch back): the copy cannot be made
 * incrementally, a full sync makes it. Carries the reason the result reports.
 */
export class IncrementalNotPossible extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'IncrementalNotPossible';
  }
}

export interface IncrementalSyncOptions {
  /** the runner's source transaction holding the snapshot (readSourceSnapshot ran in it) */
  coordinator: postgres.TransactionSql;
  snapshot: SourceSnapshot;
  /** the runner's locked target session: compared, patched and verified in it; the runner commits */
  session: TargetSession;
  sourceName: string;
  targetName: string;
  excludeTableData?: string[] | undefined;
  owners?: boolean | undefined;
  privileges?: boolean | undefined;
  /** how long to wait for the locks on the target's tables (default 30 s) */
  lockTimeoutMs?: number | undefined;
  /** runs once the tables are locked and compared, before the first write (the runner's backup) */
  beforeWrite?: () => Promise<void>;
  /** what reads the target's rows around the patch (the search index's by-id update), in the target's transaction */
  documents?: {
    /** after beforeWrite, before the first patch statement, when something will be written: the relations it writes */
    beforePatch(tx: postgres.TransactionSql, written: string[]): Promise<void>;
    /** after the verify, before the runner commits */
    afterVerify(tx: postgres.TransactionSql): Promise<void>;
  } | undefined;
  signal?: AbortSignal | undefined;
  onStep?: (phase: 'export' | 'import' | 'verify', message: string) => void;
  /** the patch must keep triggers and foreign keys from firing with session_replication_role = replica (a platform
   * target: its tables belong to the platform's roles, which the data-only way would have to alter); a role that
   * may not set it makes the copy full (IncrementalNotPossible, before the first write) */
  replicaOnly?: boolean | undefined;
  /** tables ('schema.table') the source has not written to since the last copy, by its statistics: a keyed one is
   * compared whole first (one cheaper pass when, as is likely, it is equal), the others by key buckets straight away */
  quiet?: ReadonlySet<string> | undefined;
  /** source rows per key bucket of a differing table (default 16: with 1 % of rows changed at random, 15 % of the
   * buckets differ and only their rows' keys and hashes are read) */
  rowsPerBucket?: number;
  /** the change horizon of the last copy (the target's record; null: none) and the source's now (null: not known):
   * a table whose fingerprint in the target still matches is compared by the source's rows written since */
  horizon?: { previous: ChangeHorizon | null; source: SourceHorizon | null } | undefined;
}

export interface PatchedTable {
  table: string;
  /** key buckets whose checksums differed (their rows were compared one by one) */
  buckets: number;
  rowsDeleted: number;
  rowsInserted: number;
}

export interface IncrementalSyncResult {
  tables: {
    /** every data table compared by checksums */
    compared: string[];
    /** equal on both sides: not written */
    skipped: string[];
    /** differing rows replaced, by key */
    patched: PatchedTable[];
    /** replaced whole (no primary key, partition trees loaded through their root, excluded data, mostly changed) */
    copied: string[];
    /** decided by the change horizon: only the source's rows written since the last copy were read (the others of
     * `compared` by checksums) */
    tracked: string[];
  };
  /** what the next sync starts from (null: the source's horizon is not known, or a server before 14) */
  horizon: ChangeHorizon | null;
  /** bytes of rows read from the source: the bucket checksums, the keys and row hashes compared, the rows copied (the
   * protocol's framing and the small whole-table answers left out) */
  bytesFromSource: number;
  /** rows per data table in the source's snapshot (= in the target at COMMIT) */
  rows: { schema: string; name: string; rows: number }[];
  /** checksum and bound queries per side (what a slow link pays in round trips) */
  queries: { source: number; target: number };
  /** statements written into the target */
  statements: number;
  /** how triggers and foreign keys were kept from firing */
  enforcement: 'replica' | 'disabled';
}

/** A column of a primary key, as the key lists name it. */
interface KeyColumn {
  name: string;
  type: string;
}

/** A column of the row as hashed: its name and type (format_type spelling, the model's). */
interface RowColumn {
  name: string;
  type: string;
}

/** One relation compared as a whole and, with a primary key, row by row in the key buckets that differ. */
interface Unit {
  schema: string;
  name: string;
  key: string;
  /** FROM clause: `ONLY "s"."t"`, or a partition root with its tree */
  from: string;
  relation: string;
  only: boolean;
  /** COPY column list */
  columns: string[];
  /** the row as hashed: every column, in the source's order */
  rowColumns: RowColumn[];
  /** null: compared and copied whole */
  pk: KeyColumn[] | null;
  /** the rows are not copied (excludeTableData): the target's table must be empty */
  expectEmpty: boolean;
  binary: boolean;
  matview: boolean;
}

interface Sum {
  n: number;
  s: string;
}

/** What moves for a table compared row by row: keys as their columns' text. */
interface RowDiff {
  buckets: number;
  /** keys whose target row is deleted (differing, or not in the source) */
  remove: string[][];
  /** keys whose source row is copied (differing, or not in the target) */
  fetch: string[][];
}

/** Keys per DELETE or COPY statement (their text grows with each). */
const KEYS_PER_STATEMENT = 5000;
/** Whole-relation checksums per query. */
const UNITS_PER_QUERY = 200;
/** Buckets per table at most (the bucket checksums are read into memory; beyond it buckets hold more rows). */
const MAX_BUCKETS = 1 << 18;
/** Differing buckets whose rows are compared per query (the list is part of the statement's text). */
const BUCKETS_PER_QUERY = MAX_BUCKETS;
/**
 * A table with more of its rows in differing buckets is copied whole; with more than this share of all rows moving,
 * the runner makes a full copy instead (its parallel lanes load faster than one connection deletes and inserts).
 */
const MAX_TABLE_SHARE = 0.5;
const MAX_PATCH_SHARE = 0.2;

/**
 * The session settings under which both servers print a row the same way: the exporter's, plus the time zone, the
 * bytea and money forms, an empty search_path (names qualified) and no row security (a role it would filter fails).
 */
const CHECKSUM_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['DateStyle', 'ISO, MDY'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['TimeZone', 'UTC'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['search_path', ''],
  ['row_security', 'off'],
  ['statement_timeout', '0'],
  ['standard_conforming_strings', 'on'],
  // the bucket checksums' hash aggregate: ~550k groups for 1 GB in memory rather than spilled to disk
  ['work_mem', '64MB'],
  // compiling the checksum expressions costs more than it saves (~0.3 s a query)
  ['jit', 'off'],
  // a patch looks up a few per cent of a table's keys, whose pages a server that was just copied into or read holds in
  // memory: probed by the primary key, not by a scan of the whole table (at the default 4, the planner hashed every row
  // of enum-wide's order_attributes to find its 22,894 changed rows' twins, 2.7 s; by key 0.3 s)
  ['random_page_cost', '1.1'],
];

function settingsSql(): string {
  return `SELECT ${CHECKSUM_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(v)}, true)`).join(', ')}`;
}

/** Types whose values are equal only when identical, with a hash function that is the same on every server of a major
 * version: hashed as values by hash_record_extended (text under "C", so by bytes). Anything else is hashed by its text. */
const HASHED_AS_VALUE = /^(?:smallint|integer|bigint|boolean|bytea|uuid|date|text|character varying(?:\(\d+\))?|timestamp(?:\(\d\))? (?:with|without) time zone)(?:\[\])*$/;
const COLLATABLE = /^(?:text|character varying)/;
/** Types whose cast to text drops what their output keeps (char(n)'s trailing spaces): rendered by record_out. */
const PADDED = /^(?:character|bpchar)\b/;

/**
 * Each row's 64-bit hash, summed as numeric, order-free. From PostgreSQL 14, hash_record_extended over the columns,
 * those whose types hash by value (integers, text by bytes, bytea, uuid, dates and timestamps, and arrays of them) as
 * they are, every other column (numbers, enums, jsonb, arrays of other types, …) as its text under the pinned
 * settings: enum-wide's order_attributes hashed in 1.27 s instead of 1.62 s with the whole row as text, its orders in
 * 1.4 s instead of 2.0 s. Earlier servers hash the row's text. A difference between servers only makes more rows
 * differ; the probe hash and the verify catch a server that hashes otherwise.
 */
function hashExpr(unit: Unit, byValue: boolean, baseOf: (type: string) => string): string {
  const column = (c: RowColumn) => `t.${quoteIdent(c.name)}`;
  if (!byValue) return `pg_catalog.hashtextextended(ROW(${unit.rowColumns.map(column).join(', ')})::text, 0)`;
  const fields = unit.rowColumns.map((c) => {
    const base = baseOf(c.type);
    if (HASHED_AS_VALUE.test(base)) return COLLATABLE.test(base) ? `${column(c)} COLLATE "C"` : column(c);
    return PADDED.test(base) ? `ROW(${column(c)})::text` : `${column(c)}::text`;
  });
  return `pg_catalog.hash_record_extended(ROW(${fields.join(', ')}), 0)`;
}

/** The bucket of a row's key, in [0, buckets): the same for the same key on both sides, whatever their collations. */
function bucketExpr(pk: KeyColumn[], buckets: number, byValue: boolean, baseOf: (type: string) => string): string {
  const column = (c: KeyColumn) => `t.${quoteIdent(c.name)}`;
  // an integer key by arithmetic: consecutive keys in consecutive buckets, so the aggregate's groups are read in
  // order (a hashed key cost enum-wide's order_attributes 1.8 s against 1.1 s)
  if (pk.length === 1 && /^(?:smallint|integer|bigint)$/.test(baseOf(pk[0]!.type))) return `((${column(pk[0]!)}::int8 % ${buckets}) + ${buckets}) % ${buckets}`;
  const values = byValue && pk.every((c) => HASHED_AS_VALUE.test(baseOf(c.type)));
  const hash = values
    ? `pg_catalog.hash_record_extended(ROW(${pk.map((c) => (COLLATABLE.test(baseOf(c.type)) ? `${column(c)} COLLATE "C"` : column(c))).join(', ')}), 1)`
    : `pg_catalog.hashtextextended(ROW(${pk.map(column).join(', ')})::text, 1)`;
  return `((${hash} % ${buckets}) + ${buckets}) % ${buckets}`;
}

/** An array literal of text values, as `'{"a","b"}'`. */
function arrayLiteral(values: string[]): string {
  return quoteLiteral(`{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`);
}

/** A WHERE condition over alias `t` matching the rows with these keys. */
function keysCondition(pk: KeyColumn[], keys: string[][]): string {
  const column = (c: KeyColumn) => `t.${quoteIdent(c.name)}`;
  if (pk.length === 1) return `${column(pk[0]!)} = ANY(${arrayLiteral(keys.map((k) => k[0]!))}::${pk[0]!.type}[])`;
  return `(${pk.map(column).join(', ')}) IN (SELECT * FROM ROWS FROM (${pk.map((c, i) => `pg_catalog.unnest(${arrayLiteral(keys.map((k) => k[i]!))}::${c.type}[])`).join(', ')}))`;
}

/** The primary key's columns, from `PRIMARY KEY (a, "b c")`. */
function primaryKey(t: Table): KeyColumn[] | null {
  const pk = t.constraints.find((c) => c.type === 'primary key');
  const list = pk && /^PRIMARY KEY \((.*)\)$/.exec(pk.definition)?.[1];
  if (!list) return null;
  const names: string[] = [];
  const re = /\s*("(?:[^"]|"")+"|[^,\s]+)\s*(?:,|$)/gy;
  for (let m = re.exec(list); m && m[0] !== ''; m = re.exec(list)) {
    const raw = m[1]!;
    names.push(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw);
  }
  const columns = names.map((n) => t.columns.find((c) => c.name === n));
  if (columns.length === 0 || columns.some((c) => c === undefined)) return null;
  return columns.map((c) => ({ name: c!.name, type: c!.type }));
}

/** The relations a copy of `model` fills, as units to compare (data tables, trees loaded through their root, excluded data). */
function unitsOf(model: SchemaModel, dataTables: DataTable[], excludeTableData: Set<string>): Unit[] {
  const byKey = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const binary = binaryCopyable(model);
  const rowColumnsOf = (t: Table) => [...t.columns].sort((a, b) => a.position - b.position).map((c) => ({ name: c.name, type: c.type }));
  const typesOf = (t: Table, columns: string[]) => columns.map((n) => t.columns.find((c) => c.name === n)!.type);
  const units: Unit[] = [];
  const roots = new Set<string>();
  for (const d of dataTables) {
    const key = `${d.schema}.${d.name}`;
    const t = byKey.get(key)!;
    if (d.loadVia) {
      // the tree's rows may land in other partitions in the target: compared and copied through the root, whole
      const rootKey = `${d.loadVia.schema}.${d.loadVia.name}`;
      if (roots.has(rootKey)) continue;
      roots.add(rootKey);
      const root = byKey.get(rootKey)!;
      const relation = qualify(root.schema, root.name);
      units.push({ schema: root.schema, name: root.name, key: rootKey, from: relation, relation, only: false, columns: d.columns, rowColumns: rowColumnsOf(root), pk: null, expectEmpty: false, binary: false, matview: false });
      continue;
    }
    const relation = qualify(d.schema, d.name);
    units.push({
      schema: d.schema, name: d.name, key, from: `ONLY ${relation}`, relation, only: true, columns: d.columns, rowColumns: rowColumnsOf(t), pk: primaryKey(t), expectEmpty: false,
      binary: binary(typesOf(t, d.columns)), matview: false,
    });
  }
  for (const t of model.tables) {
    const key = `${t.schema}.${t.name}`;
    if (t.kind !== 'table' || !excludeTableData.has(key)) continue;
    const relation = qualify(t.schema, t.name);
    units.push({ schema: t.schema, name: t.name, key, from: `ONLY ${relation}`, relation, only: true, columns: [], rowColumns: rowColumnsOf(t), pk: null, expectEmpty: true, binary: false, matview: false });
  }
  for (const v of model.views) {
    if (!v.materialized || !v.populated) continue;
    const relation = qualify(v.schema, v.name);
    const rowColumns = [...v.columns].sort((a, b) => a.position - b.position).map((c) => ({ name: c.name, type: c.type }));
    units.push({ schema: v.schema, name: v.name, key: `${v.schema}.${v.name}`, from: relation, relation, only: false, columns: rowColumns.map((c) => c.name), rowColumns, pk: null, expectEmpty: false, binary: false, matview: true });
  }
  return units;
}

type Session = postgres.TransactionSql;

/** Counts the queries each side answers. */
class Sides {
  source = 0;
  target = 0;
  constructor(readonly src: Session, readonly dst: Session, readonly signal: AbortSignal | undefined) {}

  async on<T extends object>(side: 'source' | 'target', query: string): Promise<T[]> {
    throwIfAborted(this.signal);
    this[side]++;
    return (await (side === 'source' ? this.src : this.dst).unsafe<T[]>(query)) as T[];
  }

  /** Runs a statement on both sides at once. */
  async both(statement: string): Promise<void> {
    await Promise.all([this.on('source', statement), this.on('target', statement)]);
  }
}

/** The units' row counts and fingerprints in the target (see TableFingerprint), keyed by their index in `units`. */
async function fingerprintsOf(sides: Sides, units: Unit[]): Promise<Map<number, TableFingerprint>> {
  const rows = await perUnit<{ n: string; f: string }>(sides, 'target', units, () => `count(*)::text AS n, coalesce(sum(pg_catalog.hash_record_extended(ROW(t.xmin), 0)), 0)::text AS f`);
  return new Map([...rows].map(([i, r]) => [i, { n: Number(r.n), f: r.f }]));
}

/** The units' rows in the source's snapshot, and how many were written since the horizon (age(xmin) <= ageLimit). */
async function changesOf(sides: Sides, units: Unit[], ageLimit: number): Promise<Map<number, { n: number; c: number }>> {
  const rows = await perUnit<{ n: string; c: string }>(sides, 'source', units, () => `count(*)::text AS n, count(*) FILTER (WHERE pg_catalog.age(t.xmin) <= ${ageLimit})::text AS c`);
  return new Map([...rows].map(([i, r]) => [i, { n: Number(r.n), c: Number(r.c) }]));
}

/** Xids the horizon may lie behind the source's next xid: far inside the 2^31 within which age() tells older from newer. */
const MAX_HORIZON_AGE = 2n ** 30n;

/**
 * The age (in the source's transaction: age() is stable in it) at or below which a row was written since the last
 * copy's snapshot, or null when the horizon cannot be used: none recorded, the source's timeline unknown or another
 * (a point-in-time recovery or a promotion may have reused xids), or the horizon ahead of the source or too far behind.
 */
async function horizonAge(sides: Sides, horizon: IncrementalSyncOptions['horizon']): Promise<number | null> {
  const previous = horizon?.previous?.source;
  const now = horizon?.source;
  if (!previous || !now || previous.timeline !== now.timeline) return null;
  const xid = BigInt(previous.xid);
  const [row] = await sides.on<{ age: number; next: string }>('source', `SELECT pg_catalog.age(${quoteLiteral(String(xid % 2n ** 32n))}::pg_catalog.xid)::int AS age, `
    + `pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::text AS next`);
  const behind = BigInt(row!.next) - xid;
  return behind >= 0n && behind < MAX_HORIZON_AGE ? row!.age : null;
}

/** A table compared by the change horizon whose source rows were written to since the last copy: what moves. */
interface ChangePatch {
  /**
   * its temporary table of the changed rows, whole (read once from the source: their keys k0…, columns c0… as the
   * unit's COPY list names them, the source's row hash h): pg_temp.mbsync_changed_<index>
   */
  index: number;
  /** the source's rows written since the last copy */
  changed: number;
  /** of those, the ones the target holds otherwise (the others, found equal by row hash, stay: a horizon is
   * conservative, a transaction running at the last copy's snapshot makes rows count as written since) */
  differing: number;
  /** the target's rows (as the last copy left them) and the source's */
  rowsBefore: number;
  rowsAfter: number;
  /** the source's keys deleted since (not among the changed rows'), and the key buckets compared to find them */
  removed: string[][];
  buckets: number;
}

/** `a`'s key columns equal to `b`'s k0, k1, … */
function keysMatch(pk: KeyColumn[], a: string, b: string): string {
  return pk.map((c, k) => `${a}.${quoteIdent(c.name)} = ${b}.k${k}`).join(' AND ');
}

/**
 * For each table of `patches`: the keys and row hashes of the source's rows written since the last copy into a
 * temporary table of the target (COPY to COPY); then how many of the target's keys the source deleted since (its
 * rows before, less those whose keys were written, less the source's rows not written), and when any, which: key
 * buckets (count and xor of the key's hash) compared on both sides, then the keys of the differing ones. Returns the
 * bytes read from the source.
 */
async function loadChanges(sides: Sides, units: Unit[], patches: Map<number, ChangePatch>, ageLimit: number, hashing: Hashing, rowsPerBucket: number, signal: AbortSignal | undefined): Promise<number> {
  let bytes = 0;
  const temp = (p: ChangePatch) => `pg_temp.mbsync_changed_${p.index}`;
  for (const [i, p] of patches) {
    const u = units[i]!;
    const keys = u.pk!.map((c, k) => `t.${quoteIdent(c.name)} AS k${k}`).join(', ');
    const columns = u.columns.map((c, k) => `, t.${quoteIdent(c)} AS c${k}`).join('');
    // the key and row columns as the table has them (their types and collations); the rows come whole, so that the
    // patch inserts them from here instead of scanning the source's table for them a second time
    await sides.on('target', `CREATE TEMPORARY TABLE mbsync_changed_${p.index} ON COMMIT DROP AS SELECT ${keys}${columns}, 0::int8 AS h FROM ONLY ${u.relation} t WHERE FALSE`);
    if (p.changed === 0) continue;
    sides.source++;
    // in text: its lines are the rows, counted against the source's count
    const copied = await pipeCopy(sides.src, `COPY (SELECT ${keys}${columns}, ${hashing.row(u)} AS h FROM ${u.from} t WHERE pg_catalog.age(t.xmin) <= ${ageLimit}) TO STDOUT`,
      sides.dst, `COPY ${temp(p)} FROM STDIN`, { signal: signal ?? new AbortController().signal });
    bytes += copied.bytes;
    if (copied.rows !== p.changed) throw new IncrementalNotPossible(`${u.key}: ${copied.rows} rows written since the last copy were read, ${p.changed} counted`);
  }
  await sides.on('target', `ANALYZE ${[...patches.values()].map(temp).join(', ')}`);
  const replaced = await sides.on<{ i: number; n: number }>('target', [...patches]
    .map(([i, p]) => `SELECT ${i} AS i, count(*)::int AS n FROM ONLY ${units[i]!.relation} t JOIN ${temp(p)} c ON ${keysMatch(units[i]!.pk!, 't', 'c')}`).join('\nUNION ALL\n'));
  const deleted = new Map<number, number>();
  for (const r of replaced) {
    const p = patches.get(r.i)!;
    const n = p.rowsBefore - r.n - (p.rowsAfter - p.changed);
    if (n < 0) throw new IncrementalNotPossible(`${units[r.i]!.key}: the rows written since the last copy do not add up`);
    if (n > 0) deleted.set(r.i, n);
  }
  // rows written since that the target holds as they are (same key, same row hash): not replaced
  const entries = [...patches];
  const same = await sides.on<{ i: number; n: number }>('target', `WITH ${entries.map(([i, p]) => {
    const u = units[i]!;
    return `d${i} AS (DELETE FROM ${temp(p)} c USING ONLY ${u.relation} t WHERE ${keysMatch(u.pk!, 't', 'c')} AND c.h = ${hashing.row(u)} RETURNING 1)`;
  }).join(',\n')}\n${entries.map(([i]) => `SELECT ${i} AS i, (SELECT count(*) FROM d${i})::int AS n`).join('\nUNION ALL\n')}`);
  for (const r of same) patches.get(r.i)!.differing -= r.n;
  if (deleted.size === 0) return bytes;
  const byKey: Hashing = { ...hashing, row: hashing.key, table: () => 'bit_xor' };
  const bucketed = await bucketsOf(sides, units, [...deleted.keys()], rowsPerBucket);
  bytes += (await differingBuckets(sides, units, bucketed, byKey)).bytes;
  const jobs = bucketed.flatMap((b) => chunk(b.differing, BUCKETS_PER_QUERY).map((which) => ({ unit: b.unit, u: units[b.unit]!, buckets: b.buckets, which, diff: { buckets: which.length, remove: [], fetch: [] } as RowDiff })));
  bytes += await differingRows(sides, jobs, byKey, signal);
  for (const job of jobs) {
    const p = patches.get(job.unit)!;
    p.removed.push(...job.diff.remove);
    p.buckets += job.which.length;
  }
  for (const [i, n] of deleted) {
    if (patches.get(i)!.removed.length !== n) throw new IncrementalNotPossible(`${units[i]!.key}: ${n} keys were deleted since the last copy, ${patches.get(i)!.removed.length} found`);
  }
  return bytes;
}

/** Whole-relation count and checksum of every unit, a query per side per batch. */
async function wholeSums(sides: Sides, side: 'source' | 'target', units: Unit[], hashing: Hashing): Promise<Map<number, Sum>> {
  const rows = await perUnit<{ n: string; s: string }>(sides, side, units, (u) => `count(*)::text AS n, coalesce(${hashing.table(u)}(${hashing.row(u)}), 0)::text AS s`,
    // the source's rows of a table copied without them are not the copy's
    (u) => (side === 'source' && u.expectEmpty ? ' WHERE FALSE' : ''));
  return new Map([...rows].map(([i, r]) => [i, { n: Number(r.n), s: r.s }]));
}

/** One aggregate row per unit (`SELECT <columns> FROM <unit> t<rest>`), UNITS_PER_QUERY units a query, keyed by index in `units`. */
async function perUnit<R extends object>(sides: Sides, side: 'source' | 'target', units: Unit[], columns: (u: Unit) => string, rest: (u: Unit) => string = () => ''): Promise<Map<number, R>> {
  const out = new Map<number, R>();
  for (let i = 0; i < units.length; i += UNITS_PER_QUERY) {
    const parts = units.slice(i, i + UNITS_PER_QUERY).map((u, j) => `SELECT ${i + j} AS u, ${columns(u)} FROM ${u.from} t${rest(u)}`);
    for (const r of await sides.on<R & { u: number }>(side, parts.join('\nUNION ALL\n'))) out.set(r.u, r);
  }
  return out;
}

/**
 * Incremental re-sync inside the runner's two transactions (see IncrementalSyncOptions). Every table is compared
 * by count and checksum computed inside each server; a differing table with a primary key is compared by count and
 * checksum per bucket of its keys (a hash of the key picks the bucket, so the buckets match whatever was inserted or
 * deleted and whatever order the sides' collations give; one query per side for all tables), then the keys and row
 * hashes of the differing buckets' rows are compared here; the differing rows are deleted in the target and copied
 * from the snapshot by key, with triggers and foreign keys kept from firing. Then sequences are set, materialized views refreshed, and before the runner
 * commits every table's count and checksum must equal the source's, and the catalog the model: else
 * DUMP_VERIFY_FAILED (nothing is committed). Throws IncrementalNotPossible before any write when a full copy is
 * needed instead.
 */
export async function syncIncremental(options: IncrementalSyncOptions): Promise<IncrementalSyncResult> {
  const { coordinator: src, session, snapshot, signal } = options;
  const dst = session.tx;
  const model = snapshot.model;
  const step = options.onStep ?? (() => {});
  const rowsPerBucket = Math.max(1, options.rowsPerBucket ?? 16);
  const sides = new Sides(src, dst, signal);
  const excluded = new Set(options.excludeTableData ?? []);
  const plain = renderSchema(model, { owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData });
  const units = unitsOf(model, plain.dataTables, excluded);

  await src.unsafe(settingsSql());
  await dst.unsafe(settingsSql());
  // the probe hashes: servers that hash otherwise (another byte order) cannot compare rows this way
  const byValue = snapshot.serverVersionNum >= 140000;
  const probe = `pg_catalog.hashtextextended('mbsync: a probe of the row hash', 0)::text`
    + (byValue ? ` || ':' || pg_catalog.hash_record_extended(ROW(-42::int8, 'mbsync'::text COLLATE "C", '\\x00ff'::bytea, 1.50::text, '2024-02-29 12:00+00'::timestamptz), 0)::text` : '');
  const [targetServer] = await dst.unsafe<{ num: string; enc: string }[]>(`SELECT current_setting('server_version_num') AS num, current_setting('server_encoding') AS enc`);
  if (Math.floor(Number(targetServer!.num) / 10000) !== Math.floor(snapshot.serverVersionNum / 10000)) {
    throw new IncrementalNotPossible(`the servers' major versions differ (${snapshot.serverVersion} and ${targetServer!.num}): values may print differently`);
  }
  const probed = `SELECT current_setting('server_encoding') AS enc, ${probe} AS probe`;
  const [[sourceServer], [targetProbed]] = await Promise.all([src.unsafe<{ enc: string; probe: string }[]>(probed), dst.unsafe<{ enc: string; probe: string }[]>(probed)]);
  if (targetProbed!.probe !== sourceServer!.probe) throw new IncrementalNotPossible('the servers hash values differently (another byte order)');
  const domains = new Map(model.domains.map((d) => [qualify(d.schema, d.name), d.baseType]));
  const baseOf = (type: string) => {
    let base = type;
    for (let depth = 0; depth < 16 && domains.has(base); depth++) base = domains.get(base)!;
    return base;
  };
  // a table with a primary key whose rows are copied is compared by key buckets, then row by row (from PostgreSQL 14:
  // bit_xor, hash_record_extended; earlier servers compare and copy tables whole)
  const keyed = (u: Unit) => byValue && u.pk !== null && !u.expectEmpty && !u.matview;
  const hashing: Hashing = {
    row: (u) => hashExpr(u, byValue, baseOf), bucket: (u, buckets) => bucketExpr(u.pk!, buckets, byValue, baseOf),
    key: (u) => hashExpr({ ...u, rowColumns: u.pk! }, byValue, baseOf),
    table: (u) => (keyed(u) ? 'bit_xor' : 'sum'),
  };
  const hash = hashing.row;
  if (targetServer!.enc !== sourceServer!.enc) throw new IncrementalNotPossible(`the servers' encodings differ (${sourceServer!.enc} and ${targetServer!.enc})`);

  // nobody else writes the target's tables until COMMIT; readers go on (EXCLUSIVE allows ACCESS SHARE)
  const relations = [...new Set(units.filter((u) => !u.matview).map((u) => u.relation))];
  if (relations.length > 0) {
    await dst.unsafe(`SELECT pg_catalog.set_config('lock_timeout', ${quoteLiteral(String(options.lockTimeoutMs ?? 30_000))}, true)`);
    for (let i = 0; i < relations.length; i += 1000) {
      await dst.unsafe(`LOCK TABLE ${relations.slice(i, i + 1000).join(', ')} IN EXCLUSIVE MODE`).catch((error: unknown) => {
        if ((error as { code?: string }).code === '55P03') throw new DumpError('DUMP_LOCK_TIMEOUT', `the tables of "${options.targetName}" are locked by another session; try again when it has finished`, { cause: error });
        throw error;
      });
    }
    await dst.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '0', true)`);
  }

  const sourceWhole = new Map<number, Sum>();
  const targetWhole = new Map<number, Sum>();
  const wholeCopies = new Set<number>();

  // the change horizon first: a table the target holds as the last copy left it (its fingerprint: row count and the
  // hashes of its rows' xmins) is compared by the source's rows written since that copy's snapshot (xmin at or above
  // its horizon), which a scan finds without hashing a row; every other table is compared by checksums below
  // (fingerprinted only when the source's horizon is known: else the record gets none)
  const tracked = options.horizon?.source ? units.flatMap((u, i) => (byValue && !u.matview && !u.expectEmpty ? [i] : [])) : [];
  const ageLimit = tracked.length ? await horizonAge(sides, options.horizon) : null;
  step('export', ageLimit === null ? `comparing ${units.length} tables by checksum` : `reading what ${options.sourceName} wrote since the last copy`);
  const [prints, sinceLast] = await Promise.all([
    fingerprintsOf(sides, tracked.map((i) => units[i]!)),
    ageLimit === null ? Promise.resolve(new Map<number, { n: number; c: number }>()) : changesOf(sides, tracked.map((i) => units[i]!), ageLimit),
  ]);
  const startPrints = new Map(tracked.map((i, j) => [i, prints.get(j)!]));
  const decided = new Set<number>();
  const byChanges = new Map<number, ChangePatch>();
  const horizonWhole: number[] = [];
  for (const [j, i] of tracked.entries()) {
    const u = units[i]!;
    const was = options.horizon?.previous?.target[u.key];
    const now = startPrints.get(i)!;
    const src = sinceLast.get(j);
    // written in the target since the last copy, or never fingerprinted: by checksums
    if (!src || !was || was.n !== now.n || was.f !== now.f) continue;
    decided.add(i);
    if (src.c === 0 && src.n === now.n) {
      sourceWhole.set(i, { n: src.n, s: 'unchanged' });
      targetWhole.set(i, { n: now.n, s: 'unchanged' });
    } else if (keyed(u) && src.c <= src.n * MAX_TABLE_SHARE) {
      sourceWhole.set(i, { n: src.n, s: 'written since' });
      targetWhole.set(i, { n: now.n, s: 'as copied' });
      byChanges.set(i, { index: byChanges.size, changed: src.c, differing: src.c, rowsBefore: now.n, rowsAfter: src.n, removed: [], buckets: 0 });
    } else {
      horizonWhole.push(i);
      targetWhole.set(i, { n: now.n, s: 'as copied' });
    }
  }
  // copied whole: verified against the source's checksum
  if (horizonWhole.length > 0) {
    const sums = await wholeSums(sides, 'source', horizonWhole.map((i) => units[i]!), hashing);
    for (const [j, i] of horizonWhole.entries()) {
      sourceWhole.set(i, sums.get(j)!);
      wholeCopies.add(i);
    }
  }
  const bytesOfChanges = byChanges.size ? await loadChanges(sides, units, byChanges, ageLimit!, hashing, rowsPerBucket, signal) : 0;
  // every row written since found equal, no key deleted: nothing to write
  for (const [i, p] of byChanges) {
    if (p.differing > 0 || p.removed.length > 0) continue;
    byChanges.delete(i);
    sourceWhole.set(i, { n: p.rowsAfter, s: 'unchanged' });
    targetWhole.set(i, { n: p.rowsBefore, s: 'unchanged' });
  }

  // a table with a primary key is compared per bucket of its keys (one query per side for all such tables), the
  // buckets' totals being its checksum; one the source has not written to since the last copy is most likely equal,
  // and compared whole first (a cheaper pass), as is any other relation
  const quiet = options.quiet ?? new Set<string>();
  const keyedUnits = units.flatMap((u, i) => (keyed(u) && !decided.has(i) ? [i] : []));
  const wholeFirst = units.flatMap((u, i) => ((!keyed(u) || quiet.has(u.key)) && !decided.has(i) ? [i] : []));
  if (wholeFirst.length > 0) {
    const list = wholeFirst.map((i) => units[i]!);
    const [source, target] = await Promise.all([wholeSums(sides, 'source', list, hashing), wholeSums(sides, 'target', list, hashing)]);
    for (const [j, i] of wholeFirst.entries()) {
      sourceWhole.set(i, source.get(j)!);
      targetWhole.set(i, target.get(j)!);
    }
  }
  const equalWhole = (i: number) => sourceWhole.has(i) && sourceWhole.get(i)!.n === targetWhole.get(i)!.n && sourceWhole.get(i)!.s === targetWhole.get(i)!.s;
  const bucketed = await bucketsOf(sides, units, keyedUnits.filter((i) => !equalWhole(i)), rowsPerBucket);
  const { units: compared, bytes: bytesOfBuckets } = await differingBuckets(sides, units, bucketed, hashing);
  for (const [j, b] of bucketed.entries()) {
    sourceWhole.set(b.unit, compared[j]!.source);
    targetWhole.set(b.unit, compared[j]!.target);
  }
  const sameWhole = (i: number) => {
    const s = sourceWhole.get(i)!;
    const t = targetWhole.get(i)!;
    return s.n === t.n && s.s === t.s;
  };

  // per unit: copied whole, or the rows that differ, by key
  const rowDiffs = new Map<number, RowDiff>();
  let matviewsDiffer = false;
  for (const [i, u] of units.entries()) {
    if ((keyed(u) && !decided.has(i)) || sameWhole(i) || wholeCopies.has(i) || byChanges.has(i)) continue;
    if (u.matview) matviewsDiffer = true;
    else wholeCopies.add(i);
  }
  for (const [j, b] of bucketed.entries()) {
    if (b.differing.length === 0) continue;
    if (compared[j]!.rowsIn > sourceWhole.get(b.unit)!.n * MAX_TABLE_SHARE) wholeCopies.add(b.unit);
    else rowDiffs.set(b.unit, { buckets: b.differing.length, remove: [], fetch: [] });
  }

  // the keys and row hashes of the differing buckets' rows, compared in the target
  const jobs = bucketed.flatMap((b) => {
    const diff = rowDiffs.get(b.unit);
    return diff ? chunk(b.differing, BUCKETS_PER_QUERY).map((which) => ({ u: units[b.unit]!, buckets: b.buckets, which, diff })) : [];
  });
  if (jobs.length > 0) step('export', `comparing the rows of ${jobs.reduce((n, j) => n + j.which.length, 0)} differing key buckets in ${new Set(jobs.map((j) => j.u.key)).size} tables`);
  const bytesCompared = await differingRows(sides, jobs, hashing, signal);

  const result: IncrementalSyncResult = {
    tables: { compared: units.filter((u) => !u.matview).map((u) => u.key), skipped: [], patched: [], copied: [], tracked: [...decided].map((i) => units[i]!.key) },
    bytesFromSource: bytesOfChanges + bytesOfBuckets + bytesCompared,
    horizon: null,
    rows: plain.dataTables.map((d) => ({ schema: d.schema, name: d.name, rows: 0 })),
    queries: { source: 0, target: 0 },
    statements: 0,
    enforcement: 'replica',
  };
  const written = (i: number) => wholeCopies.has(i) || byChanges.has(i) || (rowDiffs.get(i)?.fetch.length ?? 0) + (rowDiffs.get(i)?.remove.length ?? 0) > 0;
  for (const [i, u] of units.entries()) if (!u.matview && !written(i)) result.tables.skipped.push(u.key);

  // changes over much of the database: the parallel full copy loads faster than one connection patches
  const moving = [...wholeCopies].reduce((n, i) => n + sourceWhole.get(i)!.n, 0) + [...rowDiffs.values()].reduce((n, d) => n + d.fetch.length, 0)
    + [...byChanges.values()].reduce((n, p) => n + p.changed + p.removed.length, 0);
  const total = units.reduce((n, u, i) => n + (u.matview ? 0 : sourceWhole.get(i)!.n), 0);
  if (moving > total * MAX_PATCH_SHARE) {
    throw new IncrementalNotPossible(`${moving} of the source's ${total} rows differ from the target's: a full copy is faster`);
  }

  await options.beforeWrite?.();
  throwIfAborted(signal);
  const refreshing = matviewsDiffer || units.some((u, i) => !u.matview && written(i));
  const writes = units.filter((u, i) => (u.matview ? refreshing : written(i))).map((u) => u.relation);
  if (writes.length > 0) await options.documents?.beforePatch(dst, writes);

  // the patch: no user trigger, rule or foreign key action fires, no foreign key re-checks a table
  const patchedUnits = units.filter((_, i) => written(i));
  step('import', patchedUnits.length ? `patching ${patchedUnits.length} tables` : 'nothing to patch');
  const run = async (statement: string) => {
    throwIfAborted(signal);
    await dst.unsafe(statement);
    result.statements++;
  };
  const restore = patchedUnits.length ? await keepFromFiring(dst, patchedUnits, run, options.replicaOnly ?? false) : null;
  result.enforcement = restore?.mode ?? 'replica';
  for (const i of wholeCopies) {
    const u = units[i]!;
    await run(`DELETE FROM ${u.only ? 'ONLY ' : ''}${u.relation}`);
  }
  // a patched table's count and checksum after the patch: as compared at first (no one else wrote it since: it is
  // locked and nothing fires), minus the rows deleted, plus those copied in, each summed as the target holds them
  const patchedSums = new Map<number, { n: number; s: bigint }>();
  const summed = async (statement: string) => {
    throwIfAborted(signal);
    const [r] = await dst.unsafe<{ n: number; s: string }[]>(statement);
    result.statements++;
    return { n: r!.n, s: BigInt(r!.s) };
  };
  for (const [i, diff] of rowDiffs) {
    const u = units[i]!;
    const sum = { n: targetWhole.get(i)!.n, s: BigInt(targetWhole.get(i)!.s) };
    patchedSums.set(i, sum);
    for (const keys of chunk(diff.remove, KEYS_PER_STATEMENT)) {
      const gone = await summed(`WITH d AS (DELETE FROM ONLY ${u.relation} t WHERE ${keysCondition(u.pk!, keys)} RETURNING ${hash(u)} AS h) SELECT count(*)::int AS n, coalesce(${hashing.table(u)}(d.h), 0)::text AS s FROM d`);
      sum.n -= gone.n;
      sum.s = combined(hashing.table(u), sum.s, hashing.table(u) === 'sum' ? -gone.s : gone.s);
    }
  }
  const copy = async (u: Unit, condition: string) => {
    const cols = u.columns.map(quoteIdent).join(', ');
    const format = u.binary ? ' WITH (FORMAT binary)' : '';
    const copied = await pipeCopy(
      src, `COPY (SELECT ${cols} FROM ${u.from} t WHERE ${condition}) TO STDOUT${format}`,
      dst, `COPY ${u.relation} (${cols}) FROM STDIN${format}`,
      { signal: signal ?? new AbortController().signal, countLines: !u.binary },
    );
    result.bytesFromSource += copied.bytes;
    result.statements++;
  };
  for (const i of wholeCopies) {
    const u = units[i]!;
    step('import', `copying all of ${u.key}`);
    if (!u.expectEmpty) await copy(u, 'TRUE');
    result.tables.copied.push(u.key);
  }
  for (const [i, diff] of rowDiffs) {
    const u = units[i]!;
    if (diff.fetch.length + diff.remove.length === 0) continue;
    step('import', `copying ${diff.fetch.length} rows of ${u.key}`);
    const sum = patchedSums.get(i)!;
    for (const keys of chunk(diff.fetch, KEYS_PER_STATEMENT)) {
      await copy(u, keysCondition(u.pk!, keys));
      const added = await summed(`SELECT count(*)::int AS n, coalesce(${hashing.table(u)}(${hash(u)}), 0)::text AS s FROM ONLY ${u.relation} t WHERE ${keysCondition(u.pk!, keys)}`);
      sum.n += added.n;
      sum.s = combined(hashing.table(u), sum.s, added.s);
    }
    result.tables.patched.push({ table: u.key, buckets: diff.buckets, rowsDeleted: diff.remove.length, rowsInserted: diff.fetch.length });
  }
  // the rows written since the last copy: their keys' rows and the keys deleted since go, the rows are copied again;
  // each such table then holds its old count less the rows deleted plus those inserted (the server's own count), the
  // source's count, and every row written since as the source has it (by row hash, per key)
  const endPrints = new Map<number, TableFingerprint>();
  const wrongChanges: string[] = [];
  if (byChanges.size > 0) {
    const xminsOf = async (statement: string) => summed(`WITH d AS (${statement} RETURNING pg_catalog.hash_record_extended(ROW(t.xmin), 0) AS x) SELECT count(*)::int AS n, coalesce(sum(d.x), 0)::text AS s FROM d`);
    for (const [i, p] of byChanges) {
      const u = units[i]!;
      const temp = `pg_temp.mbsync_changed_${p.index}`;
      step('import', `replacing ${p.differing} rows of ${u.key} written since the last copy${p.removed.length ? `, deleting ${p.removed.length}` : ''}`);
      let rows = p.rowsBefore;
      let xmins = BigInt(startPrints.get(i)!.f);
      const gone = [await xminsOf(`DELETE FROM ONLY ${u.relation} t USING ${temp} c WHERE ${keysMatch(u.pk!, 't', 'c')}`)];
      for (const keys of chunk(p.removed, KEYS_PER_STATEMENT)) gone.push(await xminsOf(`DELETE FROM ONLY ${u.relation} t WHERE ${keysCondition(u.pk!, keys)}`));
      for (const g of gone) {
        rows -= g.n;
        xmins -= g.s;
      }
      // the rows the target holds otherwise, as the source had them (those found equal left the temporary table); an
      // identity column GENERATED ALWAYS takes the source's values as COPY would give them
      if (p.differing > 0) {
        await run(`INSERT INTO ${u.relation} (${u.columns.map(quoteIdent).join(', ')}) OVERRIDING SYSTEM VALUE SELECT ${u.columns.map((_, k) => `c.c${k}`).join(', ')} FROM ${temp} c`);
      }
      const inserted = await insertedRows(dst, u.relation);
      rows += inserted;
      // the rows with the changed keys are the ones just copied: their xmins (this transaction's, or its savepoint's)
      const [check] = await dst.unsafe<{ same: number; x: string }[]>(`SELECT count(*) FILTER (WHERE c.h = ${hash(u)})::int AS same, `
        + `coalesce(sum(pg_catalog.hash_record_extended(ROW(t.xmin), 0)), 0)::text AS x FROM ${temp} c JOIN ONLY ${u.relation} t ON ${keysMatch(u.pk!, 't', 'c')}`);
      result.statements++;
      xmins += BigInt(check!.x);
      if (rows !== p.rowsAfter || inserted !== p.differing || check!.same !== p.differing) {
        wrongChanges.push(`${u.key}: the source has ${p.rowsAfter} rows (${p.differing} to copy), the target ${rows} (${inserted} copied, ${check!.same} as the source has them)`);
      }
      endPrints.set(i, { n: rows, f: xmins.toString() });
      const deleted = gone.reduce((n, g) => n + g.n, 0);
      result.tables.patched.push({ table: u.key, buckets: p.buckets, rowsDeleted: deleted, rowsInserted: inserted });
    }
  }
  await restore?.finish();

  // sequences from the snapshot; materialized views on the new rows
  for (const s of await readSequenceValues(src, plain.sequences)) await run(s.trimEnd());
  if (patchedUnits.length > 0 || matviewsDiffer) {
    step('import', 'refreshing materialized views');
    for (const s of plain.refreshMaterializedViews) await run(s);
  }

  // before COMMIT: every table as the source's snapshot has it, the catalog as its model
  // a table found equal at first was read in this transaction, after the EXCLUSIVE lock, and not written since (no
  // trigger or foreign key action fires during the patch): only what was written is summed again
  step('verify', 'comparing every written table with the source before COMMIT');
  const tables = units.map((u, i) => ({ u, i })).filter(({ u, i }) => !u.matview && (written(i) || !sameWhole(i)) && !patchedSums.has(i) && !byChanges.has(i));
  const after = await wholeSums(sides, 'target', tables.map(({ u }) => u), hashing);
  const checked = [
    ...tables.map(({ u, i }, j) => ({ u, i, got: after.get(j)! })),
    ...[...patchedSums].map(([i, sum]) => ({ u: units[i]!, i, got: { n: sum.n, s: sum.s.toString() } })),
  ];
  const wrong: string[] = [...wrongChanges];
  for (const { u, i, got } of checked) {
    const want = u.expectEmpty ? { n: 0, s: '0' } : sourceWhole.get(i)!;
    if (want.n !== got.n || want.s !== got.s) wrong.push(`${u.key}: the source has ${want.n} rows, the target ${got.n}${want.n === got.n ? ' (values differ)' : ''}`);
  }
  if (wrong.length > 0) {
    throw new DumpError('DUMP_VERIFY_FAILED', `the incremental copy in "${options.targetName}" does not match the source, nothing was committed: ${wrong.slice(0, 5).join('; ')}`, { details: { mismatches: wrong } });
  }
  step('verify', 'checking the catalog');
  await verifySchemaModel(dst, model, schemasOfModel(model), options.targetName, { owners: options.owners, privileges: options.privileges });
  await options.documents?.afterVerify(dst);

  // rows per relation as the copy holds them (a tree loaded through its root: at the root)
  result.rows = units.flatMap((u, i) => (u.matview ? [] : [{ schema: u.schema, name: u.name, rows: sourceWhole.get(i)!.n }]));
  // the target's fingerprints for the next sync: as found where nothing was written, as the patch left them where the
  // rows written since were replaced, read again elsewhere
  if (options.horizon?.source && byValue) {
    const again = tracked.filter((i) => written(i) && !endPrints.has(i));
    const read = again.length ? await fingerprintsOf(sides, again.map((i) => units[i]!)) : new Map<number, TableFingerprint>();
    for (const [j, i] of again.entries()) endPrints.set(i, read.get(j)!);
    const target: Record<string, TableFingerprint> = {};
    for (const i of tracked) target[units[i]!.key] = endPrints.get(i) ?? startPrints.get(i)!;
    result.horizon = { source: options.horizon.source, target };
  }
  result.queries = { source: sides.source, target: sides.target };
  return result;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** How rows and keys are hashed on both sides (see hashExpr, bucketExpr). */
interface Hashing {
  row: (u: Unit) => string;
  /** the hash of a row's primary key alone */
  key: (u: Unit) => string;
  bucket: (u: Unit, buckets: number) => string;
  /** how a whole relation's row hashes combine: xor for a keyed table, as its buckets' (its rows are distinct, so xor
   * is as good as a sum, and cheaper), else summed (rows may repeat) */
  table: (u: Unit) => 'bit_xor' | 'sum';
}

/** 64-bit checksums combined as the aggregate does: xor (two's complement), or summed. */
function combined(how: 'bit_xor' | 'sum', a: bigint, b: bigint): bigint {
  return how === 'bit_xor' ? BigInt.asIntN(64, a ^ b) : a + b;
}

/** A bucketed unit: how many buckets its keys fall in, and those that differ. */
interface Bucketed {
  unit: number;
  buckets: number;
  differing: number[];
}

/**
 * Each keyed unit's bucket count, from the source's statistics (one query for all): ~rowsPerBucket rows a bucket, at
 * most MAX_BUCKETS. Only the comparison's cost depends on it; both sides use the same.
 */
async function bucketsOf(sides: Sides, units: Unit[], keyedUnits: number[], rowsPerBucket: number): Promise<Bucketed[]> {
  if (keyedUnits.length === 0) return [];
  const rows = await sides.on<{ i: number; n: number }>('source', `
    SELECT r.i::int AS i, (CASE WHEN c.reltuples > 0 THEN c.reltuples ELSE pg_catalog.pg_relation_size(c.oid) / 128.0 END)::float8 AS n
    FROM pg_catalog.unnest(ARRAY[${keyedUnits.map((i) => `${quoteLiteral(units[i]!.relation)}::pg_catalog.regclass`).join(', ')}]) WITH ORDINALITY AS r(oid, i)
    JOIN pg_catalog.pg_class c ON c.oid = r.oid`);
  const estimate = new Map(rows.map((r) => [r.i - 1, r.n]));
  return keyedUnits.map((unit, j) => ({ unit, buckets: Math.max(1, Math.min(MAX_BUCKETS, Math.ceil((estimate.get(j) ?? 0) / rowsPerBucket))), differing: [] }));
}

/** Buckets whose checksums one query carries (16 bytes each, as base64: ~45 MB of text at most). */
const BUCKETS_PER_QUERY_OF_SUMS = 1 << 21;

/**
 * Fills each unit's differing buckets (count or checksum unequal, or on one side only) from both sides' bucket
 * checksums; returns per unit the source's rows in them and both sides' totals. Each side answers a unit with one
 * value: its buckets' (number, count, xor) packed in bucket order, as base64 (~21 bytes a bucket, decoded without
 * parsing a row per bucket).
 */
async function differingBuckets(sides: Sides, units: Unit[], list: Bucketed[], hashing: Hashing): Promise<{ units: { rowsIn: number; source: Sum; target: Sum }[]; bytes: number }> {
  const totals = list.map(() => ({ rowsIn: 0, source: { n: 0, s: 0n }, target: { n: 0, s: 0n } }));
  let bytes = 0;
  const batches: number[][] = [];
  for (const [g, b] of list.entries()) {
    const last = batches.at(-1);
    const size = last?.reduce((n, j) => n + list[j]!.buckets, 0) ?? 0;
    if (last && last.length < UNITS_PER_QUERY && size + b.buckets <= BUCKETS_PER_QUERY_OF_SUMS) last.push(g);
    else batches.push([g]);
  }
  for (const batch of batches) {
    const query = batch.map((g) => {
      const b = list[g]!;
      const u = units[b.unit]!;
      return `SELECT ${g} AS g, pg_catalog.encode(pg_catalog.string_agg(pg_catalog.int4send(x.b) || pg_catalog.int4send(x.n) || pg_catalog.int8send(x.s), ''::bytea ORDER BY x.b), 'base64') AS packed `
        + `FROM (SELECT y.b, count(*)::int AS n, pg_catalog.bit_xor(y.h) AS s FROM (SELECT (${hashing.bucket(u, b.buckets)})::int AS b, ${hashing.row(u)} AS h FROM ${u.from} t) y GROUP BY y.b) x`;
    }).join('\nUNION ALL\n');
    // grouped by hashing: the planner, unable to count the buckets, would sort every row instead (enum-wide's
    // order_attributes: 3.0 s of CPU against 7.5 s in three parallel processes)
    await sides.both(`SELECT pg_catalog.set_config('enable_sort', 'off', true)`);
    const [source, target] = await Promise.all([
      sides.on<{ g: number; packed: string | null }>('source', query),
      sides.on<{ g: number; packed: string | null }>('target', query),
    ]);
    await sides.both(`SELECT pg_catalog.set_config('enable_sort', 'on', true)`);
    const packedOf = (rows: { g: number; packed: string | null }[]) => new Map(rows.map((r) => [r.g, Buffer.from(r.packed ?? '', 'base64')]));
    const [sourcePacked, targetPacked] = [packedOf(source), packedOf(target)];
    bytes += source.reduce((n, r) => n + (r.packed?.length ?? 0), 0);
    for (const g of batch) {
      const total = totals[g]!;
      const s = sourcePacked.get(g)!;
      const t = targetPacked.get(g)!;
      let i = 0;
      let j = 0;
      while (i < s.length || j < t.length) {
        const sb = i < s.length ? s.readInt32BE(i) : Infinity;
        const tb = j < t.length ? t.readInt32BE(j) : Infinity;
        const inSource = sb <= tb;
        const inTarget = tb <= sb;
        const sn = inSource ? s.readInt32BE(i + 4) : 0;
        const tn = inTarget ? t.readInt32BE(j + 4) : 0;
        const sx = inSource ? s.readBigInt64BE(i + 8) : 0n;
        const tx = inTarget ? t.readBigInt64BE(j + 8) : 0n;
        total.source.n += sn;
        total.source.s ^= sx;
        total.target.n += tn;
        total.target.s ^= tx;
        if (!(inSource && inTarget && sn === tn && sx === tx)) {
          list[g]!.differing.push(inSource ? sb : tb);
          total.rowsIn += sn;
        }
        if (inSource) i += 16;
        if (inTarget) j += 16;
      }
    }
  }
  return { units: totals.map((t) => ({ rowsIn: t.rowsIn, source: { n: t.source.n, s: t.source.s.toString() }, target: { n: t.target.n, s: t.target.s.toString() } })), bytes };
}

/** The keys and row hashes of a table's rows in some of its key buckets, and where the differing ones go. */
interface RowsJob {
  u: Unit;
  buckets: number;
  which: number[];
  diff: RowDiff;
}

/** What the comparison of rows may hold in memory of the source's keys and row hashes (~30 bytes a row). */
const MAX_COMPARED_BYTES = 256 * 1024 * 1024;

/**
 * Compares the rows of the jobs' buckets by key and row hash inside the target, adding what differs to each job's
 * diff; returns the bytes read from the source. The source's keys and hashes are read as COPY bytes (never parsed)
 * while the target puts its own rows' in temporary tables, so both servers hash at once; the source's bytes are then
 * copied into temporary tables beside them and joined, and only the differing keys come back.
 */
async function differingRows(sides: Sides, jobs: RowsJob[], hashing: Hashing, signal: AbortSignal | undefined): Promise<number> {
  const rows = (job: RowsJob) => `SELECT ${job.u.pk!.map((c, i) => `t.${quoteIdent(c.name)} AS k${i}`).join(', ')}, ${hashing.row(job.u)} AS h `
    + `FROM ${job.u.from} t JOIN pg_catalog.unnest('{${job.which.join(',')}}'::int[]) AS d(b) ON d.b = (${hashing.bucket(job.u, job.buckets)})::int`;
  let bytes = 0;
  const [copied] = await Promise.all([
    (async () => {
      const out: Buffer[][] = [];
      for (const job of jobs) {
        sides.source++;
        out.push(await readCopy(sides.src, `COPY (${rows(job)}) TO STDOUT`, signal, (n) => {
          bytes += n;
          if (bytes > MAX_COMPARED_BYTES) throw new IncrementalNotPossible(`the keys and row hashes to compare exceed ${MAX_COMPARED_BYTES >> 20} MiB: a full copy is faster`);
        }));
      }
      return out;
    })(),
    (async () => {
      // the key columns as the table has them: their types and collations
      for (const [j, job] of jobs.entries()) await sides.on('target', `CREATE TEMPORARY TABLE mbsync_target_rows_${j} ON COMMIT DROP AS ${rows(job)}`);
    })(),
  ]);
  for (const [j, job] of jobs.entries()) {
    const pk = job.u.pk!;
    await sides.on('target', `CREATE TEMPORARY TABLE mbsync_source_rows_${j} (LIKE pg_temp.mbsync_target_rows_${j}) ON COMMIT DROP`);
    await writeCopy(sides.dst, `COPY pg_temp.mbsync_source_rows_${j} FROM STDIN`, copied[j]!, signal);
    copied[j] = [];
    // their sizes known to the planner: a hash join, not a loop over the rows
    await sides.on('target', `ANALYZE pg_temp.mbsync_source_rows_${j}, pg_temp.mbsync_target_rows_${j}`);
    const text = (side: 's' | 'x') => `CASE WHEN ${side}.h IS NULL THEN NULL ELSE ARRAY[${pk.map((_, i) => `${side}.k${i}::text`).join(', ')}] END`;
    const differing = await sides.on<{ source: string[] | null; target: string[] | null }>('target',
      `SELECT ${text('s')} AS source, ${text('x')} AS target FROM pg_temp.mbsync_source_rows_${j} s FULL JOIN pg_temp.mbsync_target_rows_${j} x `
      + `ON ${pk.map((_, i) => `s.k${i} = x.k${i}`).join(' AND ')} WHERE s.h IS DISTINCT FROM x.h`);
    await sides.on('target', `DROP TABLE pg_temp.mbsync_source_rows_${j}, pg_temp.mbsync_target_rows_${j}`);
    for (const r of differing) {
      if (r.source) job.diff.fetch.push(r.source);
      if (r.target) job.diff.remove.push(r.target);
    }
  }
  return bytes;
}

/** A COPY … TO STDOUT read whole; `onBytes` may throw to stop (the rest is still read: the connection stays usable). */
async function readCopy(session: Session, statement: string, signal: AbortSignal | undefined, onBytes: (bytes: number) => void): Promise<Buffer[]> {
  throwIfAborted(signal);
  const query = session.unsafe(statement);
  const readable = (await query.readable()) as Readable;
  const out: Buffer[] = [];
  let failure: unknown = null;
  const onAbort = () => query.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of chunksOf(readable)) {
      if (failure !== null) continue;
      try {
        onBytes(chunk.length);
        out.push(chunk);
      } catch (error) {
        failure = error;
        out.length = 0;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  throwIfAborted(signal);
  if (failure !== null) throw failure;
  return out;
}

/** Writes COPY bytes read before into a COPY … FROM STDIN. */
async function writeCopy(session: Session, statement: string, chunks: Buffer[], signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  const writable = (await session.unsafe(statement).writable()) as Writable;
  writable.on('error', () => {});
  for (const chunk of chunks) {
    if (writable.errored) break;
    if (!writable.write(chunk)) await waitForDrain(writable, () => new DumpError('DUMP_IMPORT_FAILED', 'the target connection closed during COPY')).catch(() => {});
  }
  if (writable.errored) throw writable.errored;
  writable.end();
  await finished(writable);
}

/**
 * Keeps user triggers, rules and foreign keys of the patched tables from acting: session_replication_role =
 * replica where the role may set it (triggers and rules enabled for replicas or always are disabled too); else the
 * data-only way: user triggers disabled and the foreign keys touching the tables dropped, re-added (so re-checked)
 * by `finish`.
 */
async function keepFromFiring(tx: Session, units: Unit[], run: (statement: string) => Promise<void>, replicaOnly: boolean): Promise<{ mode: 'replica' | 'disabled'; finish(): Promise<void> }> {
  const oids = `ARRAY[${units.map((u) => `${quoteLiteral(u.relation)}::pg_catalog.regclass`).join(', ')}]`;
  let replica = true;
  try {
    await tx.savepoint((sp) => sp.unsafe(`SELECT pg_catalog.set_config('session_replication_role', 'replica', true)`));
  } catch {
    replica = false;
  }
  if (!replica && replicaOnly) throw new IncrementalNotPossible('the role may not set session_replication_role, which a patch of a platform (Supabase) target needs');
  // partitions carry their root's triggers: a root's tree is patched through it
  const triggers = await tx.unsafe<{ tbl: string; name: string; enabled: 'O' | 'R' | 'A' }[]>(`
    SELECT t.tgrelid::pg_catalog.regclass::text AS tbl, t.tgname AS name, t.tgenabled AS enabled FROM pg_catalog.pg_trigger t
    WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgparentid = 0 AND ${replica ? `t.tgenabled IN ('R', 'A') AND ` : ''}
      (t.tgrelid = ANY(${oids}) OR t.tgrelid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = ANY(${oids})))
    ORDER BY 1, 2`);
  const rules = await tx.unsafe<{ tbl: string; name: string; enabled: 'O' | 'R' | 'A' }[]>(`
    SELECT r.ev_class::pg_catalog.regclass::text AS tbl, r.rulename AS name, r.ev_enabled AS enabled FROM pg_catalog.pg_rewrite r
    WHERE r.rulename <> '_RETURN' AND r.ev_enabled <> 'D' AND ${replica ? `r.ev_enabled IN ('R', 'A') AND ` : ''} r.ev_class = ANY(${oids}) ORDER BY 1, 2`);
  const fks = replica ? [] : await tx.unsafe<{ tbl: string; name: string; def: string; only: boolean }[]>(`
    SELECT c.conrelid::pg_catalog.regclass::text AS tbl, c.conname AS name, pg_catalog.pg_get_constraintdef(c.oid) AS def,
      (SELECT relkind <> 'p' FROM pg_catalog.pg_class WHERE oid = c.conrelid) AS only
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.conparentid = 0 AND (c.conrelid = ANY(${oids}) OR c.confrelid = ANY(${oids})) ORDER BY 1, 2`);
  for (const fk of fks) await run(`ALTER TABLE ${fk.only ? 'ONLY ' : ''}${fk.tbl} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
  for (const t of triggers) await run(`ALTER TABLE ${t.tbl} DISABLE TRIGGER ${quoteIdent(t.name)}`);
  for (const r of rules) await run(`ALTER TABLE ${r.tbl} DISABLE RULE ${quoteIdent(r.name)}`);
  const how = { O: 'ENABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as const;
  return {
    mode: replica ? 'replica' : 'disabled',
    async finish() {
      for (const t of triggers) await run(`ALTER TABLE ${t.tbl} ${how[t.enabled]} TRIGGER ${quoteIdent(t.name)}`);
      for (const r of rules) await run(`ALTER TABLE ${r.tbl} ${how[r.enabled]} RULE ${quoteIdent(r.name)}`);
      for (const fk of fks) await run(`ALTER TABLE ${fk.only ? 'ONLY ' : ''}${fk.tbl} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
      if (replica) await tx.unsafe(`SELECT pg_catalog.set_config('session_replication_role', 'origin', true)`);
    },
  };
}

/**
 * Whether the target's catalog of the model's schemas equals the model (as the full copy's final check requires):
 * null when it does, else the differences, as a reason for a full copy.
 */
export async function targetModelDiffers(tx: postgres.TransactionSql, model: SchemaModel, targetName: string, options: { owners?: boolean | undefined; privileges?: boolean | undefined }): Promise<string | null> {
  try {
    await verifySchemaModel(tx, model, schemasOfModel(model), targetName, { owners: options.owners, privileges: options.privileges });
    return null;
  } catch (error) {
    if (error instanceof DumpError && error.code === 'DUMP_VERIFY_FAILED') {
      const differences = (error.details as { differences?: string[] } | undefined)?.differences ?? [];
      return `the target's schema differs from the source's: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? '; …' : ''}`;
    }
    throw error;
  }
}
