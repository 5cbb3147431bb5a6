import type { Column, Table } from '../model.js';
import type { Aspect, DataOnlySeverity, SchemaChange } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import type { DiffContext } from './context.js';
import { commonAspects } from './context.js';
import { typeFit } from './type-fit.js';

/** A column the dump does not fill still loads when it may be NULL or the server computes it. */
function fillsItself(c: Column): boolean {
  return !c.notNull || c.default !== undefined || c.identity !== undefined || c.generated !== undefined;
}

/** Columns of a table present on both sides, compared by name (never by position). */
export function diffColumns(context: DiffContext, from: Table, to: Table, out: SchemaChange[]): void {
  const table = `${from.schema}.${from.name}`;
  pair(from.columns, to.columns, (c) => c.name, (name, a, b) => {
    // columns a child only inherits are reported once, on the parent
    if (a && b && !a.isLocal && !b.isLocal) return;
    const qualified = `${table}.${name}`;
    if (a && !b) {
      // generated columns are left out of COPY: nothing to load
      const dataOnly: DataOnlySeverity = a.generated !== undefined ? 'ok' : 'blocking';
      out.push({
        objectType: 'column', name: qualified, kind: 'removed', before: a, table,
        detail: dataOnly === 'ok' ? 'only in the dump (generated: not loaded)' : 'only in the dump: the target has no column to load it into',
        severity: { replace: 'info', 'data-only': dataOnly },
      });
    } else if (b && !a) {
      const dataOnly: DataOnlySeverity = fillsItself(b) ? 'ok' : 'blocking';
      out.push({
        objectType: 'column', name: qualified, kind: 'added', after: b, table,
        detail: `only in the target: replace drops it${dataOnly === 'blocking' ? ', data-only cannot fill it (NOT NULL without a default)' : ''}`,
        severity: { replace: 'destructive', 'data-only': dataOnly },
      });
    } else if (a && b) {
      const change = changed('column', qualified, a, b, columnAspects(context, a, b), table);
      if (change) out.push(change);
    }
  });
}

function columnAspects(context: DiffContext, a: Column, b: Column): Aspect[] {
  const aspects: Aspect[] = [];
  if (a.type !== b.type) {
    const fit = typeFit(a.type, b.type, context.dumpTypes, context.targetTypes);
    if (fit === 'wider') aspects.push({ text: `type ${a.type} → ${b.type} (wider: holds every value)` });
    else if (fit === 'constrained') aspects.push({ text: `type ${a.type} → ${b.type} (a domain whose constraints may reject rows)`, dataOnly: 'warning' });
    else aspects.push({ text: `type ${a.type} → ${b.type} (not safely wider: values may be refused or changed)`, dataOnly: 'blocking' });
  }
  if (a.notNull !== b.notNull) {
    aspects.push(b.notNull
      ? { text: 'NOT NULL only in the target: rows with NULL would be rejected', dataOnly: 'warning' }
      : { text: 'NOT NULL only in the dump' });
  }
  if ((a.default ?? null) !== (b.default ?? null)) aspects.push({ text: `default ${arrow(a.default, b.default)}` });
  if (a.identity !== b.identity) aspects.push({ text: `identity ${arrow(a.identity, b.identity)}` });
  if (a.identitySequence) {
    const seq = `${a.identitySequence.sequenceSchema}.${a.identitySequence.sequenceName}`;
    if (!context.targetSequences.has(seq)) {
      aspects.push({ text: `identity sequence ${seq} is missing on the target (data-only sets it)`, dataOnly: 'blocking' });
    } else if (b.identitySequence) {
      // its privileges count only when privileges are compared
      const privileges = context.options.ownership || context.options.privileges;
      const options = ({ acl: _acl, ...rest }: NonNullable<Column['identitySequence']>) => rest;
      if (!same(options(a.identitySequence), options(b.identitySequence))) aspects.push({ text: 'identity sequence options differ' });
      if (privileges && !same(a.identitySequence.acl ?? null, b.identitySequence.acl ?? null)) {
        aspects.push({ text: `identity sequence privileges ${arrow(a.identitySequence.acl, b.identitySequence.acl)}` });
      }
    }
  } else if (b.identitySequence) {
    aspects.push({ text: 'identity sequence only in the target' });
  }
  if (a.generated !== b.generated) {
    if (b.generated !== undefined && a.generated === undefined) {
      aspects.push({ text: 'generated only in the target: COPY cannot load a generated column', dataOnly: 'blocking' });
    } else if (a.generated !== undefined && b.generated === undefined) {
      aspects.push({ text: 'generated only in the dump: not loaded', dataOnly: fillsItself(b) ? 'ok' : 'blocking' });
    } else {
      aspects.push({ text: `generation expression ${arrow(a.generated, b.generated)}` });
    }
  }
  if (a.collation !== b.collation) aspects.push({ text: `collation ${arrow(a.collation, b.collation)}` });
  if (a.statistics !== b.statistics) aspects.push({ text: `statistics target ${arrow(a.statistics, b.statistics)}` });
  if (a.storage !== b.storage) aspects.push({ text: `storage ${arrow(a.storage, b.storage)}` });
  if (a.compression !== b.compression) aspects.push({ text: `compression ${arrow(a.compression, b.compression)}` });
  if (!same([...a.options ?? []].sort(), [...b.options ?? []].sort())) aspects.push({ text: `options ${arrow(a.options?.join(', '), b.options?.join(', '))}` });
  aspects.push(...commonAspects(context, a, b));
  return aspects;
}

/** Names of the common columns, in each side's order, when that order differs (informational only). */
export function columnOrderAspect(from: Table, to: Table): Aspect | null {
  const inTarget = new Set(to.columns.map((c) => c.name));
  const inDump = new Set(from.columns.map((c) => c.name));
  const byPosition = (cols: Column[], keep: Set<string>) => [...cols].sort((x, y) => x.position - y.position).map((c) => c.name).filter((n) => keep.has(n));
  const a = byPosition(from.columns, inTarget);
  const b = byPosition(to.columns, inDump);
  if (same(a, b)) return null;
  return { text: `column order ${a.join(', ')} → ${b.join(', ')} (data loads by column name)` };
}
