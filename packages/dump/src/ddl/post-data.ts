import type { DomainType, IndexInfo, Policy, Table, Trigger, View } from '@mbsync/schema-diff';
import { isInlineCheck } from './pre-data.js';
import { qualify, quoteIdent } from './quote.js';

/** Post-data statements grouped by phase; the renderer concatenates the phases in this order. */
export interface PostDataPhases {
  constraints: string[];
  indexes: string[];
  attachments: string[];
  foreignKeys: string[];
  triggers: string[];
  security: string[];
}

function ensureSemicolon(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.endsWith(';') ? trimmed : `${trimmed};`;
}

/** NOT VALID domain checks (added after the data so existing rows are not re-checked, as pg_dump does). */
export function renderDomainPostData(d: DomainType): string[] {
  return d.constraints.filter((c) => !c.validated)
    .map((c) => `ALTER DOMAIN ${qualify(d.schema, d.name)}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`);
}

function renderIndexes(schema: string, indexes: IndexInfo[], phases: PostDataPhases, relation: string, built?: ReadonlySet<string>): void {
  for (const i of indexes) {
    if (!i.constraint && !built?.has(i.name)) phases.indexes.push(ensureSemicolon(i.definition));
    // a partition's index is created on its own, then attached to the partitioned table's index
    if (i.parentIndex) phases.attachments.push(`ALTER INDEX ${qualify(i.parentIndex.schema, i.parentIndex.name)} ATTACH PARTITION ${qualify(schema, i.name)};`);
    if (i.clustered) phases.attachments.push(`ALTER TABLE ${relation} CLUSTER ON ${quoteIdent(i.name)};`);
    if (i.replicaIdentity) phases.attachments.push(`ALTER TABLE ONLY ${relation} REPLICA IDENTITY USING INDEX ${quoteIdent(i.name)};`);
  }
}

const TRIGGER_STATE: Record<Trigger['enabled'], string | null> = { O: null, D: 'DISABLE TRIGGER', R: 'ENABLE REPLICA TRIGGER', A: 'ENABLE ALWAYS TRIGGER' };

function renderTriggers(relation: string, triggers: Trigger[], phases: PostDataPhases): void {
  for (const t of triggers) {
    phases.triggers.push(ensureSemicolon(t.definition));
    const state = TRIGGER_STATE[t.enabled];
    if (state) phases.triggers.push(`ALTER TABLE ${relation} ${state} ${quoteIdent(t.name)};`);
  }
}

export function renderPolicy(relation: string, p: Policy): string {
  const roles = p.roles.map((r) => (r === 'PUBLIC' ? 'PUBLIC' : quoteIdent(r))).join(', ');
  let text = `CREATE POLICY ${quoteIdent(p.name)} ON ${relation}`;
  if (!p.permissive) text += ' AS RESTRICTIVE';
  if (p.command !== 'ALL') text += ` FOR ${p.command}`;
  if (roles !== 'PUBLIC') text += ` TO ${roles}`;
  if (p.using !== undefined) text += ` USING (${p.using})`;
  if (p.withCheck !== undefined) text += ` WITH CHECK (${p.withCheck})`;
  return `${text};`;
}

/**
 * Everything of a table that comes after its data: keys, indexes, FKs, triggers, rules, RLS and policies.
 * `built` names the constraints and indexes that already exist (a staged table): they are left out.
 */
export function renderTablePostData(t: Table, phases: PostDataPhases, built?: { builtConstraints: ReadonlySet<string>; builtIndexes: ReadonlySet<string> }): void {
  const name = qualify(t.schema, t.name);
  for (const c of t.constraints) {
    if (c.cloned || built?.builtConstraints.has(c.name)) continue;
    if (c.type === 'primary key' || c.type === 'unique' || c.type === 'exclusion') {
      phases.constraints.push(`ALTER TABLE ONLY ${name}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`);
    } else if (c.type === 'check' && c.isLocal && !isInlineCheck(t, c)) {
      // without ONLY: a partitioned table's check must reach its partitions, whose copies are not local
      phases.constraints.push(`ALTER TABLE ${name}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`);
    } else if (c.type === 'foreign key') {
      // ONLY is refused for a partitioned table's foreign key: it is cloned to every partition
      const only = t.kind === 'partitioned' ? '' : 'ONLY ';
      phases.foreignKeys.push(`ALTER TABLE ${only}${name}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`);
    }
  }
  renderIndexes(t.schema, t.indexes, phases, name, built?.builtIndexes);
  renderTriggers(name, t.triggers, phases);
  for (const r of t.rules) phases.triggers.push(ensureSemicolon(r.definition));
  if (t.rlsEnabled) phases.security.push(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY;`);
  if (t.rlsForced) phases.security.push(`ALTER TABLE ONLY ${name} FORCE ROW LEVEL SECURITY;`);
  for (const p of t.policies) phases.security.push(renderPolicy(name, p));
}

/** Indexes (materialized views), triggers and rules of a view. */
export function renderViewPostData(v: View, phases: PostDataPhases): void {
  const name = qualify(v.schema, v.name);
  renderIndexes(v.schema, v.indexes, phases, name);
  renderTriggers(name, v.triggers, phases);
  for (const r of v.rules) phases.triggers.push(ensureSemicolon(r.definition));
}
