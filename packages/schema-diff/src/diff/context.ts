import type { Ownership, SchemaModel } from '../model.js';
import { objectKey } from '../model.js';
import type { Aspect, ReplaceSeverity } from './change.js';
import { arrow, same } from './change.js';
import type { TypeCatalog } from './type-fit.js';
import { typeCatalog } from './type-fit.js';

/** Options of `diffSchemas`. */
export interface DiffOptions {
  /** Also compare owners and privileges (off by default: they differ between environments and are not dumped unless asked). */
  ownership?: boolean;
  /** Compare owners only (`ownership` turns on both). */
  owners?: boolean;
  /** Compare privileges only (`ownership` turns on both). */
  privileges?: boolean;
}

/** What the per-kind differs need to know about both models. */
export interface DiffContext {
  options: DiffOptions;
  /** Schemas the dump puts objects in: replace drops and recreates exactly these on the target. */
  dumpedSchemas: Set<string>;
  dumpTypes: TypeCatalog;
  targetTypes: TypeCatalog;
  /** `type:` keys the dump's tables use (directly or through other types); null when the model has no dependency edges. */
  usedTypes: Set<string> | null;
  /** `schema.name` of every target sequence, identity sequences included: data-only runs setval on the dump's. */
  targetSequences: Set<string>;
}

export function createContext(from: SchemaModel, to: SchemaModel, options: DiffOptions): DiffContext {
  const dumpedSchemas = new Set<string>(from.schemas.map((s) => s.name));
  const lists: { schema: string }[][] = [from.enums, from.domains, from.compositeTypes, from.rangeTypes, from.routines, from.sequences, from.tables, from.views];
  for (const list of lists) for (const item of list) dumpedSchemas.add(item.schema);

  const targetSequences = new Set(to.sequences.map((s) => `${s.schema}.${s.name}`));
  for (const t of to.tables) {
    for (const c of t.columns) if (c.identitySequence) targetSequences.add(`${c.identitySequence.sequenceSchema}.${c.identitySequence.sequenceName}`);
  }
  return {
    options, dumpedSchemas, targetSequences,
    dumpTypes: typeCatalog(from), targetTypes: typeCatalog(to),
    usedTypes: usedTypes(from),
  };
}

/** Types reachable from the dump's tables through the dependency graph (a domain over an enum, an array of a composite…). */
function usedTypes(model: SchemaModel): Set<string> | null {
  if (model.dependencies.length === 0 && model.tables.length > 0) return null;
  const next = new Map<string, string[]>();
  for (const e of model.dependencies) {
    const list = next.get(e.from);
    if (list) list.push(e.to);
    else next.set(e.from, [e.to]);
  }
  const used = new Set<string>();
  const queue = model.tables.map((t) => objectKey('relation', t.schema, t.name));
  for (let i = 0; i < queue.length; i++) {
    for (const to of next.get(queue[i]!) ?? []) {
      if (!to.startsWith('type:') || used.has(to)) continue;
      used.add(to);
      queue.push(to);
    }
  }
  return used;
}

export function isTypeUsed(context: DiffContext, schema: string, name: string): boolean {
  return context.usedTypes === null || context.usedTypes.has(objectKey('type', schema, name));
}

/**
 * Replace severity of an object only the target has: replace drops the dumped schemas with everything in them,
 * so it is lost there (`destructive` when it may hold rows); elsewhere it is left alone.
 */
export function lostOnReplace(context: DiffContext, schema: string, holdsRows: boolean): ReplaceSeverity {
  if (!context.dumpedSchemas.has(schema)) return 'info';
  return holdsRows ? 'destructive' : 'warning';
}

export function onlyInTargetText(context: DiffContext, schema: string): string {
  return context.dumpedSchemas.has(schema) ? 'only in the target: replace drops it' : 'only in the target, outside the dumped schemas: replace leaves it';
}

/** Comment, and owner/privileges when asked: never a problem for either mode. */
export function commonAspects(context: DiffContext, a: { comment?: string | null | undefined } & Partial<Ownership>, b: { comment?: string | null | undefined } & Partial<Ownership>): Aspect[] {
  const aspects: Aspect[] = [];
  if ((a.comment ?? null) !== (b.comment ?? null)) aspects.push({ text: `comment ${arrow(a.comment, b.comment)}` });
  const { ownership, owners, privileges } = context.options;
  if ((ownership || owners) && a.owner !== b.owner) aspects.push({ text: `owner ${arrow(a.owner, b.owner)}` });
  if ((ownership || privileges) && !same(a.acl ?? null, b.acl ?? null)) aspects.push({ text: `privileges ${arrow(a.acl, b.acl)}` });
  return aspects;
}
