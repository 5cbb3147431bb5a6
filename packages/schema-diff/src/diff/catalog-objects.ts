import type { TextSearchMapping } from '../catalog-objects.js';
import { catalogObjects, operatorArguments } from '../catalog-objects.js';
import type { SchemaModel } from '../model.js';
import type { Aspect, DataOnlySeverity, SchemaChange, SchemaObjectType } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import type { DiffContext } from './context.js';
import { commonAspects } from './context.js';

type Relation = { schema: string; name: string };
const qualified = (o: Relation) => `${o.schema}.${o.name}`;

/** How one kind of catalog object is named and compared. */
interface KindRules<T> {
  objectType: SchemaObjectType;
  /** The change's `name`: qualified, operands or access method added where the name alone is not the identity. */
  name: (o: T) => string;
  /** The schemas it lives in (a cast: those of its function and types): a replace of any of them drops it. */
  schemas: (o: T) => string[];
  /** Compared fields besides comment and owner. */
  fields: readonly (keyof T & string)[];
  /** Data-only severity of a difference in those fields (default ok: COPY does not go through these objects). */
  dataOnly?: DataOnlySeverity;
  /** Why it matters, appended to the fields that differ. */
  why?: string;
  /** `schema.table` it belongs to (statistics). */
  table?: (o: T) => string;
}

/** `mappings` of two text search configurations: the token types whose dictionaries differ. */
function mappingText(a: TextSearchMapping[], b: TextSearchMapping[]): string {
  const tokens: string[] = [];
  pair(a, b, (m) => m.token, (token, x, y) => {
    if (!same(x?.dictionaries, y?.dictionaries)) tokens.push(`${token} (${x?.dictionaries.join(', ') ?? 'none'} → ${y?.dictionaries.join(', ') ?? 'none'})`);
  });
  return `mappings differ: ${tokens.join('; ')}`;
}

function fieldAspects<T>(rules: KindRules<T>, a: T, b: T): Aspect[] {
  const differing = rules.fields.filter((f) => !same(a[f] ?? null, b[f] ?? null));
  if (differing.length === 0) return [];
  const text = differing.map((f) => {
    if (f === 'mappings') return mappingText(a[f] as TextSearchMapping[], b[f] as TextSearchMapping[]);
    if (f === 'operators' || f === 'functions') return `${f} differ`;
    if (f === 'table') return `table ${arrow(qualified(a[f] as Relation), qualified(b[f] as Relation))}`;
    return `${f} ${arrow(a[f], b[f])}`;
  }).join(', ');
  return [{ text: rules.why ? `${text}: ${rules.why}` : text, ...(rules.dataOnly ? { dataOnly: rules.dataOnly } : {}) }];
}

/**
 * One kind, paired by name. Only in the dump: created by replace, nothing for data-only (what needs it shows up
 * as its own change). Only in the target: dropped by a replace of its schema (a warning: it holds no rows).
 */
function diffKind<T extends { comment?: string; owner?: string }>(context: DiffContext, rules: KindRules<T>, from: T[], to: T[], out: SchemaChange[]): void {
  pair(from, to, rules.name, (name, a, b) => {
    const table = (a ?? b) && rules.table ? { table: rules.table((a ?? b)!) } : {};
    if (a && !b) {
      out.push({ objectType: rules.objectType, name, kind: 'removed', before: a, ...table, detail: 'only in the dump', severity: { replace: 'info', 'data-only': 'ok' } });
    } else if (b && !a) {
      const dropped = rules.schemas(b).filter((s) => context.dumpedSchemas.has(s));
      out.push({
        objectType: rules.objectType, name, kind: 'added', after: b, ...table,
        detail: dropped.length > 0 ? `only in the target: replace drops it (with ${dropped.join(', ')})` : 'only in the target, outside the dumped schemas: replace leaves it',
        severity: { replace: dropped.length > 0 ? 'warning' : 'info', 'data-only': 'ok' },
      });
    } else if (a && b) {
      const change = changed(rules.objectType, name, a, b, [...fieldAspects(rules, a, b), ...commonAspects(context, a, b)], rules.table?.(b));
      if (change) out.push(change);
    }
  });
}

const own = (o: { schema: string }) => [o.schema];

/**
 * Collations, text search objects, casts, operators, operator families and classes, conversions and extended
 * statistics: presence and definition, comments, and owners when asked.
 */
export function diffCatalogObjects(context: DiffContext, fromModel: SchemaModel, toModel: SchemaModel, out: SchemaChange[]): void {
  const from = catalogObjects(fromModel);
  const to = catalogObjects(toModel);
  diffKind(context, {
    objectType: 'collation', name: qualified, schemas: own, fields: ['provider', 'deterministic', 'locale', 'lcCollate', 'lcCtype', 'rules'],
    dataOnly: 'warning', why: 'comparisons, sorting and unique indexes under it may differ',
  }, from.collations, to.collations, out);
  diffKind(context, { objectType: 'text search parser', name: qualified, schemas: own, fields: ['start', 'getToken', 'end', 'headline', 'lexTypes'] },
    from.textSearchParsers, to.textSearchParsers, out);
  diffKind(context, { objectType: 'text search template', name: qualified, schemas: own, fields: ['init', 'lexize'] },
    from.textSearchTemplates, to.textSearchTemplates, out);
  diffKind(context, { objectType: 'text search dictionary', name: qualified, schemas: own, fields: ['template', 'options'] },
    from.textSearchDictionaries, to.textSearchDictionaries, out);
  diffKind(context, { objectType: 'text search configuration', name: qualified, schemas: own, fields: ['parser', 'mappings'] },
    from.textSearchConfigurations, to.textSearchConfigurations, out);
  diffKind(context, { objectType: 'cast', name: (c) => `(${c.source} AS ${c.target})`, schemas: (c) => c.schemas, fields: ['method', 'function', 'context'] },
    from.casts, to.casts, out);
  diffKind(context, {
    objectType: 'operator', name: (o) => `${o.schema}.${o.name}(${operatorArguments(o)})`, schemas: own,
    fields: ['function', 'commutator', 'negator', 'restrict', 'join', 'merges', 'hashes'],
  }, from.operators, to.operators, out);
  diffKind(context, { objectType: 'operator family', name: (o) => `${o.schema}.${o.name} USING ${o.method}`, schemas: own, fields: ['operators', 'functions'] },
    from.operatorFamilies, to.operatorFamilies, out);
  diffKind(context, {
    objectType: 'operator class', name: (o) => `${o.schema}.${o.name} USING ${o.method}`, schemas: own,
    fields: ['type', 'default', 'family', 'storage', 'operators', 'functions'],
    dataOnly: 'warning', why: 'an index built with it may order or reject rows differently',
  }, from.operatorClasses, to.operatorClasses, out);
  diffKind(context, { objectType: 'conversion', name: qualified, schemas: own, fields: ['from', 'to', 'function', 'default'] },
    from.conversions, to.conversions, out);
  diffKind(context, {
    objectType: 'statistics', name: qualified, schemas: (s) => [s.schema, s.table.schema], fields: ['table', 'definition', 'target'],
    table: (s) => qualified(s.table),
  }, from.statistics, to.statistics, out);
}
