/** How an object differs: `added` = only in the target (`to`), `removed` = only in the dump (`from`), `changed` = in both. */
export type ChangeKind = 'added' | 'removed' | 'changed';

export type SchemaObjectType =
  | 'schema' | 'extension' | 'table' | 'column' | 'constraint' | 'index' | 'enum' | 'domain' | 'composite' | 'range'
  | 'sequence' | 'view' | 'materialized view' | 'function' | 'procedure' | 'aggregate' | 'trigger' | 'rule' | 'policy' | 'rls'
  | 'default privileges' | 'publication' | 'event trigger'
  | 'collation' | 'text search parser' | 'text search template' | 'text search dictionary' | 'text search configuration' | 'cast'
  | 'operator' | 'operator family' | 'operator class' | 'conversion' | 'statistics';

/** Replace mode: `destructive` = the target loses something that may hold rows, `warning` = it loses another object. */
export type ReplaceSeverity = 'info' | 'warning' | 'destructive';
/** Data-only mode: `blocking` = the load cannot succeed (or would change values), `warning` = it may be rejected row by row. */
export type DataOnlySeverity = 'ok' | 'warning' | 'blocking';

export interface ChangeSeverity {
  replace: ReplaceSeverity;
  'data-only': DataOnlySeverity;
}

/**
 * One object that differs between the dump (`from`, `before`) and the target (`to`, `after`).
 * `name` is qualified without quotes: `public.parts` for a table, `public.parts.sku` for a column (and likewise
 * constraints, indexes, triggers, rules, policies), `public.f(integer)` for a routine, the bare name for a
 * schema or an extension.
 */
export interface SchemaChange {
  objectType: SchemaObjectType;
  name: string;
  kind: ChangeKind;
  /** The dump's version (absent when `added`). */
  before?: unknown;
  /** The target's version (absent when `removed`). */
  after?: unknown;
  /** Human-readable: what differs and why it matters. */
  detail?: string;
  severity: ChangeSeverity;
  /** `schema.table` of the table (or view) the object is or belongs to: the key of row counts. */
  table?: string;
  /** Why a replace cannot proceed at all because of this difference (it would fail, or silently differ). */
  refusesReplace?: string;
}

const REPLACE_RANK: Record<ReplaceSeverity, number> = { info: 0, warning: 1, destructive: 2 };
const DATA_ONLY_RANK: Record<DataOnlySeverity, number> = { ok: 0, warning: 1, blocking: 2 };

export function worseReplace(a: ReplaceSeverity, b: ReplaceSeverity): ReplaceSeverity {
  return REPLACE_RANK[b] > REPLACE_RANK[a] ? b : a;
}

export function worseDataOnly(a: DataOnlySeverity, b: DataOnlySeverity): DataOnlySeverity {
  return DATA_ONLY_RANK[b] > DATA_ONLY_RANK[a] ? b : a;
}

/** One aspect of a `changed` object, e.g. its type or its default, with what it means for each mode. */
export interface Aspect {
  text: string;
  replace?: ReplaceSeverity;
  dataOnly?: DataOnlySeverity;
}

/** Folds aspects into one `changed` entry: the details joined, the worst severity of each mode. */
export function changed(objectType: SchemaObjectType, name: string, before: unknown, after: unknown, aspects: Aspect[], table?: string): SchemaChange | null {
  if (aspects.length === 0) return null;
  let replace: ReplaceSeverity = 'info';
  let dataOnly: DataOnlySeverity = 'ok';
  for (const a of aspects) {
    replace = worseReplace(replace, a.replace ?? 'info');
    dataOnly = worseDataOnly(dataOnly, a.dataOnly ?? 'ok');
  }
  return {
    objectType, name, kind: 'changed', before, after, detail: aspects.map((a) => a.text).join('; '),
    severity: { replace, 'data-only': dataOnly }, ...(table === undefined ? {} : { table }),
  };
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Indexes a list by key (later duplicates win; model lists have unique keys). */
export function byKey<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) map.set(key(item), item);
  return map;
}

/** Every key of either map, in code-unit order. */
export function unionKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): string[] {
  const keys = new Set<string>(a.keys());
  for (const k of b.keys()) keys.add(k);
  return [...keys].sort(compareText);
}

/** Calls `visit` with each key and the item on each side (undefined where absent), keys in order. */
export function pair<T>(from: readonly T[], to: readonly T[], key: (item: T) => string, visit: (key: string, before: T | undefined, after: T | undefined) => void): void {
  const a = byKey(from, key);
  const b = byKey(to, key);
  for (const k of unionKeys(a, b)) visit(k, a.get(k), b.get(k));
}

/** Stable JSON for comparing nested values (arrays keep their order, object keys are sorted). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => compareText(x, y)));
    }
    return v;
  });
}

export function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** `a → b` with absent values shown as `none`. */
export function arrow(a: unknown, b: unknown): string {
  const show = (v: unknown) => (v === undefined || v === null ? 'none' : typeof v === 'string' ? v : JSON.stringify(v));
  return `${show(a)} → ${show(b)}`;
}
