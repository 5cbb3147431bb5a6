import type { Ownership, SchemaModel } from '@mbsync/schema-diff';
import { routineTarget } from './comments.js';
import { qualify, quoteIdent } from './quote.js';

// aclitem privilege letters (src/include/utils/acl.h)
const PRIVILEGES: Record<string, string> = {
  r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', D: 'TRUNCATE', x: 'REFERENCES', t: 'TRIGGER',
  X: 'EXECUTE', U: 'USAGE', C: 'CREATE', c: 'CONNECT', T: 'TEMPORARY', m: 'MAINTAIN',
};

/** Parses `grantee=privs/grantor` (empty grantee = PUBLIC; a `"…"` grantee is quoted with doubled quotes). */
export function parseAclItem(item: string): { grantee: string; privileges: { name: string; grantable: boolean }[] } | null {
  const match = /^((?:"(?:[^"]|"")*"|[^=]*))=([a-zA-Z*]*)\//.exec(item);
  if (!match) return null;
  const rawGrantee = match[1] ?? '';
  const grantee = rawGrantee === '' ? 'PUBLIC' : quoteIdent(rawGrantee.startsWith('"') ? rawGrantee.slice(1, -1).replace(/""/g, '"') : rawGrantee);
  const privileges: { name: string; grantable: boolean }[] = [];
  const letters = match[2] ?? '';
  for (let i = 0; i < letters.length; i += 1) {
    const name = PRIVILEGES[letters[i]!];
    if (!name) continue;
    const grantable = letters[i + 1] === '*';
    if (grantable) i += 1;
    privileges.push({ name, grantable });
  }
  return { grantee, privileges };
}

/**
 * REVOKE ALL from PUBLIC and the owner, then one GRANT per ACL entry: the resulting ACL equals the source's
 * (grantors aside) whatever the target's defaults. A null ACL means the built-in default: nothing to emit.
 */
export function grantStatements(target: string, o: Ownership, columns?: string): string[] {
  if (o.acl === null) return [];
  const on = columns ? `(${columns}) ON ${target}` : `ON ${target}`;
  const out = columns ? [] : [`REVOKE ALL ${on} FROM PUBLIC;`, `REVOKE ALL ${on} FROM ${quoteIdent(o.owner)};`];
  for (const item of o.acl) {
    const parsed = parseAclItem(item);
    if (!parsed) continue;
    for (const grantable of [false, true]) {
      const names = parsed.privileges.filter((p) => p.grantable === grantable).map((p) => p.name);
      if (names.length === 0) continue;
      const list = columns ? names.map((n) => `${n} (${columns})`).join(', ') : names.join(', ');
      out.push(`GRANT ${list} ON ${target} TO ${parsed.grantee}${grantable ? ' WITH GRANT OPTION' : ''};`);
    }
  }
  return out;
}

/** ALTER … OWNER TO for every owned object (identity sequences go with their table). */
export function renderOwners(model: SchemaModel): string[] {
  const out: string[] = [];
  const add = (target: string, owner: string) => out.push(`ALTER ${target} OWNER TO ${quoteIdent(owner)};`);
  for (const s of model.schemas) add(`SCHEMA ${quoteIdent(s.name)}`, s.owner);
  for (const t of [...model.enums, ...model.compositeTypes, ...model.rangeTypes]) add(`TYPE ${qualify(t.schema, t.name)}`, t.owner);
  for (const d of model.domains) add(`DOMAIN ${qualify(d.schema, d.name)}`, d.owner);
  for (const r of model.routines) add(routineTarget(r), r.owner);
  // a sequence OWNED BY a column has its table's owner, set with the table's (ALTER SEQUENCE … OWNER TO is refused)
  for (const s of model.sequences) if (!s.ownedBy) add(`SEQUENCE ${qualify(s.schema, s.name)}`, s.owner);
  for (const t of model.tables) add(`TABLE ${qualify(t.schema, t.name)}`, t.owner);
  for (const v of model.views) add(`${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${qualify(v.schema, v.name)}`, v.owner);
  return out;
}

/** GRANT/REVOKE statements rebuilding every ACL of the model, column privileges included. */
export function renderGrants(model: SchemaModel): string[] {
  const out: string[] = [];
  for (const s of model.schemas) out.push(...grantStatements(`SCHEMA ${quoteIdent(s.name)}`, s));
  for (const t of [...model.enums, ...model.compositeTypes, ...model.rangeTypes]) out.push(...grantStatements(`TYPE ${qualify(t.schema, t.name)}`, t));
  for (const d of model.domains) out.push(...grantStatements(`DOMAIN ${qualify(d.schema, d.name)}`, d));
  for (const r of model.routines) {
    const target = routineTarget(r).replace(/^AGGREGATE /, 'FUNCTION ');
    out.push(...grantStatements(target, r));
  }
  for (const s of model.sequences) out.push(...grantStatements(`SEQUENCE ${qualify(s.schema, s.name)}`, s));
  for (const t of model.tables) {
    out.push(...grantStatements(`TABLE ${qualify(t.schema, t.name)}`, t));
    for (const c of t.columns) {
      if (c.acl) out.push(...grantStatements(`TABLE ${qualify(t.schema, t.name)}`, { owner: t.owner, acl: c.acl }, quoteIdent(c.name)));
      // an identity column's sequence has privileges of its own (USAGE for nextval)
      const seq = c.identitySequence;
      if (seq?.acl) out.push(...grantStatements(`SEQUENCE ${qualify(seq.sequenceSchema, seq.sequenceName)}`, { owner: t.owner, acl: seq.acl }));
    }
  }
  for (const v of model.views) out.push(...grantStatements(`TABLE ${qualify(v.schema, v.name)}`, v));
  return out;
}
