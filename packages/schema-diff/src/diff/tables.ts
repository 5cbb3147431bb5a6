import type { IndexInfo, Policy, Rule, Table, TableConstraint, Trigger } from '../model.js';
import type { Aspect, DataOnlySeverity, SchemaChange, SchemaObjectType } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import { columnOrderAspect, diffColumns } from './columns.js';
import type { DiffContext } from './context.js';
import { commonAspects, lostOnReplace, onlyInTargetText } from './context.js';

/** The table or view a part belongs to. */
export interface Relation {
  schema: string;
  name: string;
}

const qualifiedName = (r: { schema: string; name: string } | undefined) => (r ? `${r.schema}.${r.name}` : undefined);

/** Tables, their columns and the parts that hang off them, table by table in name order. */
export function diffTables(context: DiffContext, from: Table[], to: Table[], out: SchemaChange[]): void {
  pair(from, to, (t) => `${t.schema}.${t.name}`, (name, a, b) => {
    if (a && !b) {
      out.push({
        objectType: 'table', name, kind: 'removed', before: a, table: name,
        detail: 'only in the dump: data-only has nowhere to load it', severity: { replace: 'info', 'data-only': 'blocking' },
      });
    } else if (b && !a) {
      out.push({
        objectType: 'table', name, kind: 'added', after: b, table: name,
        detail: onlyInTargetText(context, b.schema), severity: { replace: lostOnReplace(context, b.schema, true), 'data-only': 'ok' },
      });
    } else if (a && b) {
      diffTable(context, name, a, b, out);
    }
  });
}

function diffTable(context: DiffContext, name: string, a: Table, b: Table, out: SchemaChange[]): void {
  const aspects: Aspect[] = [];
  const fields: (keyof Table)[] = [];
  const note = (field: keyof Table, aspect: Aspect) => {
    fields.push(field);
    aspects.push(aspect);
  };
  if (a.kind !== b.kind) note('kind', { text: `kind ${arrow(a.kind, b.kind)}`, dataOnly: 'warning' });
  if (a.persistence !== b.persistence) note('persistence', { text: `persistence ${arrow(a.persistence, b.persistence)}` });
  if (qualifiedName(a.partitionOf) !== qualifiedName(b.partitionOf)) {
    note('partitionOf', { text: `partition of ${arrow(qualifiedName(a.partitionOf), qualifiedName(b.partitionOf))}`, dataOnly: 'warning' });
  }
  if (a.partitionBound !== b.partitionBound) {
    note('partitionBound', { text: `partition bound ${arrow(a.partitionBound, b.partitionBound)}: rows may fall outside`, dataOnly: 'warning' });
  }
  if (a.partitionKey !== b.partitionKey) {
    note('partitionKey', { text: `partition key ${arrow(a.partitionKey, b.partitionKey)}: rows may find no partition`, dataOnly: 'warning' });
  }
  if (a.ofType !== b.ofType) note('ofType', { text: `of type ${arrow(a.ofType, b.ofType)}` });
  if (!same(a.inherits, b.inherits)) note('inherits', { text: `inherits ${arrow(a.inherits.map(qualifiedName).join(', ') || undefined, b.inherits.map(qualifiedName).join(', ') || undefined)}` });
  if (a.replicaIdentity !== b.replicaIdentity) note('replicaIdentity', { text: `replica identity ${arrow(a.replicaIdentity, b.replicaIdentity)}` });
  if (!same([...a.reloptions].sort(), [...b.reloptions].sort())) note('reloptions', { text: `storage parameters ${arrow(a.reloptions.join(', ') || undefined, b.reloptions.join(', ') || undefined)}` });
  for (const aspect of commonAspects(context, a, b)) note(aspect.text.startsWith('comment') ? 'comment' : aspect.text.startsWith('owner') ? 'owner' : 'acl', aspect);
  // a partition's columns are its parent's, in whatever order it was attached
  const partition = a.partitionOf !== undefined && b.partitionOf !== undefined;
  const order = partition ? null : columnOrderAspect(a, b);
  if (order) note('columns', order);
  const pick = (t: Table) => Object.fromEntries(fields.map((f) => [f, f === 'columns' ? t.columns.map((c) => c.name) : t[f]]));
  const change = changed('table', name, pick(a), pick(b), aspects, name);
  if (change) out.push(change);

  if (!partition) diffColumns(context, a, b, out);
  diffConstraints(context, b, a.constraints, b.constraints, out);
  diffIndexes(context, b, a.indexes, b.indexes, out);
  diffTriggers(context, b, a.triggers, b.triggers, out);
  diffRules(context, b, a.rules, b.rules, out);
  diffPolicies(context, b, a.policies, b.policies, out);
  if (a.rlsEnabled !== b.rlsEnabled || a.rlsForced !== b.rlsForced) {
    const forcedOnTarget = b.rlsEnabled && b.rlsForced && !(a.rlsEnabled && a.rlsForced);
    out.push({
      objectType: 'rls', name, kind: 'changed', table: name,
      before: { enabled: a.rlsEnabled, forced: a.rlsForced }, after: { enabled: b.rlsEnabled, forced: b.rlsForced },
      detail: `row level security ${rlsText(a)} → ${rlsText(b)}${forcedOnTarget ? ': forced RLS applies to the owner too and COPY FROM refuses such tables' : ''}`,
      severity: { replace: 'info', 'data-only': forcedOnTarget ? 'warning' : 'ok' },
    });
  }
}

function rlsText(t: Table): string {
  return t.rlsEnabled ? (t.rlsForced ? 'enabled, forced' : 'enabled') : t.rlsForced ? 'disabled (forced flag set)' : 'disabled';
}

interface PartRules<T> {
  objectType: SchemaObjectType;
  /** Data-only severity of the target's version (only in the target, or different from the dump's). */
  targetRisk: (part: T) => DataOnlySeverity;
  risk: string;
  aspects: (a: T, b: T) => Aspect[];
}

/** Parts of a relation (constraints, indexes, triggers, rules, policies) paired by name within it. */
export function diffParts<T extends { name: string }>(context: DiffContext, rel: Relation, from: T[], to: T[], rules: PartRules<T>, out: SchemaChange[]): void {
  const relation = `${rel.schema}.${rel.name}`;
  const schema = rel.schema;
  pair(from, to, (p) => p.name, (name, a, b) => {
    const qualified = `${relation}.${name}`;
    if (a && !b) {
      out.push({ objectType: rules.objectType, name: qualified, kind: 'removed', before: a, table: relation, detail: 'only in the dump', severity: { replace: 'info', 'data-only': 'ok' } });
    } else if (b && !a) {
      const risk = rules.targetRisk(b);
      out.push({
        objectType: rules.objectType, name: qualified, kind: 'added', after: b, table: relation,
        detail: `${onlyInTargetText(context, schema)}${risk === 'ok' ? '' : `; ${rules.risk}`}`,
        severity: { replace: lostOnReplace(context, schema, false), 'data-only': risk },
      });
    } else if (a && b) {
      const aspects = [...rules.aspects(a, b), ...commonAspects(context, a, b)];
      const change = changed(rules.objectType, qualified, a, b, aspects, relation);
      if (change) out.push(change);
    }
  });
}

const REJECTING: ReadonlySet<string> = new Set(['primary key', 'unique', 'check', 'foreign key', 'exclusion']);

function diffConstraints(context: DiffContext, rel: Relation, from: TableConstraint[], to: TableConstraint[], out: SchemaChange[]): void {
  // clones and inherited copies come with their parent's constraint, reported there
  const own = (list: TableConstraint[]) => list.filter((c) => !c.cloned && c.isLocal);
  diffParts(context, rel, own(from), own(to), {
    objectType: 'constraint',
    targetRisk: (c) => (REJECTING.has(c.type) ? 'warning' : 'ok'),
    risk: 'the target\'s constraint may reject rows of the dump',
    aspects: (a, b) => {
      const aspects: Aspect[] = [];
      if (a.definition !== b.definition) {
        aspects.push({ text: `definition ${arrow(a.definition, b.definition)}`, dataOnly: REJECTING.has(b.type) ? 'warning' : 'ok' });
      }
      if (a.validated !== b.validated) aspects.push({ text: `validated ${arrow(a.validated, b.validated)}` });
      return aspects;
    },
  }, out);
}

const isUnique = (i: IndexInfo) => /^CREATE UNIQUE INDEX/i.test(i.definition);

export function diffIndexes(context: DiffContext, rel: Relation, from: IndexInfo[], to: IndexInfo[], out: SchemaChange[]): void {
  // indexes behind constraints are reported as the constraint; a partition's come with the parent's index
  const own = (list: IndexInfo[]) => list.filter((i) => i.constraint === undefined && i.parentIndex === undefined);
  diffParts(context, rel, own(from), own(to), {
    objectType: 'index',
    targetRisk: (i) => (isUnique(i) ? 'warning' : 'ok'),
    risk: 'a unique index may reject rows of the dump',
    aspects: (a, b) => {
      const aspects: Aspect[] = [];
      if (a.definition !== b.definition) aspects.push({ text: `definition ${arrow(a.definition, b.definition)}`, dataOnly: isUnique(b) ? 'warning' : 'ok' });
      if (a.clustered !== b.clustered) aspects.push({ text: `clustered ${arrow(a.clustered, b.clustered)}` });
      if (a.replicaIdentity !== b.replicaIdentity) aspects.push({ text: `replica identity ${arrow(a.replicaIdentity, b.replicaIdentity)}` });
      return aspects;
    },
  }, out);
}

// data-only disables the target's user triggers while loading, and COPY never fires rules
export function diffTriggers(context: DiffContext, rel: Relation, from: Trigger[], to: Trigger[], out: SchemaChange[]): void {
  diffParts(context, rel, from, to, {
    objectType: 'trigger', targetRisk: () => 'ok', risk: '',
    aspects: (a, b) => {
      const aspects: Aspect[] = [];
      if (a.definition !== b.definition) aspects.push({ text: `definition ${arrow(a.definition, b.definition)}` });
      if (a.enabled !== b.enabled) aspects.push({ text: `enabled ${arrow(a.enabled, b.enabled)}` });
      return aspects;
    },
  }, out);
}

export function diffRules(context: DiffContext, rel: Relation, from: Rule[], to: Rule[], out: SchemaChange[]): void {
  diffParts(context, rel, from, to, {
    objectType: 'rule', targetRisk: () => 'ok', risk: '',
    aspects: (a, b) => (a.definition !== b.definition ? [{ text: `definition ${arrow(a.definition, b.definition)}` }] : []),
  }, out);
}

function diffPolicies(context: DiffContext, rel: Relation, from: Policy[], to: Policy[], out: SchemaChange[]): void {
  diffParts(context, rel, from, to, {
    objectType: 'policy', targetRisk: () => 'ok', risk: '',
    aspects: (a, b) => {
      const aspects: Aspect[] = [];
      if (a.permissive !== b.permissive) aspects.push({ text: a.permissive ? 'permissive → restrictive' : 'restrictive → permissive' });
      if (a.command !== b.command) aspects.push({ text: `command ${arrow(a.command, b.command)}` });
      if (!same(a.roles, b.roles)) aspects.push({ text: `roles ${arrow(a.roles.join(', '), b.roles.join(', '))}` });
      if (a.using !== b.using) aspects.push({ text: `USING ${arrow(a.using, b.using)}` });
      if (a.withCheck !== b.withCheck) aspects.push({ text: `WITH CHECK ${arrow(a.withCheck, b.withCheck)}` });
      return aspects;
    },
  }, out);
}
