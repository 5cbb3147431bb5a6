import type { SchemaModel } from '../model.js';
import type { Aspect, SchemaChange } from './change.js';
import { arrow, changed, pair, same } from './change.js';
import type { DiffContext } from './context.js';

const INFO = { replace: 'info', 'data-only': 'ok' } as const;

/** Objects of no schema are never dropped by a replace: one only in the target is left alone. */
function presence(objectType: SchemaChange['objectType'], name: string, a: unknown, b: unknown, out: SchemaChange[]): boolean {
  if (a && !b) out.push({ objectType, name, kind: 'removed', before: a, detail: 'only in the dump', severity: INFO });
  else if (b && !a) out.push({ objectType, name, kind: 'added', after: b, detail: 'only in the target: left alone', severity: INFO });
  return Boolean(a && b);
}

/** Default privileges (compared when privileges are). */
export function diffDefaultPrivileges(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  if (!(context.options.ownership || context.options.privileges)) return;
  const key = (d: NonNullable<SchemaModel['defaultPrivileges']>[number]) => `${d.role} in ${d.schema ?? '(all schemas)'} on ${d.objectType}`;
  pair(from.defaultPrivileges ?? [], to.defaultPrivileges ?? [], key, (name, a, b) => {
    if (!presence('default privileges', name, a, b, out)) return;
    const change = changed('default privileges', name, a, b, same([...a!.acl].sort(), [...b!.acl].sort()) ? [] : [{ text: `privileges ${arrow(a!.acl, b!.acl)}` }]);
    if (change) out.push(change);
  });
}

/** Publications: options, membership of the copy's tables and schemas, owner (when owners are compared), comment. */
export function diffPublications(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  pair(from.publications ?? [], to.publications ?? [], (p) => p.name, (name, a, b) => {
    if (!presence('publication', name, a, b, out)) return;
    const aspects: Aspect[] = [];
    if (a!.allTables !== b!.allTables) aspects.push({ text: `all tables ${arrow(a!.allTables, b!.allTables)}` });
    if (!same(a!.publish, b!.publish)) aspects.push({ text: `publish ${arrow(a!.publish, b!.publish)}` });
    if (a!.viaRoot !== b!.viaRoot) aspects.push({ text: `publish via partition root ${arrow(a!.viaRoot, b!.viaRoot)}` });
    if (!same(a!.tables, b!.tables)) aspects.push({ text: `tables ${arrow(a!.tables.map((t) => `${t.schema}.${t.name}`).join(', '), b!.tables.map((t) => `${t.schema}.${t.name}`).join(', '))}` });
    if (!same(a!.schemas, b!.schemas)) aspects.push({ text: `schemas ${arrow(a!.schemas.join(', '), b!.schemas.join(', '))}` });
    if ((context.options.ownership || context.options.owners) && a!.owner !== b!.owner) aspects.push({ text: `owner ${arrow(a!.owner, b!.owner)}` });
    if ((a!.comment ?? null) !== (b!.comment ?? null)) aspects.push({ text: `comment ${arrow(a!.comment, b!.comment)}` });
    const change = changed('publication', name, a, b, aspects);
    if (change) out.push(change);
  });
}

/** Event triggers: event, tags, function, state, owner (when owners are compared), comment. */
export function diffEventTriggers(context: DiffContext, from: SchemaModel, to: SchemaModel, out: SchemaChange[]): void {
  pair(from.eventTriggers ?? [], to.eventTriggers ?? [], (e) => e.name, (name, a, b) => {
    if (!presence('event trigger', name, a, b, out)) return;
    const aspects: Aspect[] = [];
    if (a!.event !== b!.event) aspects.push({ text: `event ${arrow(a!.event, b!.event)}` });
    if (!same(a!.tags, b!.tags)) aspects.push({ text: `tags ${arrow(a!.tags?.join(', '), b!.tags?.join(', '))}` });
    if (!same(a!.function, b!.function)) aspects.push({ text: `function ${arrow(`${a!.function.schema}.${a!.function.name}`, `${b!.function.schema}.${b!.function.name}`)}` });
    if (a!.enabled !== b!.enabled) aspects.push({ text: `enabled ${arrow(a!.enabled, b!.enabled)}` });
    if ((context.options.ownership || context.options.owners) && a!.owner !== b!.owner) aspects.push({ text: `owner ${arrow(a!.owner, b!.owner)}` });
    if ((a!.comment ?? null) !== (b!.comment ?? null)) aspects.push({ text: `comment ${arrow(a!.comment, b!.comment)}` });
    const change = changed('event trigger', name, a, b, aspects);
    if (change) out.push(change);
  });
}
