import type postgres from 'postgres';
import type { Ownership, SchemaModel } from './model.js';
import { compareText } from './introspect/rows.js';

/** What a copy sets that names roles. */
export interface RoleUse {
  /** owners are copied (ALTER … OWNER TO) */
  owners?: boolean;
  /** privileges are copied (GRANT, default privileges) */
  privileges?: boolean;
}

/** The grantee of an aclitem (`grantee=privs/grantor`); null for PUBLIC. */
function grantee(item: string): string | null {
  const m = /^((?:"(?:[^"]|"")*"|[^=]*))=/.exec(item);
  const raw = m?.[1] ?? '';
  if (raw === '') return null;
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
}

/**
 * Every role the copy of `model` names, with the objects that name it: owners and grantees when those are copied,
 * and always the roles of row-level security policies (a policy cannot exist without them).
 */
export function referencedRoles(model: SchemaModel, use: RoleUse): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (role: string | null | undefined, object: string) => {
    if (!role || role === 'PUBLIC') return;
    const list = out.get(role) ?? [];
    if (!list.includes(object)) list.push(object);
    out.set(role, list);
  };
  const owned = (o: Ownership, object: string) => {
    if (use.owners) add(o.owner, object);
    if (use.privileges) for (const item of o.acl ?? []) add(grantee(item), object);
  };
  for (const s of model.schemas) owned(s, `schema ${s.name}`);
  for (const t of [...model.enums, ...model.domains, ...model.compositeTypes, ...model.rangeTypes]) owned(t, `type ${t.schema}.${t.name}`);
  for (const r of model.routines) owned(r, `${r.kind} ${r.schema}.${r.name}(${r.identityArguments})`);
  for (const s of model.sequences) owned(s, `sequence ${s.schema}.${s.name}`);
  for (const v of model.views) owned(v, `view ${v.schema}.${v.name}`);
  for (const t of model.tables) {
    const name = `${t.schema}.${t.name}`;
    owned(t, `table ${name}`);
    for (const c of t.columns) {
      if (use.privileges) for (const item of [...(c.acl ?? []), ...(c.identitySequence?.acl ?? [])]) add(grantee(item), `column ${name}.${c.name}`);
    }
    for (const p of t.policies) for (const role of p.roles) add(role, `policy ${p.name} on ${name}`);
  }
  if (use.privileges) {
    for (const d of model.defaultPrivileges ?? []) {
      const object = `default privileges of ${d.role}${d.schema ? ` in schema ${d.schema}` : ''}`;
      add(d.role, object);
      for (const item of d.acl) add(grantee(item), object);
    }
  }
  if (use.owners) {
    for (const p of model.publications ?? []) add(p.owner, `publication ${p.name}`);
    for (const e of model.eventTriggers ?? []) add(e.owner, `event trigger ${e.name}`);
  }
  for (const list of out.values()) list.sort(compareText);
  return new Map([...out].sort(([a], [b]) => compareText(a, b)));
}

/** A role the copy needs that the target's cluster lacks, with the objects that need it. */
export interface MissingRole {
  role: string;
  objects: string[];
}

/** The roles of `referencedRoles` that the server behind `sql` does not have. */
export async function readMissingRoles(sql: postgres.Sql | postgres.TransactionSql, model: SchemaModel, use: RoleUse): Promise<MissingRole[]> {
  const needed = referencedRoles(model, use);
  if (needed.size === 0) return [];
  const rows = await sql<{ name: string }[]>`SELECT rolname AS name FROM pg_catalog.pg_roles WHERE rolname = ANY(${[...needed.keys()]}::text[])`;
  const present = new Set(rows.map((r) => r.name));
  return [...needed].filter(([role]) => !present.has(role)).map(([role, objects]) => ({ role, objects }));
}
