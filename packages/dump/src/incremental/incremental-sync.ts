import type postgres from 'postgres';
import type { SchemaModel, Table } from '@mbsync/schema-diff';
import { qualify, quoteIdent, renderSchema, type DataTable } from '../ddl.js';
import { readSequenceValues } from '../dump-writer.js';
import { DumpError, throwIfAborted } from '../errors.js';
import { pipeCopy } from '../parallel/copy-pipe.js';
import { binaryCopyable } from '../parallel/shadow-plan.js';
import { schemasOfModel } from '../replace/schemas.js';
import type { SourceSnapshot } from '../source-snapshot.js';
import { quoteLiteral } from '../sql-literal.js';
import type { TargetSession } from '../target-session.js';
import { verifySchemaModel } from '../verify.js';

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
  /** rows per range below which a differing range is copied rather than split (default 256: with 1 % of rows changed
   * evenly, ranges of 2,000 rows all differ, of ~30 rows a quarter do) */
  leafRows?: number;
  /** ranges a differing range is split into (default 32) */
  fanout?: number;
}

export interface PatchedTable {
  table: string;
  ranges: number;
  rowsDeleted: number;
  rowsInserted: number;
}

export interface IncrementalSyncResult {
  tables: {
    /** every data table compared by checksums */
    compared: string[];
    /** equal on both sides: not written */
    skipped: string[];
    /** differing key ranges replaced */
    patched: PatchedTable[];
    /** replaced whole (no primary key, partition trees loaded through their root, excluded data, mostly changed) */
    copied: string[];
  };
  /** COPY bytes read from the source */
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

/** A column of a primary key, as the range queries compare it. */
interface KeyColumn {
  name: string;
  type: string;
  integer: boolean;
}

/** One relation compared as a whole and, with a usable key, by key ranges. */
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
  rowColumns: string[];
  /** null: compared and copied whole */
  pk: KeyColumn[] | null;
  /** the rows are not copied (excludeTableData): the target's table must be empty */
  expectEmpty: boolean;
  binary: boolean;
  matview: boolean;
}

/** A key range [lo, hi): null ends are open; values are the key columns' text. */
interface Range {
  lo: string[] | null;
  hi: string[] | null;
}

interface Sum {
  n: number;
  s: string;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);
/** Statements carry at most this many ranges (their text grows with each). */
const RANGES_PER_STATEMENT = 200;
/** Whole-relation checksums per query. */
const UNITS_PER_QUERY = 200;
const MAX_DEPTH = 16;
/**
 * Beyond these a patch costs more than a full copy (enum-wide 1 GB with 1 % of its rows changed at random, ranges of
 * 256 rows: the patch took 75 s where the full copy takes 24 s): the runner copies everything instead.
 */
const MAX_PATCH_RANGES = 1000;
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
];

function settingsSql(): string {
  return `SELECT ${CHECKSUM_SETTINGS.map(([k, v]) => `pg_catalog.set_config(${quoteLiteral(k)}, ${quoteLiteral(v)}, true)`).join(', ')}`;
}

/**
 * Each row's 64-bit hash (hashtextextended of its text: the same on every server of a major version and byte order;
 * a difference only makes more ranges differ, and the verify catches a server that hashes otherwise), summed as
 * numeric, order-free. Rendering the row as text is most of the cost; md5 instead added ~40 % on top of it,
 * hashtextextended ~10–20 % (713k rows of enum-wide's orders: text 2.9 s, md5 4.1 s, hashtextextended 3.2 s).
 */
function hashExpr(unit: Unit): string {
  const row = `ROW(${unit.rowColumns.map((c) => `t.${quoteIdent(c)}`).join(', ')})::text`;
  return `pg_catalog.hashtextextended(${row}, 0)`;
}

function keyOf(pk: KeyColumn[]): string {
  return pk.length === 1 ? `t.${quoteIdent(pk[0]!.name)}` : `(${pk.map((c) => `t.${quoteIdent(c.name)}`).join(', ')})`;
}

function tupleOf(pk: KeyColumn[], values: string[]): string {
  const parts = pk.map((c, i) => `${quoteLiteral(values[i]!)}::${c.type}`);
  return pk.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** The range as a WHERE condition over alias `t` (TRUE for the whole relation). */
function rangeCondition(pk: KeyColumn[], r: Range): string {
  const parts: string[] = [];
  if (r.lo) parts.push(`${keyOf(pk)} >= ${tupleOf(pk, r.lo)}`);
  if (r.hi) parts.push(`${keyOf(pk)} < ${tupleOf(pk, r.hi)}`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

function whole(r: Range): boolean {
  return r.lo === null && r.hi === null;
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
  return columns.map((c) => ({ name: c!.name, type: c!.type, integer: names.length === 1 && INTEGER_TYPES.has(c!.type) }));
}

/** The relations a copy of `model` fills, as units to compare (data tables, trees loaded through their root, excluded data). */
function unitsOf(model: SchemaModel, dataTables: DataTable[], excludeTableData: Set<string>): Unit[] {
  const byKey = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const binary = binaryCopyable(model);
  const rowColumnsOf = (t: Table) => [...t.columns].sort((a, b) => a.position - b.position).map((c) => c.name);
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
    const columns = [...v.columns].sort((a, b) => a.position - b.position).map((c) => c.name);
    units.push({ schema: v.schema, name: v.name, key: `${v.schema}.${v.name}`, from: relation, relation, only: false, columns, rowColumns: columns, pk: null, expectEmpty: false, binary: false, matview: true });
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
}

/** Whole-relation count and checksum of every unit (and min/max of an integer key on the source), a query per batch. */
async function wholeSums(sides: Sides, side: 'source' | 'target', units: Unit[]): Promise<Map<number, Sum & { min: string | null; max: string | null }>> {
  const out = new Map<number, Sum & { min: string | null; max: string | null }>();
  for (let i = 0; i < units.length; i += UNITS_PER_QUERY) {
    const parts = units.slice(i, i + UNITS_PER_QUERY).map((u, j) => {
      const int = side === 'source' && u.pk?.[0]?.integer ? keyOf(u.pk) : null;
      return `SELECT ${i + j} AS u, count(*)::text AS n, coalesce(sum(${hashExpr(u)}), 0)::text AS s, `
        + `${int ? `min(${int})::text` : 'NULL::text'} AS lo, ${int ? `max(${int})::text` : 'NULL::text'} AS hi FROM ${u.from} t`
        // the source's rows of a table copied without them are not the copy's
        + (side === 'source' && u.expectEmpty ? ' WHERE FALSE' : '');
    });
    const rows = await sides.on<{ u: number; n: string; s: string; lo: string | null; hi: string | null }>(side, parts.join('\nUNION ALL\n'));
    for (const r of rows) out.set(r.u, { n: Number(r.n), s: r.s, min: r.lo, max: r.hi });
  }
  return out;
}

/** Whether a key column may be split into ranges: the two sides order its values alike. */
async function orderingFingerprints(sides: Sides, side: 'source' | 'target', units: Unit[], serverVersionNum: number): Promise<Map<string, string>> {
  const wanted = units.flatMap((u) => (u.pk ?? []).map((c) => `(${quoteLiteral(u.relation)}, ${quoteLiteral(c.name)})`));
  const out = new Map<string, string>();
  if (wanted.length === 0) return out;
  const dbVersion = serverVersionNum >= 150000 ? `pg_catalog.pg_database_collation_actual_version(d.oid)` : 'NULL';
  const rows = await sides.on<{ rel: string; col: string; fp: string }>(side, `
    SELECT w.rel, w.col, CASE WHEN a.attcollation = 0 THEN '' ELSE
      CASE WHEN co.collname IN ('C', 'POSIX') OR (co.oid = 100 AND d.datcollate IN ('C', 'POSIX')) THEN 'bytes'
           WHEN co.oid = 100 THEN 'db:' || d.datlocprovider::text || ':' || d.datcollate || ':' || coalesce(pg_catalog.to_jsonb(d) ->> 'daticulocale', pg_catalog.to_jsonb(d) ->> 'datlocale', '') || ':' || coalesce(${dbVersion}, '?')
           ELSE 'coll:' || co.collprovider::text || ':' || coalesce(co.collcollate, '') || ':' || coalesce(pg_catalog.to_jsonb(co) ->> 'colliculocale', pg_catalog.to_jsonb(co) ->> 'colllocale', '') || ':' || coalesce(pg_catalog.pg_collation_actual_version(co.oid), '?') END END AS fp
    FROM (VALUES ${wanted.join(', ')}) AS w(rel, col)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = w.rel::pg_catalog.regclass AND a.attname = w.col
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
    CROSS JOIN (SELECT * FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) d`);
  // (locale columns read through to_jsonb: their names differ between major versions)
  for (const r of rows) out.set(`${r.rel}\u0000${r.col}`, r.fp);
  return out;
}

interface Pending {
  unit: number;
  range: Range;
  source: Sum;
  target: Sum;
}

/** A differing range to split: its sub-ranges by bounds strictly inside it. */
interface Split {
  unit: number;
  parent: Range;
  bounds: string[][];
  /** global id of its first sub-range */
  base: number;
}

/**
 * Incremental re-sync inside the runner's two transactions (see IncrementalSyncOptions). Every table is compared
 * by count and checksum computed inside each server; a differing table with a usable primary key is split by key
 * ranges (`fanout` per level, one query per side per level for all tables) until each differing range holds at
 * most `leafRows` source rows; those ranges are deleted in the target and copied from the snapshot, with triggers
 * and foreign keys kept from firing. Then sequences are set, materialized views refreshed, and before the runner
 * commits every table's count and checksum must equal the source's, and the catalog the model: else
 * DUMP_VERIFY_FAILED (nothing is committed). Throws IncrementalNotPossible before any write when a full copy is
 * needed instead.
 */
export async function syncIncremental(options: IncrementalSyncOptions): Promise<IncrementalSyncResult> {
  const { coordinator: src, session, snapshot, signal } = options;
  const dst = session.tx;
  const model = snapshot.model;
  const step = options.onStep ?? (() => {});
  const leafRows = options.leafRows ?? 256;
  const fanout = Math.max(2, options.fanout ?? 32);
  const sides = new Sides(src, dst, signal);
  const excluded = new Set(options.excludeTableData ?? []);
  const plain = renderSchema(model, { owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData });
  const units = unitsOf(model, plain.dataTables, excluded);

  await src.unsafe(settingsSql());
  await dst.unsafe(settingsSql());
  // the probe hash: servers that hash text otherwise (another byte order) cannot compare rows this way
  const probe = `pg_catalog.hashtextextended('mbsync: a probe of the row hash', 0)::text AS probe`;
  const [targetServer] = await dst.unsafe<{ num: string; enc: string; probe: string }[]>(`SELECT current_setting('server_version_num') AS num, current_setting('server_encoding') AS enc, ${probe}`);
  const [sourceServer] = await src.unsafe<{ enc: string; probe: string }[]>(`SELECT current_setting('server_encoding') AS enc, ${probe}`);
  if (targetServer!.probe !== sourceServer!.probe) throw new IncrementalNotPossible('the servers hash text differently (another byte order)');
  if (Math.floor(Number(targetServer!.num) / 10000) !== Math.floor(snapshot.serverVersionNum / 10000)) {
    throw new IncrementalNotPossible(`the servers' major versions differ (${snapshot.serverVersion} and ${targetServer!.num}): values may print differently`);
  }
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

  // level 0: every relation whole, one query per side (per batch)
  step('export', `comparing ${units.length} tables by checksum`);
  const [sourceWhole, targetWhole] = await Promise.all([wholeSums(sides, 'source', units), wholeSums(sides, 'target', units)]);
  const sameWhole = (i: number) => {
    const s = sourceWhole.get(i)!;
    const t = targetWhole.get(i)!;
    return s.n === t.n && s.s === t.s;
  };

  // keys the two sides may not order alike are not split
  const keyed = units.filter((u) => u.pk !== null);
  const [sourceOrder, targetOrder] = await Promise.all([
    orderingFingerprints(sides, 'source', keyed, snapshot.serverVersionNum),
    orderingFingerprints(sides, 'target', keyed, snapshot.serverVersionNum),
  ]);
  const splittable = (u: Unit) => u.pk !== null && u.pk.every((c) => {
    const k = `${u.relation}\u0000${c.name}`;
    const fp = sourceOrder.get(k);
    return fp !== undefined && fp === targetOrder.get(k) && !fp.endsWith(':?');
  });

  // per unit: the ranges to replace (a unit whose only range is the whole relation is copied whole)
  const leaves = new Map<number, Pending[]>();
  let pending: Pending[] = [];
  let matviewsDiffer = false;
  for (const [i, u] of units.entries()) {
    if (sameWhole(i)) continue;
    if (u.matview) {
      matviewsDiffer = true;
      continue;
    }
    const entry: Pending = { unit: i, range: { lo: null, hi: null }, source: u.expectEmpty ? { n: 0, s: '0' } : sourceWhole.get(i)!, target: targetWhole.get(i)! };
    if (u.pk && splittable(u) && entry.source.n > leafRows) pending.push(entry);
    else leaves.set(i, [entry]);
  }

  for (let depth = 1; pending.length > 0; depth++) {
    const names = [...new Set(pending.map((p) => units[p.unit]!.key))];
    step('export', `comparing key ranges (level ${depth}): ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`);
    // a table mostly different is copied whole: splitting further would move nearly as much
    const byUnit = new Map<number, Pending[]>();
    for (const p of pending) byUnit.set(p.unit, [...(byUnit.get(p.unit) ?? []), p]);
    const splitting: Pending[] = [];
    for (const [i, list] of byUnit) {
      const differing = list.reduce((n, p) => n + p.source.n, 0);
      if (depth > 1 && differing * 2 > sourceWhole.get(i)!.n) leaves.set(i, [{ unit: i, range: { lo: null, hi: null }, source: sourceWhole.get(i)!, target: targetWhole.get(i)! }]);
      else if (depth > MAX_DEPTH) leaves.set(i, [...(leaves.get(i) ?? []), ...list]);
      else splitting.push(...list);
    }
    const splits = await chooseBounds(sides, units, splitting, sourceWhole, fanout);
    const next: Pending[] = [];
    const splitBy = new Map<Pending, Split>();
    let id = 0;
    for (const p of splitting) {
      const bounds = splits.get(p) ?? [];
      if (bounds.length === 0) {
        leaves.set(p.unit, [...(leaves.get(p.unit) ?? []), p]);
        continue;
      }
      splitBy.set(p, { unit: p.unit, parent: p.range, bounds, base: id });
      id += bounds.length + 1;
    }
    const list = [...splitBy.values()];
    const [sourceSums, targetSums] = await Promise.all([rangeSums(sides, 'source', units, list), rangeSums(sides, 'target', units, list)]);
    for (const s of list) {
      for (let j = 0; j <= s.bounds.length; j++) {
        const range: Range = { lo: j === 0 ? s.parent.lo : s.bounds[j - 1]!, hi: j === s.bounds.length ? s.parent.hi : s.bounds[j]! };
        const source = sourceSums.get(s.base + j) ?? { n: 0, s: '0' };
        const target = targetSums.get(s.base + j) ?? { n: 0, s: '0' };
        if (source.n === target.n && source.s === target.s) continue;
        const entry = { unit: s.unit, range, source, target };
        if (source.n > leafRows) next.push(entry);
        else leaves.set(s.unit, [...(leaves.get(s.unit) ?? []), entry]);
      }
    }
    pending = next;
  }

  const result: IncrementalSyncResult = {
    tables: { compared: units.filter((u) => !u.matview).map((u) => u.key), skipped: [], patched: [], copied: [] },
    bytesFromSource: 0,
    rows: plain.dataTables.map((d) => ({ schema: d.schema, name: d.name, rows: 0 })),
    queries: { source: 0, target: 0 },
    statements: 0,
    enforcement: 'replica',
  };
  for (const [i, u] of units.entries()) if (!u.matview && !leaves.has(i)) result.tables.skipped.push(u.key);

  // changes spread over a table make it differ in many small ranges: patching those (a DELETE and a COPY over long
  // lists of key ranges, on one connection) costs more than the parallel full copy, which is then done instead
  const ranges = [...leaves.values()].reduce((n, list) => n + list.length, 0);
  const moving = [...leaves.values()].flat().reduce((n, p) => n + (whole(p.range) ? sourceWhole.get(p.unit)!.n : p.source.n), 0);
  const total = units.reduce((n, u, i) => n + (u.matview ? 0 : sourceWhole.get(i)!.n), 0);
  if (ranges > MAX_PATCH_RANGES || moving > total * MAX_PATCH_SHARE) {
    throw new IncrementalNotPossible(`the rows differ in ${ranges} key ranges holding ${moving} of ${total} rows: a full copy is faster`);
  }

  await options.beforeWrite?.();
  throwIfAborted(signal);
  const written = units.filter((u, i) => leaves.has(i) || (u.matview && (leaves.size > 0 || matviewsDiffer))).map((u) => u.relation);
  if (written.length > 0) await options.documents?.beforePatch(dst, written);

  // the patch: no user trigger, rule or foreign key action fires, no foreign key re-checks a table
  const patchedUnits = [...leaves.keys()].map((i) => units[i]!);
  step('import', patchedUnits.length ? `patching ${patchedUnits.length} tables` : 'nothing to patch');
  const run = async (statement: string) => {
    throwIfAborted(signal);
    await dst.unsafe(statement);
    result.statements++;
  };
  const restore = patchedUnits.length ? await keepFromFiring(dst, patchedUnits, run) : null;
  result.enforcement = restore?.mode ?? 'replica';
  for (const [i, list] of leaves) {
    const u = units[i]!;
    if (list.some((p) => whole(p.range))) {
      await run(`DELETE FROM ${u.only ? 'ONLY ' : ''}${u.relation}`);
      continue;
    }
    for (let j = 0; j < list.length; j += RANGES_PER_STATEMENT) {
      await run(`DELETE FROM ${u.only ? 'ONLY ' : ''}${u.relation} t WHERE ${list.slice(j, j + RANGES_PER_STATEMENT).map((p) => `(${rangeCondition(u.pk!, p.range)})`).join(' OR ')}`);
    }
  }
  for (const [i, list] of leaves) {
    const u = units[i]!;
    step('import', `copying ${whole(list[0]!.range) ? 'all of ' : `${list.length} ranges of `}${u.key}`);
    if (!u.expectEmpty) {
      const cols = u.columns.map(quoteIdent).join(', ');
      const chunks = list.some((p) => whole(p.range)) ? [['TRUE']] : chunk(list.map((p) => rangeCondition(u.pk!, p.range)), RANGES_PER_STATEMENT);
      for (const conditions of chunks) {
        const format = u.binary ? ' WITH (FORMAT binary)' : '';
        const copied = await pipeCopy(
          src, `COPY (SELECT ${cols} FROM ${u.from} t WHERE ${conditions.map((c) => `(${c})`).join(' OR ')}) TO STDOUT${format}`,
          dst, `COPY ${u.relation} (${cols}) FROM STDIN${format}`,
          { signal: signal ?? new AbortController().signal, countLines: !u.binary },
        );
        result.bytesFromSource += copied.bytes;
        result.statements++;
      }
    }
    const copiedWhole = list.some((p) => whole(p.range));
    if (copiedWhole) result.tables.copied.push(u.key);
    else {
      result.tables.patched.push({
        table: u.key, ranges: list.length, rowsDeleted: list.reduce((n, p) => n + p.target.n, 0), rowsInserted: list.reduce((n, p) => n + p.source.n, 0),
      });
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
  const tables = units.map((u, i) => ({ u, i })).filter(({ u, i }) => !u.matview && (leaves.has(i) || !sameWhole(i)));
  const after = await wholeSums(sides, 'target', tables.map(({ u }) => u));
  const wrong: string[] = [];
  for (const [j, { u, i }] of tables.entries()) {
    const want = u.expectEmpty ? { n: 0, s: '0' } : sourceWhole.get(i)!;
    const got = after.get(j)!;
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
  result.queries = { source: sides.source, target: sides.target };
  return result;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Bounds strictly inside each differing range, from the source: arithmetic over an integer key dense enough
 * (no query), else every ⌈n/fanout⌉-th key of the range in key order (one query for all such ranges).
 */
async function chooseBounds(sides: Sides, units: Unit[], ranges: Pending[], whole: Map<number, { min: string | null; max: string | null }>, fanout: number): Promise<Map<Pending, string[][]>> {
  const out = new Map<Pending, string[][]>();
  const queried: Pending[] = [];
  for (const p of ranges) {
    const u = units[p.unit]!;
    const w = whole.get(p.unit)!;
    if (u.pk![0]!.integer && w.min !== null && w.max !== null) {
      const lo = p.range.lo ? BigInt(p.range.lo[0]!) : BigInt(w.min);
      const hi = p.range.hi ? BigInt(p.range.hi[0]!) : BigInt(w.max) + 1n;
      const width = hi - lo;
      if (width > 1n && BigInt(p.source.n) * 64n >= width) {
        const stepBy = (width + BigInt(fanout) - 1n) / BigInt(fanout);
        const bounds: string[][] = [];
        for (let b = lo + stepBy; b < hi; b += stepBy) bounds.push([b.toString()]);
        // the open lower end of the first split keeps rows below the source's minimum in bucket 0
        out.set(p, bounds);
        continue;
      }
    }
    queried.push(p);
  }
  for (let i = 0; i < queried.length; i += RANGES_PER_STATEMENT) {
    const batch = queried.slice(i, i + RANGES_PER_STATEMENT);
    const parts = batch.map((p, j) => {
      const u = units[p.unit]!;
      const pk = u.pk!;
      const every = Math.max(1, Math.ceil(p.source.n / fanout));
      const cols = pk.map((c) => `t.${quoteIdent(c.name)}`).join(', ');
      return `SELECT ${j} AS g, x.i, ARRAY[${pk.map((c) => `x.${quoteIdent(c.name)}::text`).join(', ')}] AS k FROM (`
        + `SELECT ${cols}, row_number() OVER (ORDER BY ${cols}) AS i FROM ${u.from} t WHERE ${rangeCondition(pk, p.range)}) x WHERE x.i % ${every} = 1 AND x.i > 1`;
    });
    const rows = await sides.on<{ g: number; k: string[] }>('source', parts.map((p) => `(${p})`).join('\nUNION ALL\n') + '\nORDER BY 1, 2');
    for (const r of rows) {
      const p = batch[r.g]!;
      out.set(p, [...(out.get(p) ?? []), r.k]);
    }
  }
  return out;
}

/** Count and checksum of every sub-range of every split, one query per side per batch. */
async function rangeSums(sides: Sides, side: 'source' | 'target', units: Unit[], splits: Split[]): Promise<Map<number, Sum>> {
  const out = new Map<number, Sum>();
  for (let i = 0; i < splits.length; i += RANGES_PER_STATEMENT) {
    const parts = splits.slice(i, i + RANGES_PER_STATEMENT).map((s) => {
      const u = units[s.unit]!;
      const pk = u.pk!;
      const bucket = `CASE ${s.bounds.map((b, j) => `WHEN ${keyOf(pk)} < ${tupleOf(pk, b)} THEN ${s.base + j}`).join(' ')} ELSE ${s.base + s.bounds.length} END`;
      return `SELECT ${bucket} AS r, ${hashExpr(u)} AS h FROM ${u.from} t WHERE ${rangeCondition(pk, s.parent)}`;
    });
    if (parts.length === 0) continue;
    const rows = await sides.on<{ r: number; n: string; s: string }>(side, `SELECT x.r, count(*)::text AS n, coalesce(sum(x.h), 0)::text AS s FROM (\n${parts.join('\nUNION ALL\n')}\n) x GROUP BY x.r`);
    for (const r of rows) out.set(r.r, { n: Number(r.n), s: r.s });
  }
  return out;
}

/**
 * Keeps user triggers, rules and foreign keys of the patched tables from acting: session_replication_role =
 * replica where the role may set it (triggers and rules enabled for replicas or always are disabled too); else the
 * data-only way: user triggers disabled and the foreign keys touching the tables dropped, re-added (so re-checked)
 * by `finish`.
 */
async function keepFromFiring(tx: Session, units: Unit[], run: (statement: string) => Promise<void>): Promise<{ mode: 'replica' | 'disabled'; finish(): Promise<void> }> {
  const oids = `ARRAY[${units.map((u) => `${quoteLiteral(u.relation)}::pg_catalog.regclass`).join(', ')}]`;
  let replica = true;
  try {
    await tx.savepoint((sp) => sp.unsafe(`SELECT pg_catalog.set_config('session_replication_role', 'replica', true)`));
  } catch {
    replica = false;
  }
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
