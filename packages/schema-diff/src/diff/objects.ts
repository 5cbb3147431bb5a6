import type { Routine, SchemaModel, SequenceInfo, View } from '../model.js';
import type { Aspect, SchemaChange, SchemaObjectType } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import type { DiffContext } from './context.js';
import { commonAspects, lostOnReplace, onlyInTargetText } from './context.js';
import { diffIndexes, diffRules, diffTriggers } from './tables.js';
import { formatTypeName } from './type-fit.js';
import { diffNamed } from './types.js';

/** Schemas: replace drops and recreates the dumped ones and leaves the others, so no schema is ever lost as such. */
export function diffSchemaList(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  pair(from.schemas, to.schemas, (s) => s.name, (name, a, b) => {
    if (a && !b) out.push({ objectType: 'schema', name, kind: 'removed', before: a, detail: 'only in the dump', severity: { replace: 'info', 'data-only': 'ok' } });
    else if (b && !a) out.push({ objectType: 'schema', name, kind: 'added', after: b, detail: 'only in the target: replace leaves it', severity: { replace: 'info', 'data-only': 'ok' } });
    else if (a && b) {
      const change = changed('schema', name, a, b, commonAspects(context, a, b));
      if (change) out.push(change);
    }
  });
}

/** Extensions the dump has and the target lacks are listed by the verdict for both modes. */
export function diffExtensions(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  pair(from.extensions, to.extensions, (x) => x.name, (name, a, b) => {
    if (a && !b) {
      out.push({
        objectType: 'extension', name, kind: 'removed', before: a,
        detail: 'not installed on the target: replace needs it available on the server; data-only loads into what the target has',
        severity: { replace: 'warning', 'data-only': 'warning' },
      });
    } else if (b && !a) {
      // DROP SCHEMA … CASCADE takes the extension with it when it lives in a dumped schema
      out.push({
        objectType: 'extension', name, kind: 'added', after: b,
        detail: context.dumpedSchemas.has(b.schema) ? `only in the target, in dumped schema ${b.schema}: replace drops it` : 'only in the target',
        severity: { replace: lostOnReplace(context, b.schema, false), 'data-only': 'ok' },
      });
    } else if (a && b) {
      const aspects: Aspect[] = [];
      if (a.version !== b.version) aspects.push({ text: `version ${arrow(a.version, b.version)}` });
      if (a.schema !== b.schema) aspects.push({ text: `schema ${arrow(a.schema, b.schema)}` });
      const change = changed('extension', name, a, b, aspects);
      // an extension exists once per database: replace cannot create it where the dump has it while it lives in
      // a schema the replace leaves alone
      if (change && a.schema !== b.schema && !context.dumpedSchemas.has(b.schema)) {
        change.refusesReplace = `extension ${name} is installed in schema ${b.schema} of the target, the dump has it in ${a.schema}: move it (ALTER EXTENSION ${name} SET SCHEMA ${a.schema}) or drop it first`;
      }
      if (change) out.push(change);
    }
  });
}

function sequenceAspects(a: SequenceInfo, b: SequenceInfo): Aspect[] {
  const aspects: Aspect[] = [];
  const fields = ['dataType', 'start', 'increment', 'minValue', 'maxValue', 'cache', 'cycle', 'persistence'] as const;
  const differing = fields.filter((f) => a[f] !== b[f]);
  if (differing.length > 0) {
    // setval outside the target's range fails; the dump's value lies somewhere in the dump's range
    const narrower = BigInt(b.minValue) > BigInt(a.minValue) || BigInt(b.maxValue) < BigInt(a.maxValue);
    aspects.push({
      text: `${differing.map((f) => `${f} ${arrow(a[f], b[f])}`).join(', ')}${narrower ? ': the target\'s range is narrower, setval may fail' : ''}`,
      ...(narrower ? { dataOnly: 'warning' as const } : {}),
    });
  }
  const owned = (s: SequenceInfo) => (s.ownedBy ? `${s.ownedBy.schema}.${s.ownedBy.table}.${s.ownedBy.column}` : undefined);
  if (owned(a) !== owned(b)) aspects.push({ text: `owned by ${arrow(owned(a), owned(b))}` });
  return aspects;
}

function viewAspects(a: View, b: View): Aspect[] {
  const aspects: Aspect[] = [];
  if (a.definition !== b.definition) aspects.push({ text: 'definition differs' });
  const columns = (v: View) => [...v.columns].sort((x, y) => x.position - y.position).map((c) => `${c.name} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`);
  if (!same(columns(a), columns(b))) aspects.push({ text: `columns (${columns(a).join(', ')}) → (${columns(b).join(', ')})` });
  if (!same([...a.reloptions].sort(), [...b.reloptions].sort())) aspects.push({ text: `options ${arrow(a.reloptions.join(', ') || undefined, b.reloptions.join(', ') || undefined)}` });
  if (a.populated !== b.populated) aspects.push({ text: `populated ${arrow(a.populated, b.populated)}` });
  const columnComments = (v: View) => v.columns.map((c) => [c.name, c.comment ?? null]);
  if (!same(columnComments(a), columnComments(b))) aspects.push({ text: 'column comments differ' });
  return aspects;
}

/** Views and materialized views (a view that became materialized is one removed and one added object). */
export function diffViews(context: DiffContext, from: View[], to: View[], out: SchemaChange[]): void {
  const key = (v: View) => `${v.schema}.${v.name}${v.materialized ? '' : ' (view)'}`;
  pair(from, to, key, (_key, a, b) => {
    const view = (a ?? b)!;
    const objectType: SchemaObjectType = view.materialized ? 'materialized view' : 'view';
    const name = `${view.schema}.${view.name}`;
    if (a && !b) {
      out.push({ objectType, name, kind: 'removed', before: a, table: name, detail: 'only in the dump', severity: { replace: 'info', 'data-only': 'ok' } });
      return;
    }
    if (b && !a) {
      out.push({
        objectType, name, kind: 'added', after: b, table: name, detail: onlyInTargetText(context, b.schema),
        severity: { replace: lostOnReplace(context, b.schema, false), 'data-only': 'ok' },
      });
      return;
    }
    if (!a || !b) return;
    const change = changed(objectType, name, a, b, [...viewAspects(a, b), ...commonAspects(context, a, b)], name);
    if (change) out.push(change);
    diffIndexes(context, b, a.indexes, b.indexes, out);
    diffTriggers(context, b, a.triggers, b.triggers, out);
    diffRules(context, b, a.rules, b.rules, out);
  });
}

const ROUTINE_TYPES: Record<Routine['kind'], SchemaObjectType> = { function: 'function', window: 'function', procedure: 'procedure', aggregate: 'aggregate' };

function routineAspects(a: Routine, b: Routine): Aspect[] {
  const aspects: Aspect[] = [];
  if (a.kind !== b.kind) aspects.push({ text: `kind ${arrow(a.kind, b.kind)}` });
  if (a.result !== b.result) aspects.push({ text: `result ${arrow(a.result, b.result)}` });
  if (a.arguments !== b.arguments) aspects.push({ text: `arguments ${arrow(a.arguments, b.arguments)}` });
  if (a.language !== b.language) aspects.push({ text: `language ${arrow(a.language, b.language)}` });
  if (a.bodyHash !== b.bodyHash) aspects.push({ text: 'body differs' });
  // the definition also carries volatility, strictness, SECURITY DEFINER, SET clauses, cost…
  if (aspects.length === 0 && a.definition !== b.definition) aspects.push({ text: 'attributes differ (volatility, security, settings…)' });
  return aspects;
}

/**
 * A range type's constructors (`floatrange(float8, float8[, text])`, its multirange's) come with CREATE TYPE;
 * the introspection lists them as routines, so they are left out here and the range type speaks for them.
 */
function withoutRangeConstructors(model: SchemaModel): Routine[] {
  const ranges = new Set<string>();
  for (const r of model.rangeTypes) {
    ranges.add(formatTypeName(r.schema, r.name));
    ranges.add(r.multirangeName);
  }
  if (ranges.size === 0) return model.routines;
  return model.routines.filter((r) => !(r.language === 'internal' && ranges.has(formatTypeName(r.schema, r.name))));
}

/** Functions, procedures and aggregates, identified by schema, name and argument types. */
export function diffRoutines(context: DiffContext, fromModel: SchemaModel, toModel: SchemaModel, out: SchemaChange[]): void {
  const from = withoutRangeConstructors(fromModel);
  const to = withoutRangeConstructors(toModel);
  pair(from, to, (r) => `${r.schema}.${r.name}(${r.identityArguments})`, (name, a, b) => {
    if (a && !b) {
      out.push({ objectType: ROUTINE_TYPES[a.kind], name, kind: 'removed', before: a, detail: 'only in the dump', severity: { replace: 'info', 'data-only': 'ok' } });
    } else if (b && !a) {
      out.push({
        objectType: ROUTINE_TYPES[b.kind], name, kind: 'added', after: b, detail: onlyInTargetText(context, b.schema),
        severity: { replace: lostOnReplace(context, b.schema, false), 'data-only': 'ok' },
      });
    } else if (a && b) {
      const change = changed(ROUTINE_TYPES[b.kind], name, a, b, [...routineAspects(a, b), ...commonAspects(context, a, b)]);
      if (change) out.push(change);
    }
  });
}

/** Sequences: data-only sets every dumped one with setval, so one missing on the target blocks it. */
export function diffSequences(context: DiffContext, from: SequenceInfo[], to: SequenceInfo[], out: SchemaChange[]): void {
  diffNamed(context, 'sequence', from, to, sequenceAspects, out, (a) => (context.targetSequences.has(`${a.schema}.${a.name}`)
    ? { dataOnly: 'ok', detail: 'only in the dump as a sequence of its own; the target has it as an identity sequence' }
    : { dataOnly: 'blocking', detail: 'only in the dump: data-only sets it with setval' }));
}
