import type { Routine, SchemaModel } from '@mbsync/schema-diff';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';

/** PostgreSQL 15 gives `public` this comment at initdb; pg_dump leaves it out when unchanged. */
const PUBLIC_SCHEMA_COMMENT = 'standard public schema';

/** `FUNCTION s.f(args)` / `PROCEDURE …` / `AGGREGATE …`: how COMMENT, ALTER … OWNER and GRANT name a routine. */
export function routineTarget(r: Routine): string {
  const kind = r.kind === 'procedure' ? 'PROCEDURE' : r.kind === 'aggregate' ? 'AGGREGATE' : 'FUNCTION';
  const args = r.kind === 'aggregate' && r.identityArguments === '' ? '*' : r.identityArguments;
  return `${kind} ${qualify(r.schema, r.name)}(${args})`;
}

/** COMMENT ON for every object of the model that carries one. */
export function renderComments(model: SchemaModel): string[] {
  const out: string[] = [];
  const add = (target: string, comment: string | null | undefined) => {
    if (comment !== undefined && comment !== null) out.push(`COMMENT ON ${target} IS ${quoteLiteral(comment)};`);
  };
  for (const s of model.schemas) {
    if (s.name === 'public') {
      // public pre-exists in the target with the stock comment: restate it only when it differs
      const comment = s.comment ?? null;
      if (comment !== PUBLIC_SCHEMA_COMMENT) out.push(`COMMENT ON SCHEMA public IS ${comment === null ? 'NULL' : quoteLiteral(comment)};`);
    } else {
      add(`SCHEMA ${quoteIdent(s.name)}`, s.comment);
    }
  }
  for (const t of [...model.enums, ...model.rangeTypes]) add(`TYPE ${qualify(t.schema, t.name)}`, t.comment);
  for (const t of model.compositeTypes) {
    add(`TYPE ${qualify(t.schema, t.name)}`, t.comment);
    for (const a of t.attributes) add(`COLUMN ${qualify(t.schema, t.name)}.${quoteIdent(a.name)}`, a.comment);
  }
  for (const d of model.domains) {
    add(`DOMAIN ${qualify(d.schema, d.name)}`, d.comment);
    for (const c of d.constraints) add(`CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${qualify(d.schema, d.name)}`, c.comment);
  }
  for (const r of model.routines) add(routineTarget(r), r.comment);
  for (const s of model.sequences) add(`SEQUENCE ${qualify(s.schema, s.name)}`, s.comment);
  for (const t of model.tables) {
    const name = qualify(t.schema, t.name);
    add(`${t.kind === 'foreign' ? 'FOREIGN TABLE' : 'TABLE'} ${name}`, t.comment);
    for (const c of t.columns) add(`COLUMN ${name}.${quoteIdent(c.name)}`, c.comment);
    for (const c of t.constraints) if (!c.cloned) add(`CONSTRAINT ${quoteIdent(c.name)} ON ${name}`, c.comment);
    for (const i of t.indexes) if (!i.constraint) add(`INDEX ${qualify(t.schema, i.name)}`, i.comment);
    for (const g of t.triggers) add(`TRIGGER ${quoteIdent(g.name)} ON ${name}`, g.comment);
    for (const r of t.rules) add(`RULE ${quoteIdent(r.name)} ON ${name}`, r.comment);
    for (const p of t.policies) add(`POLICY ${quoteIdent(p.name)} ON ${name}`, p.comment);
  }
  for (const v of model.views) {
    const name = qualify(v.schema, v.name);
    add(`${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${name}`, v.comment);
    for (const c of v.columns) add(`COLUMN ${name}.${quoteIdent(c.name)}`, c.comment);
    for (const i of v.indexes) add(`INDEX ${qualify(v.schema, i.name)}`, i.comment);
    for (const g of v.triggers) add(`TRIGGER ${quoteIdent(g.name)} ON ${name}`, g.comment);
    for (const r of v.rules) add(`RULE ${quoteIdent(r.name)} ON ${name}`, r.comment);
  }
  return out;
}
