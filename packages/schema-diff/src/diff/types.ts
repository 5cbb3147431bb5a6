import type { CompositeType, DomainType, EnumType, RangeType, SchemaModel } from '../model.js';
import type { Aspect, DataOnlySeverity, SchemaChange, SchemaObjectType } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import type { DiffContext } from './context.js';
import { commonAspects, isTypeUsed, lostOnReplace, onlyInTargetText } from './context.js';
import { typeFit } from './type-fit.js';

type Named = { schema: string; name: string; comment?: string | null; owner: string; acl: string[] | null };

/**
 * Objects identified by schema and name. Only in the dump: created by replace, nothing for data-only (a column
 * that needs it shows up as a column change). Only in the target: lost if replace drops its schema.
 */
export function diffNamed<T extends Named>(context: DiffContext, objectType: SchemaObjectType, from: T[], to: T[],
  aspects: (a: T, b: T) => Aspect[], out: SchemaChange[], removed?: (a: T) => { dataOnly: DataOnlySeverity; detail: string }): void {
  pair(from, to, (o) => `${o.schema}.${o.name}`, (name, a, b) => {
    if (a && !b) {
      const verdict = removed?.(a) ?? { dataOnly: 'ok', detail: 'only in the dump' };
      out.push({ objectType, name, kind: 'removed', before: a, detail: verdict.detail, severity: { replace: 'info', 'data-only': verdict.dataOnly } });
    } else if (b && !a) {
      out.push({
        objectType, name, kind: 'added', after: b, detail: onlyInTargetText(context, b.schema),
        severity: { replace: lostOnReplace(context, b.schema, false), 'data-only': 'ok' },
      });
    } else if (a && b) {
      const change = changed(objectType, name, a, b, [...aspects(a, b), ...commonAspects(context, a, b)]);
      if (change) out.push(change);
    }
  });
}

/** A difference that breaks loading only matters when the dump's tables use the type. */
function breaks(context: DiffContext, t: { schema: string; name: string }): DataOnlySeverity {
  return isTypeUsed(context, t.schema, t.name) ? 'blocking' : 'warning';
}

function enumAspects(context: DiffContext, a: EnumType, b: EnumType): Aspect[] {
  const aspects: Aspect[] = [];
  const inTarget = new Set(b.labels);
  const inDump = new Set(a.labels);
  const missing = a.labels.filter((l) => !inTarget.has(l));
  const extra = b.labels.filter((l) => !inDump.has(l));
  if (missing.length > 0) aspects.push({ text: `labels missing on the target: ${missing.join(', ')}`, dataOnly: breaks(context, a) });
  if (extra.length > 0) aspects.push({ text: `labels only on the target: ${extra.join(', ')}` });
  const common = (labels: string[], keep: Set<string>) => labels.filter((l) => keep.has(l));
  if (!same(common(a.labels, inTarget), common(b.labels, inDump))) aspects.push({ text: `label order ${a.labels.join(', ')} → ${b.labels.join(', ')}` });
  return aspects;
}

function domainAspects(context: DiffContext, a: DomainType, b: DomainType): Aspect[] {
  const aspects: Aspect[] = [];
  if (a.baseType !== b.baseType) {
    const fit = typeFit(a.baseType, b.baseType, context.dumpTypes, context.targetTypes);
    aspects.push(fit === 'incompatible'
      ? { text: `base type ${a.baseType} → ${b.baseType} (not safely wider)`, dataOnly: breaks(context, a) }
      : { text: `base type ${a.baseType} → ${b.baseType} (wider)`, ...(fit === 'constrained' ? { dataOnly: 'warning' as const } : {}) });
  }
  if (a.notNull !== b.notNull) {
    aspects.push(b.notNull ? { text: 'NOT NULL only in the target: rows with NULL would be rejected', dataOnly: 'warning' } : { text: 'NOT NULL only in the dump' });
  }
  if ((a.default ?? null) !== (b.default ?? null)) aspects.push({ text: `default ${arrow(a.default, b.default)}` });
  if (a.collation !== b.collation) aspects.push({ text: `collation ${arrow(a.collation, b.collation)}` });
  pair(a.constraints, b.constraints, (c) => c.name, (name, x, y) => {
    if (x && !y) aspects.push({ text: `constraint ${name} only in the dump` });
    else if (y && !x) aspects.push({ text: `constraint ${name} only in the target: ${y.definition} may reject rows`, dataOnly: 'warning' });
    else if (x && y && x.definition !== y.definition) aspects.push({ text: `constraint ${name} ${arrow(x.definition, y.definition)}`, dataOnly: 'warning' });
    else if (x && y && x.validated !== y.validated) aspects.push({ text: `constraint ${name} validated ${arrow(x.validated, y.validated)}` });
  });
  return aspects;
}

// a composite value's COPY text is a row literal read by attribute position, not by name
function compositeAspects(context: DiffContext, a: CompositeType, b: CompositeType): Aspect[] {
  const aspects: Aspect[] = [];
  const order = (t: CompositeType) => [...t.attributes].sort((x, y) => x.position - y.position);
  const x = order(a);
  const y = order(b);
  const describe = (t: typeof x) => t.map((att) => `${att.name} ${att.type}`).join(', ');
  if (x.length !== y.length) {
    aspects.push({ text: `attributes (${describe(x)}) → (${describe(y)}): a different number of fields`, dataOnly: breaks(context, a) });
    return aspects;
  }
  let worst: DataOnlySeverity = 'ok';
  let differs = false;
  for (const [i, att] of x.entries()) {
    const other = y[i]!;
    if (att.name !== other.name || att.type !== other.type || att.collation !== other.collation || (att.comment ?? null) !== (other.comment ?? null)) differs = true;
    const fit = typeFit(att.type, other.type, context.dumpTypes, context.targetTypes);
    if (fit === 'incompatible') worst = breaks(context, a);
    else if (fit === 'constrained' && worst === 'ok') worst = 'warning';
  }
  if (differs) aspects.push({ text: `attributes (${describe(x)}) → (${describe(y)})`, dataOnly: worst });
  return aspects;
}

function rangeAspects(context: DiffContext, a: RangeType, b: RangeType): Aspect[] {
  const aspects: Aspect[] = [];
  if (a.subtype !== b.subtype) {
    const fit = typeFit(a.subtype, b.subtype, context.dumpTypes, context.targetTypes);
    aspects.push({ text: `subtype ${arrow(a.subtype, b.subtype)}`, dataOnly: fit === 'incompatible' ? breaks(context, a) : fit === 'constrained' ? 'warning' : 'ok' });
  }
  for (const field of ['subtypeOpclass', 'collation', 'canonical', 'subtypeDiff', 'multirangeName'] as const) {
    if (a[field] !== b[field]) aspects.push({ text: `${field} ${arrow(a[field], b[field])}` });
  }
  return aspects;
}

/** Enums, domains, composite and range types. */
export function diffTypes(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  diffNamed(context, 'enum', from.enums, to.enums, (a, b) => enumAspects(context, a, b), out);
  diffNamed(context, 'domain', from.domains, to.domains, (a, b) => domainAspects(context, a, b), out);
  diffNamed(context, 'composite', from.compositeTypes, to.compositeTypes, (a, b) => compositeAspects(context, a, b), out);
  diffNamed(context, 'range', from.rangeTypes, to.rangeTypes, (a, b) => rangeAspects(context, a, b), out);
}
