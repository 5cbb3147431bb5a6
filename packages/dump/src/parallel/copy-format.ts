import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { qualify } from '../ddl/quote.js';

/**
 * Types (format_type spelling, arrays included) whose binary COPY form is exact and the same on every server
 * version since 12, and whose binary input checks what text input checks. Binary COPY skips formatting and
 * parsing (timestamps, numerics, bytea as hex), which is most of a COPY's CPU.
 */
const BINARY_SAFE_TYPE = new RegExp(String.raw`^(?:smallint|integer|bigint|real|double precision|boolean|text|bytea|date|uuid|json|jsonb|oid|inet|cidr|macaddr`
  + String.raw`|numeric(?:\(\d+(?:,\d+)?\))?|character varying(?:\(\d+\))?|character(?:\(\d+\))?`
  + String.raw`|time(?:\(\d\))? (?:with|without) time zone|timestamp(?:\(\d\))? (?:with|without) time zone`
  + String.raw`|int4range|int8range|numrange|daterange|tsrange|tstzrange)(?:\[\])*$`);

/** The dump's user types by qualified name: enums (→ labels), domains → base type, ranges → subtype. */
export interface UserTypes {
  enums: Map<string, string[]>;
  domains: Map<string, string>;
  ranges: Map<string, string>;
}

/**
 * Binary COPY carries an enum as its label, a domain as its base type and a range as a flags byte and its bounds in
 * the subtype's binary form, so those are as portable as their base or subtype; arrays of user types and composite
 * values carry type OIDs, which differ between databases (text COPY for those).
 */
function binarySafe(type: string, { enums, domains, ranges }: UserTypes): boolean {
  if (BINARY_SAFE_TYPE.test(type)) return true;
  if (enums.has(type)) return true;
  const subtype = ranges.get(type);
  if (subtype !== undefined) return !subtype.endsWith('[]') && (BINARY_SAFE_TYPE.test(subtype) || enums.has(subtype));
  const base = domains.get(type);
  return base !== undefined && !base.endsWith('[]') && (BINARY_SAFE_TYPE.test(base) || enums.has(base));
}

function typeName(t: { schema: string; name: string }): string {
  return qualify(t.schema, t.name);
}

/** The model's user types as binarySafe and the size estimate read them. */
export function userTypesOf(model: Pick<SchemaModel, 'enums' | 'domains' | 'rangeTypes'>): UserTypes {
  return {
    enums: new Map(model.enums.map((e) => [typeName(e), e.labels])),
    domains: new Map(model.domains.map((d) => [typeName(d), d.baseType])),
    ranges: new Map(model.rangeTypes.map((r) => [typeName(r), r.subtype])),
  };
}

/**
 * Whether columns of these types (format_type spelling, the model's) may all go in binary COPY (see binarySafe): the
 * one rule of fidelity. A table that passes it may still go as text when text is smaller (chooseCopyFormats).
 */
export function binaryCopyable(model: Pick<SchemaModel, 'enums' | 'domains' | 'rangeTypes'>): (types: string[]) => boolean {
  const types = userTypesOf(model);
  return (columns) => columns.length > 0 && columns.every((c) => binarySafe(c, types));
}

/** Whether any of these types (format_type spelling) is bytea, an array of it, or a domain over either. */
export function byteaTyped(model: Pick<SchemaModel, 'enums' | 'domains' | 'rangeTypes'>): (types: string[]) => boolean {
  const types = userTypesOf(model);
  const isBytea = (r: Resolved | null): boolean => r !== null && ((r.kind === 'varlena' && r.name === 'bytea') || (r.kind === 'array' && isBytea(r.element)));
  return (columns) => columns.some((c) => isBytea(resolve(c, types)));
}

/** Built-in types whose text never holds a byte COPY escapes (backslash, newline, carriage return, tab). */
const PLAIN_TEXT = /^(?:smallint|integer|bigint|real|double precision|numeric|date|uuid|oid|time(?: with| without) time zone|timestamp(?: with| without) time zone)$/;

/**
 * How a packed COPY renders a column of a type (format_type spelling; see packed-copy.ts's copyLine):
 * - `output`: the type, or a domain's base on the way down, has a cast to text of its own (`castsToText`, read from
 *   the source: boolean's 'true', character's trimmed padding, inet's netmask), so its output function is called;
 * - otherwise `::text` (an I/O conversion: the output function's text), then escaped as needed: `plain` types never
 *   write a byte COPY escapes (numbers, times, uuids, enums whose labels have none), `jsonb` escapes control bytes
 *   itself and writes only backslashes, `text` (all else) may hold any of the four.
 */
export type PackedRendering = 'plain' | 'jsonb' | 'text' | 'output';

export function packedRendering(model: Pick<SchemaModel, 'enums' | 'domains' | 'rangeTypes'>, castsToText: ReadonlySet<string>): (type: string) => PackedRendering {
  const types = userTypesOf(model);
  const hasCast = (type: string) => type !== 'character varying' && (castsToText.has(type) || castsToText.has(bare(type)));
  return (type) => {
    for (let t: string | undefined = type, depth = 0; t !== undefined && depth < 8; t = types.domains.get(t), depth++) {
      if (hasCast(t)) return 'output';
    }
    const r = resolve(type, types);
    if (r?.kind === 'enum') return r.labels.every((l) => !/[\\\n\r\t]/.test(l)) ? 'plain' : 'text';
    if ((r?.kind === 'fixed' || r?.kind === 'varlena') && PLAIN_TEXT.test(r.name)) return 'plain';
    if (r?.kind === 'varlena' && r.name === 'jsonb') return 'jsonb';
    return 'text';
  };
}

/** What the source's statistics (pg_stats, of its last ANALYZE) say about one column. */
export interface ColumnStatistics {
  /** format_type spelling, the model's */
  type: string;
  /** fraction of NULLs */
  nullFrac: number;
  /** average stored width of the non-null values (a varlena's as stored: compressed, or the TOAST pointer's) */
  avgWidth: number;
  /** average length in bytes of the text form of the most common values, weighted by their frequencies, and that weight */
  mcvWidth: number | null;
  mcvFrac: number | null;
  /** average length in bytes of the text form of the histogram's bounds (the rest of the values, evenly) */
  histWidth: number | null;
  /** arrays: the average number of distinct non-null elements (elem_count_histogram's last entry) */
  elements: number | null;
}

/** A table's statistics: its rows (reltuples), its TOAST bytes, and each copied column's (null: never analyzed). */
export interface TableStatistics {
  rows: number;
  toastBytes: number;
  columns: (ColumnStatistics | null)[];
}

/** Estimated bytes of a table's COPY TO STDOUT in each format. */
export interface CopySizeEstimate {
  text: number;
  binary: number;
}

/** Per non-null value: [binary payload (after its 4-byte length), text form (before its delimiter)]. */
type ValueSize = [binary: number, text: number];

/** Fixed binary sizes and typical text lengths (pg_dump's settings: ISO dates, shortest exact floats, UTC offsets). */
const FIXED: Record<string, ValueSize> = {
  smallint: [2, 3],
  integer: [4, 6],
  bigint: [8, 8],
  real: [4, 9],
  'double precision': [8, 17],
  boolean: [1, 1],
  date: [4, 10],
  uuid: [16, 36],
  oid: [4, 5],
  macaddr: [6, 17],
  'time without time zone': [8, 8],
  'time with time zone': [12, 11],
  'timestamp without time zone': [8, 19],
  'timestamp with time zone': [8, 22],
};
const BUILTIN_RANGES: Record<string, string> = {
  int4range: 'integer', int8range: 'bigint', numrange: 'numeric', daterange: 'date',
  tsrange: 'timestamp without time zone', tstzrange: 'timestamp with time zone',
};
const TEXT_LIKE = /^(?:text|character varying|character|json)$/;

/** The type without its typmod ('numeric(12,2)' → 'numeric', 'timestamp(3) with time zone' → 'timestamp with time zone'). */
function bare(type: string): string {
  return type.replace(/\(\d+(?:,\d+)?\)/, '');
}

/** What a type is, for sizes: domains resolved to their base, user ranges and enums named as such. */
type Resolved =
  | { kind: 'fixed' | 'varlena'; name: string }
  | { kind: 'enum'; labels: string[] }
  | { kind: 'range'; subtype: Resolved }
  | { kind: 'array'; element: Resolved };

function resolve(type: string, types: UserTypes, depth = 0): Resolved | null {
  if (depth > 8) return null;
  if (type.endsWith('[]')) {
    const element = resolve(type.replace(/(?:\[\])+$/, ''), types, depth + 1);
    return element && { kind: 'array', element };
  }
  const labels = types.enums.get(type);
  if (labels) return { kind: 'enum', labels };
  const base = types.domains.get(type);
  if (base !== undefined) return resolve(base, types, depth + 1);
  const subtype = types.ranges.get(type) ?? BUILTIN_RANGES[type];
  if (subtype !== undefined) {
    const resolved = resolve(subtype, types, depth + 1);
    return resolved && { kind: 'range', subtype: resolved };
  }
  const name = bare(type);
  if (FIXED[name]) return { kind: 'fixed', name };
  if (TEXT_LIKE.test(name) || /^(?:bytea|jsonb|numeric|inet|cidr)$/.test(name)) return { kind: 'varlena', name };
  return null;
}

/** A varlena's payload from its stored width: a 1-byte header up to 126 bytes, 4 bytes beyond. */
function payloadOf(width: number): number {
  return Math.max(0, width - (width > 127 ? 4 : 1));
}

/**
 * Sizes of one value of a type: binary from its stored width and the type's send format, text from the statistics'
 * text forms when they have them (`textWidth`), else from the type's rules.
 */
function valueSize(type: Resolved, width: number, textWidth: number | null, elements: number | null): ValueSize {
  switch (type.kind) {
    case 'fixed': {
      const [binary, text] = FIXED[type.name]!;
      return [binary, textWidth ?? text];
    }
    case 'enum': {
      // binary sends the label, text writes it
      const label = textWidth ?? (type.labels.length ? type.labels.reduce((n, l) => n + Buffer.byteLength(l), 0) / type.labels.length : 8);
      return [label, label];
    }
    case 'varlena': {
      const payload = payloadOf(width);
      switch (type.name) {
        // hex: '\\x' (the backslash escaped by COPY) and two digits a byte
        case 'bytea': return [payload, 2 * payload + 3];
        // a version byte, then the text
        case 'jsonb': return [1 + (textWidth ?? payload), textWidth ?? payload];
        // stored: 1-byte header, 2-byte numeric header, 2 bytes per 4 decimal digits; sent: 8-byte header and the digits
        case 'numeric': {
          const digits = Math.max(0, (width - 3) / 2);
          return [8 + 2 * digits, textWidth ?? Math.max(1, 4 * digits - 1)];
        }
        // family, bits, is_cidr, length and the address
        case 'inet':
        case 'cidr': return [payload + 2, textWidth ?? 12];
        default: return [payload, payload];
      }
    }
    case 'range': {
      // flags, then each bound as a length and the subtype's value; text: '[lo,hi)', quoted when the value has spaces
      const [bound, boundText] = valueSize(type.subtype, Math.max(0, (width - 9) / 2), null, null);
      const quotes = type.subtype.kind === 'fixed' && /^time/.test(type.subtype.name) ? 2 : 0;
      return [1 + 2 * (4 + bound), textWidth ?? 3 + 2 * (boundText + quotes)];
    }
    case 'array': {
      // stored: 24 bytes of header for one dimension; sent: 20, then a length per element
      const fixed = type.element.kind === 'fixed' ? FIXED[type.element.name]![0] : null;
      const data = Math.max(0, width - 24);
      const n = elements ?? (fixed ? data / fixed : data / 8);
      const [, elementText] = valueSize(type.element, fixed ?? Math.max(1, data / Math.max(1, n)), null, null);
      return [20 + 4 * n + (fixed ? n * fixed : Math.max(0, data - n)), textWidth ?? 2 + n * (elementText + 1)];
    }
  }
}

/** The average text length of a column's non-null values from its most common values and histogram, or null. */
export function statisticsTextWidth(c: Pick<ColumnStatistics, 'nullFrac' | 'mcvWidth' | 'mcvFrac' | 'histWidth'>): number | null {
  const mcvFrac = c.mcvFrac ?? 0;
  const mcvWidth = c.mcvWidth ?? 0;
  const rest = c.histWidth === null ? 0 : Math.max(0, 1 - c.nullFrac - mcvFrac);
  const weight = mcvFrac + rest;
  if (weight <= 0) return null;
  return (mcvWidth + (c.histWidth ?? 0) * rest) / weight;
}

/**
 * Estimated bytes of a table's COPY in text and in binary, from the source's statistics, without reading the table:
 * per row, binary pays 2 bytes and per field a 4-byte length (NULL: the length alone) and the value's send form; text
 * pays per field a delimiter and the value's text form (NULL: `\N`). Varlena widths are as stored; the TOAST bytes are
 * laid on the table's bytea columns when it has some (text sends them as hex: twice), else counted alike in both.
 * Null when the statistics cannot tell (never analyzed, no rows counted, a column without statistics or of a type
 * without rules here).
 */
export function estimateCopySize(table: TableStatistics, types: UserTypes): CopySizeEstimate | null {
  if (!(table.rows > 0) || table.columns.length === 0) return null;
  let binary = 2;
  let text = 0;
  let bytea = false;
  for (const c of table.columns) {
    if (!c) return null;
    const type = resolve(c.type, types);
    if (!type) return null;
    if (type.kind === 'varlena' && type.name === 'bytea') bytea = true;
    const textWidth = type.kind === 'varlena' && type.name !== 'jsonb' && type.name !== 'numeric' && type.name !== 'inet' && type.name !== 'cidr'
      ? null // the stored width is better: the statistics leave values over 1 kB out
      : statisticsTextWidth(c);
    const [b, t] = valueSize(type, c.avgWidth, textWidth, c.elements);
    const present = Math.min(1, Math.max(0, 1 - c.nullFrac));
    binary += 4 + present * b;
    text += 1 + (1 - present) * 2 + present * t;
  }
  const toast = table.toastBytes / table.rows;
  binary += toast;
  text += bytea ? 2 * toast : toast;
  return { text: text * table.rows, binary: binary * table.rows };
}

/**
 * A binary-safe table goes as text only when its text COPY is estimated this much smaller: the estimate is rough, and
 * binary spares both servers formatting and parsing.
 */
export const TEXT_IF_SMALLER = 0.95;

/** Whether a binary-safe table with this estimate goes as text (null: no estimate, binary as before). */
export function smallerInText(estimate: CopySizeEstimate | null): boolean {
  return estimate !== null && estimate.text < estimate.binary * TEXT_IF_SMALLER;
}

/** A data table as the plan copies it: its columns in COPY order, and their types. */
export interface CopiedTable {
  schema: string;
  name: string;
  columns: { name: string; type: string }[];
}

interface StatsRow {
  schema: string;
  name: string;
  rows: number;
  toast: number;
  column: string | null;
  nullFrac: number | null;
  avgWidth: number | null;
  mcvWidth: number | null;
  mcvFrac: number | null;
  histWidth: number | null;
  elements: number | null;
}

/**
 * The statistics of every table, in one query: reltuples, TOAST size, and per column pg_stats' null fraction, average
 * width, array element count and the text lengths of its most common values and histogram bounds (in the session's
 * settings: the exporter's, as COPY writes them).
 */
export async function readTableStatistics(tx: postgres.TransactionSql, tables: CopiedTable[]): Promise<Map<string, TableStatistics>> {
  const out = new Map<string, TableStatistics>();
  if (tables.length === 0) return out;
  const rows = await tx.unsafe<StatsRow[]>(`
    SELECT t.schema, t.name, c.reltuples::float8 AS rows,
      (CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_relation_size(c.reltoastrelid) ELSE 0 END)::float8 AS toast,
      s.attname::text AS column, s.null_frac::float8 AS "nullFrac", s.avg_width AS "avgWidth",
      m.w AS "mcvWidth", m.f AS "mcvFrac", h.w AS "histWidth",
      s.elem_count_histogram[pg_catalog.array_upper(s.elem_count_histogram, 1)]::float8 AS elements
    FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS t(schema, name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
    LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = t.schema AND s.tablename = t.name AND NOT s.inherited
    LEFT JOIN LATERAL (
      SELECT sum(u.f * pg_catalog.octet_length(u.v))::float8 AS w, sum(u.f)::float8 AS f
      FROM ROWS FROM (pg_catalog.unnest(s.most_common_vals::text::text[]), pg_catalog.unnest(s.most_common_freqs)) AS u(v, f) WHERE u.v IS NOT NULL
    ) m ON true
    LEFT JOIN LATERAL (
      SELECT avg(pg_catalog.octet_length(b.v))::float8 AS w FROM pg_catalog.unnest(s.histogram_bounds::text::text[]) AS b(v)
    ) h ON true`, [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  const byTable = new Map<string, StatsRow[]>();
  for (const r of rows) {
    const key = `${r.schema}.${r.name}`;
    byTable.set(key, [...(byTable.get(key) ?? []), r]);
  }
  for (const t of tables) {
    const key = `${t.schema}.${t.name}`;
    const found = byTable.get(key);
    if (!found) continue;
    const columns = new Map(found.filter((r) => r.column !== null).map((r) => [r.column!, r]));
    out.set(key, {
      rows: found[0]!.rows,
      toastBytes: found[0]!.toast,
      columns: t.columns.map((c) => {
        const s = columns.get(c.name);
        return s ? { type: c.type, nullFrac: s.nullFrac ?? 0, avgWidth: s.avgWidth ?? 0, mcvWidth: s.mcvWidth, mcvFrac: s.mcvFrac, histWidth: s.histWidth, elements: s.elements } : null;
      }),
    });
  }
  return out;
}

/**
 * Per binary-safe table, the COPY format that costs fewer bytes on the wire: binary, unless the source's statistics say
 * text is smaller (TEXT_IF_SMALLER). Tables that are not binary-safe are text anyway and not looked at; where the
 * statistics cannot tell, binary stays. One query for all tables, in a savepoint: should it fail, every table keeps
 * binary and the snapshot's transaction goes on (postgres.js keeps the savepoint until the transaction ends: export a
 * snapshot before, PostgreSQL refuses to from a subtransaction).
 */
export async function chooseCopyFormats(
  tx: postgres.TransactionSql, model: Pick<SchemaModel, 'enums' | 'domains' | 'rangeTypes'>, tables: CopiedTable[],
): Promise<Map<string, { format: 'binary' | 'text'; estimate: CopySizeEstimate | null }>> {
  const copyable = binaryCopyable(model);
  const safe = tables.filter((t) => copyable(t.columns.map((c) => c.type)));
  const types = userTypesOf(model);
  let stats: Map<string, TableStatistics>;
  try {
    stats = await tx.savepoint((sp) => readTableStatistics(sp, safe));
  } catch {
    stats = new Map();
  }
  return new Map(safe.map((t) => {
    const key = `${t.schema}.${t.name}`;
    const s = stats.get(key);
    const estimate = s ? estimateCopySize(s, types) : null;
    return [key, { format: smallerInText(estimate) ? 'text' : 'binary', estimate }];
  }));
}
