import type postgres from 'postgres';
import type { SchemaChange } from './diff/change.js';
import { compareText } from './diff/change.js';
import type { DependentFate } from './introspect/dependents.js';
import type { UncopiedObject } from './introspect/uncopied.js';
import type { MissingRole } from './roles.js';

/** What one import mode may do with the target. */
export interface ModeVerdict {
  /** False when the import cannot succeed (data-only only: replace rebuilds the schema, so it is always possible). */
  allowed: boolean;
  /** True when the import would destroy rows the target holds (or may hold): the operator must confirm. */
  needsConfirmation: boolean;
  /** Why it is refused or needs confirmation, one line per object. */
  reasons: string[];
  /** What may still go wrong or be lost without blocking: constraints that may reject rows, objects replace drops… */
  warnings: string[];
}

export interface Verdict {
  replace: ModeVerdict;
  'data-only': ModeVerdict;
  /** Extensions the dump has and the target lacks (both modes: replace must be able to create them). */
  missingExtensions: string[];
  /** Objects outside the replaced schemas that a replace drops with them: recreated after it, or lost. */
  dependents: { object: string; kind: string; recreated: boolean; reason?: string }[];
  /** Roles the copy needs that the target lacks (created by the import with --create-roles). */
  missingRoles: MissingRole[];
}

export interface JudgeContext {
  /** Rows per `schema.table` of the target (see `countTargetRows`); a table left out counts as possibly holding rows. */
  targetRowCounts?: Record<string, number>;
  /** The target's objects outside the replaced schemas that depend on them (readDependents + predictDependents). */
  dependents?: DependentFate[];
  /** Objects of the target's replaced schemas the model cannot carry (readUncopied): the replace drops them. */
  uncopied?: UncopiedObject[];
  /** Roles the copy needs that the target lacks; `created`: the import creates them. */
  missingRoles?: { roles: MissingRole[]; created: boolean };
  /** The dump has event triggers and the importing role is not a superuser (only superusers create them). */
  eventTriggersNeedSuperuser?: boolean;
  /** Event triggers whose owner is not a superuser in the target (an event trigger's owner must be one). */
  eventTriggerOwners?: string[];
  /** The dump's extensions the target cannot install, each described with what uses it (both modes refuse). */
  extensions?: string[];
}

function describe(change: SchemaChange): string {
  return `${change.objectType} ${change.name}: ${change.detail ?? change.kind}`;
}

function rows(n: number): string {
  return `${n} row${n === 1 ? '' : 's'}`;
}

/**
 * Decides per import mode from the diff of the dump (`from`) against the target (`to`).
 *
 * - data-only: refused by any `blocking` change (a dumped table, column or sequence the target lacks, a type that
 *   is not safely wider, a NOT NULL target column the dump cannot fill, enum labels the target lacks…);
 *   `warning` changes (target constraints, unique indexes, stricter NOT NULL or domains that may reject rows)
 *   are listed but allowed. Never needs confirmation: replacing the dumped tables' rows is what it is for.
 * - replace: always allowed; needs confirmation when a `destructive` change (a table, or a column, that only
 *   the target has, in a schema replace drops) concerns a table with rows — or with an unknown row count.
 */
export function judgeImport(changes: SchemaChange[], context: JudgeContext = {}): Verdict {
  const replace: ModeVerdict = { allowed: true, needsConfirmation: false, reasons: [], warnings: [] };
  const dataOnly: ModeVerdict = { allowed: true, needsConfirmation: false, reasons: [], warnings: [] };
  const missingExtensions: string[] = [];
  for (const change of changes) {
    if (change.objectType === 'extension' && change.kind === 'removed') missingExtensions.push(change.name);
    const severity = change.severity['data-only'];
    if (severity === 'blocking') {
      dataOnly.allowed = false;
      dataOnly.reasons.push(describe(change));
    } else if (severity === 'warning') {
      dataOnly.warnings.push(describe(change));
    }
    if (change.severity.replace === 'destructive') {
      const table = change.table ?? change.name;
      const count = context.targetRowCounts?.[table];
      if (count === undefined || count > 0) {
        replace.needsConfirmation = true;
        const holding = change.objectType === 'table' ? '' : ` of ${table}`;
        replace.reasons.push(`${describe(change)} (${count === undefined ? `row count${holding} unknown` : `${rows(count)}${holding}`})`);
      } else {
        replace.warnings.push(`${describe(change)} (empty)`);
      }
    } else if (change.severity.replace === 'warning') {
      replace.warnings.push(describe(change));
    }
    if (change.refusesReplace) {
      replace.allowed = false;
      replace.reasons.push(change.refusesReplace);
    }
  }
  const dependents: Verdict['dependents'] = [];
  for (const fate of context.dependents ?? []) {
    const d = fate.dependent;
    dependents.push({ object: d.description, kind: d.kind, recreated: fate.recreated, ...(fate.reason ? { reason: fate.reason } : {}) });
    if (fate.recreated) {
      replace.warnings.push(`${d.description} (outside the replaced schemas) depends on them: recreated after the replace`);
      continue;
    }
    // losing a restrictive policy widens access; losing a column or table loses rows: never without confirmation
    replace.needsConfirmation = true;
    const restrictive = d.kind === 'policy' && d.policy?.permissive === false ? '; it is a RESTRICTIVE policy: dropping it widens access' : '';
    replace.reasons.push(`${d.description} (outside the replaced schemas) would be dropped: ${fate.reason ?? 'it cannot be recreated'}${restrictive}`);
  }
  const missing = context.missingRoles;
  if (missing && missing.roles.length > 0) {
    const list = missing.roles.map((r) => `${r.role} (${r.objects.slice(0, 3).join(', ')}${r.objects.length > 3 ? `, … ${r.objects.length} objects` : ''})`).join('; ');
    if (missing.created) {
      replace.warnings.push(`roles created in the target (NOLOGIN, no membership): ${list}`);
    } else {
      replace.allowed = false;
      replace.reasons.push(`the target lacks role${missing.roles.length > 1 ? 's' : ''} the copy needs: ${list}. Create them with --create-roles (NOLOGIN, no password, no membership), or leave owners and privileges out with --no-owner --no-privileges (policies still need their roles)`);
    }
  }
  for (const reason of context.extensions ?? []) {
    replace.allowed = false;
    replace.reasons.push(reason);
  }
  if (context.eventTriggerOwners && context.eventTriggerOwners.length > 0) {
    replace.allowed = false;
    replace.reasons.push(`an event trigger's owner must be a superuser, and in the target these owners are not (or would be created as plain roles): ${context.eventTriggerOwners.join(', ')}. `
      + 'Create the owners as superusers yourself, or leave event triggers out with --no-event-triggers, or owners with --no-owner');
  }
  if (context.eventTriggersNeedSuperuser) {
    replace.allowed = false;
    replace.reasons.push('the dump has event triggers and only a superuser can create them: connect as one, or leave them out with --no-event-triggers');
  }
  for (const u of context.uncopied ?? []) {
    replace.needsConfirmation = true;
    replace.reasons.push(`${u.description} in the target would be dropped by the replace, and this tool cannot back it up`);
  }
  return { replace, 'data-only': dataOnly, missingExtensions: missingExtensions.sort(compareText), dependents, missingRoles: missing?.roles ?? [] };
}

/** The tables whose row counts decide whether replace needs confirmation, for `countTargetRows`. */
export function tablesToCount(changes: SchemaChange[]): string[] {
  const tables = new Set<string>();
  for (const c of changes) if (c.severity.replace === 'destructive') tables.add(c.table ?? c.name);
  return [...tables].sort(compareText);
}

export interface CountOptions {
  /** Count every table with count(*) instead of trusting positive planner estimates. */
  exact?: boolean;
}

const BATCH = 50;

/**
 * Rows of the given tables (`schema.table`, unquoted) on the target; tables that do not exist are left out.
 *
 * By default a table the planner believes non-empty (`pg_class.reltuples` > 0) gets that estimate, rounded —
 * possibly stale, never read from the table — and every other table (estimated empty, never analysed: -1, or
 * partitioned) is counted exactly with count(*). So a 0 is always exact, which is all the replace verdict needs:
 * an estimate can only err towards asking for confirmation. `exact: true` counts every table. Partitioned
 * tables count their partitions' rows; other tables count only their own (`ONLY`).
 */
export async function countTargetRows(sql: postgres.Sql | postgres.TransactionSql, tables: string[], options: CountOptions = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (tables.length === 0) return counts;
  const rels = await sql.unsafe<{ name: string; ident: string; kind: string; estimate: number }[]>(`
    SELECT n.nspname || '.' || c.relname AS name, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS ident,
      c.relkind AS kind, c.reltuples::pg_catalog.float8 AS estimate
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND (n.nspname || '.' || c.relname) = ANY($1::text[])`, [[...new Set(tables)]]);
  const exact: typeof rels[number][] = [];
  for (const r of rels) {
    if (options.exact || r.kind === 'p' || !(r.estimate > 0)) exact.push(r);
    else counts[r.name] = Math.round(r.estimate);
  }
  for (let i = 0; i < exact.length; i += BATCH) {
    const batch = exact.slice(i, i + BATCH);
    const query = batch
      .map((r, j) => `SELECT ${j} AS i, pg_catalog.count(*)::pg_catalog.float8 AS n FROM ${r.kind === 'p' ? '' : 'ONLY '}${r.ident}`)
      .join(' UNION ALL ');
    for (const row of await sql.unsafe<{ i: number; n: number }[]>(query)) counts[batch[row.i]!.name] = row.n;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => compareText(a, b)));
}
