import type { SchemaModel } from '../model.js';

/**
 * Whether a target column of one type can take the dump's values of another, loaded through COPY text:
 * `same`, `wider` (every value loads and reads back unchanged), `constrained` (the target is a domain whose
 * NOT NULL/CHECKs may reject rows) or `incompatible` (values may be refused, rounded or reinterpreted).
 */
export type TypeFit = 'same' | 'wider' | 'constrained' | 'incompatible';

/** The user types of one side, keyed by their `format_type` spelling (`public.mood`, `"Odd".t`). */
export interface TypeCatalog {
  domains: Map<string, { baseType: string; constrained: boolean }>;
  enums: Set<string>;
}

function formatIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** `format_type` spelling of a user type with an empty search_path (reserved words aside). */
export function formatTypeName(schema: string, name: string): string {
  return `${formatIdent(schema)}.${formatIdent(name)}`;
}

export function typeCatalog(model: SchemaModel): TypeCatalog {
  return {
    domains: new Map(model.domains.map((d) => [formatTypeName(d.schema, d.name), { baseType: d.baseType, constrained: d.notNull || d.constraints.length > 0 }])),
    enums: new Set(model.enums.map((e) => formatTypeName(e.schema, e.name))),
  };
}

const INT_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
const INT_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };

type Text = { kind: 'text' | 'varchar' | 'char' | 'bpchar'; length?: number };

function textType(type: string): Text | null {
  if (type === 'text') return { kind: 'text' };
  if (type === 'bpchar') return { kind: 'bpchar' };
  const m = /^character( varying)?(?:\((\d+)\))?$/.exec(type);
  if (!m) return null;
  return { kind: m[1] ? 'varchar' : 'char', ...(m[2] ? { length: Number(m[2]) } : {}) };
}

function numericType(type: string): { precision?: number; scale?: number } | null {
  const m = /^numeric(?:\((\d+),(-?\d+)\))?$/.exec(type);
  if (!m) return null;
  return m[1] && m[2] ? { precision: Number(m[1]), scale: Number(m[2]) } : {};
}

function timeType(type: string): { base: string; precision: number; tz: string } | null {
  const m = /^(timestamp|time)(?:\((\d)\))? (with|without) time zone$/.exec(type);
  return m?.[1] && m[3] ? { base: m[1], precision: m[2] ? Number(m[2]) : 6, tz: m[3] } : null;
}

function bitType(type: string): { varying: boolean; length?: number } | null {
  const m = /^bit( varying)?(?:\((\d+)\))?$/.exec(type);
  return m ? { varying: Boolean(m[1]), ...(m[2] ? { length: Number(m[2]) } : {}) } : null;
}

/**
 * The explicit widening table (built-in types, `format_type` spelling). Anything not listed is not wider:
 * timestamp → timestamptz reinterprets values, numeric(p,2) → numeric(p,3) rewrites them as 1.500, json → jsonb
 * normalises them, text → varchar(n) may truncate.
 */
function builtinWider(from: string, to: string): boolean {
  const fromRank = INT_RANK[from];
  if (fromRank !== undefined) {
    const toRank = INT_RANK[to];
    if (toRank !== undefined) return fromRank <= toRank;
    const n = numericType(to);
    if (n) return n.precision === undefined || (n.scale === 0 && n.precision >= (INT_DIGITS[from] ?? Infinity));
    // float8 holds every int4 exactly and float4 every int2 (53- and 24-bit mantissas)
    if (to === 'double precision') return from !== 'bigint';
    if (to === 'real') return from === 'smallint';
    return false;
  }
  if (from === 'real') return to === 'double precision';
  const fromNumeric = numericType(from);
  if (fromNumeric) {
    const n = numericType(to);
    if (!n) return false;
    if (n.precision === undefined) return true;
    return fromNumeric.precision !== undefined && n.scale === fromNumeric.scale && n.precision >= fromNumeric.precision;
  }
  const fromText = textType(from);
  if (fromText) {
    const t = textType(to);
    if (!t) return false;
    if (t.kind === 'text' || (t.kind === 'varchar' && t.length === undefined)) return true;
    if (t.kind === 'varchar') return fromText.length !== undefined && fromText.kind !== 'bpchar' && fromText.length <= t.length!;
    // bpchar without a length keeps the padded value as it is
    return t.kind === 'bpchar' && fromText.kind === 'char';
  }
  const fromTime = timeType(from);
  if (fromTime) {
    const t = timeType(to);
    return t !== null && t.base === fromTime.base && t.tz === fromTime.tz && t.precision >= fromTime.precision;
  }
  if (from.startsWith('interval')) return to === 'interval';
  const fromBit = bitType(from);
  if (fromBit) {
    const t = bitType(to);
    return t !== null && t.varying && (t.length === undefined || (fromBit.length !== undefined && fromBit.length <= t.length));
  }
  return false;
}

/** How well a target column of type `to` holds the dump's values of type `from`. */
export function typeFit(from: string, to: string, dump: TypeCatalog, target: TypeCatalog, depth = 0): TypeFit {
  if (from === to) return 'same';
  if (depth > 8) return 'incompatible';
  const fromArray = from.endsWith('[]');
  if (fromArray || to.endsWith('[]')) {
    if (!fromArray || !to.endsWith('[]')) return 'incompatible';
    return typeFit(from.slice(0, -2), to.slice(0, -2), dump, target, depth + 1);
  }
  // a dumped domain's values are values of its base type
  const fromDomain = dump.domains.get(from);
  if (fromDomain) {
    const fit = typeFit(fromDomain.baseType, to, dump, target, depth + 1);
    return fit === 'same' ? 'wider' : fit;
  }
  const toDomain = target.domains.get(to);
  if (toDomain) {
    const fit = typeFit(from, toDomain.baseType, dump, target, depth + 1);
    if (fit === 'incompatible') return fit;
    return toDomain.constrained ? 'constrained' : 'wider';
  }
  // an enum's COPY text is its label
  if (dump.enums.has(from)) return to === 'text' || to === 'character varying' ? 'wider' : 'incompatible';
  return builtinWider(from, to) ? 'wider' : 'incompatible';
}
