import type postgres from 'postgres';
import type { IndexInfo, Policy, Rule, TableConstraint, Trigger } from '../model.js';
import { compareText, optional } from './rows.js';

/** Constraints, indexes, triggers, rules and policies of every relation in the selected schemas, by relation OID. */
export interface RelationParts {
  constraints: Map<number, TableConstraint[]>;
  indexes: Map<number, IndexInfo[]>;
  triggers: Map<number, Trigger[]>;
  rules: Map<number, Rule[]>;
  policies: Map<number, Policy[]>;
}

const IN_SCHEMAS = `c.relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[]))`;
const CONSTRAINT_TYPES: Record<string, TableConstraint['type']> = {
  p: 'primary key', u: 'unique', c: 'check', f: 'foreign key', x: 'exclusion', t: 'trigger',
};
const POLICY_COMMANDS: Record<string, Policy['command']> = { '*': 'ALL', r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' };

function group<T extends { name: string }>(rows: (T & { relid: number })[]): Map<number, T[]> {
  const map = new Map<number, T[]>();
  for (const { relid, ...rest } of rows) {
    const list = map.get(relid) ?? [];
    list.push(rest as unknown as T);
    map.set(relid, list);
  }
  for (const list of map.values()) list.sort((a, b) => compareText(a.name, b.name));
  return map;
}

/** Reads the parts with one query per kind (set-based, not per table). */
export async function readRelationParts(tx: postgres.TransactionSql, schemas: string[]): Promise<RelationParts> {
  const constraintsQuery = tx.unsafe<{ relid: number; name: string; contype: string; definition: string; validated: boolean;
    is_local: boolean; inherit_count: number; cloned: boolean; index: string | null; ref_schema: string | null; ref_name: string | null; comment: string | null }[]>(`
    SELECT co.conrelid::pg_catalog.int8::pg_catalog.float8 AS relid, co.conname AS name, co.contype, pg_catalog.pg_get_constraintdef(co.oid) AS definition,
      co.convalidated AS validated, co.conislocal AS is_local, co.coninhcount AS inherit_count,
      -- foreign keys the server clones onto partitions from the parent's (conparentid) come back by themselves
      (co.contype = 'f' AND co.conparentid <> 0) AS cloned,
      CASE WHEN co.contype IN ('p', 'u', 'x') THEN ic.relname END AS index,
      rn.nspname AS ref_schema, rc.relname AS ref_name, d.description AS comment
    FROM pg_catalog.pg_constraint co
    JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
    LEFT JOIN pg_catalog.pg_class ic ON ic.oid = co.conindid
    LEFT JOIN pg_catalog.pg_class rc ON co.contype = 'f' AND rc.oid = co.confrelid
    LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = co.oid AND d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
    WHERE ${IN_SCHEMAS} AND co.contype <> 't'`, [schemas]);

  const indexesQuery = tx.unsafe<{ relid: number; name: string; definition: string; constraint: string | null; parent_schema: string | null;
    parent_name: string | null; clustered: boolean; replica_identity: boolean; comment: string | null }[]>(`
    SELECT i.indrelid::pg_catalog.int8::pg_catalog.float8 AS relid, ic.relname AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
      con.conname AS constraint, pn.nspname AS parent_schema, pc.relname AS parent_name,
      i.indisclustered AS clustered, i.indisreplident AS replica_identity, d.description AS comment
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
    LEFT JOIN pg_catalog.pg_inherits inh ON inh.inhrelid = i.indexrelid
    LEFT JOIN pg_catalog.pg_class pc ON pc.oid = inh.inhparent
    LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
    -- pg_dump's rule: an invalid index (a failed CREATE INDEX CONCURRENTLY) is left out, it would be rebuilt and
    -- fail again (a partitioned table's index is invalid until every partition has one attached: kept)
    WHERE ${IN_SCHEMAS} AND (i.indisvalid OR ic.relkind = 'I') AND i.indisready`, [schemas]);

  const triggersQuery = tx.unsafe<{ relid: number; name: string; definition: string; enabled: Trigger['enabled']; comment: string | null }[]>(`
    SELECT t.tgrelid::pg_catalog.int8::pg_catalog.float8 AS relid, t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled,
      d.description AS comment
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
    -- internal triggers implement FKs; tgparentid <> 0 are clones of a partitioned table's trigger
    WHERE ${IN_SCHEMAS} AND NOT t.tgisinternal AND t.tgparentid = 0`, [schemas]);

  const rulesQuery = tx.unsafe<{ relid: number; name: string; definition: string; comment: string | null }[]>(`
    SELECT r.ev_class::pg_catalog.int8::pg_catalog.float8 AS relid, r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) AS definition, d.description AS comment
    FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    WHERE ${IN_SCHEMAS} AND r.rulename <> '_RETURN'`, [schemas]);

  const policiesQuery = tx.unsafe<{ relid: number; name: string; permissive: boolean; cmd: string; roles: string[];
    using: string | null; with_check: string | null; comment: string | null }[]>(`
    SELECT p.polrelid::pg_catalog.int8::pg_catalog.float8 AS relid, p.polname AS name, p.polpermissive AS permissive, p.polcmd AS cmd,
      ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r.oid) END
            FROM unnest(p.polroles) WITH ORDINALITY AS r(oid, n) ORDER BY r.n) AS roles,
      pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
      d.description AS comment
    FROM pg_catalog.pg_policy p
    JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass
    WHERE ${IN_SCHEMAS}`, [schemas]);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [constraints, indexes, triggers, rules, policies] = await Promise.all([constraintsQuery, indexesQuery, triggersQuery, rulesQuery, policiesQuery]);

  return {
    constraints: group(constraints.map((r) => ({
      relid: r.relid, name: r.name, type: CONSTRAINT_TYPES[r.contype] ?? 'check', definition: r.definition, validated: r.validated,
      isLocal: r.is_local, inheritCount: r.inherit_count, ...optional('index', r.index), cloned: r.cloned,
      ...(r.ref_schema !== null && r.ref_name !== null ? { references: { schema: r.ref_schema, name: r.ref_name } } : {}),
      ...optional('comment', r.comment),
    }))),
    indexes: group(indexes.map((r) => ({
      relid: r.relid, name: r.name, definition: r.definition, ...optional('constraint', r.constraint),
      ...(r.parent_schema !== null && r.parent_name !== null ? { parentIndex: { schema: r.parent_schema, name: r.parent_name } } : {}),
      clustered: r.clustered, replicaIdentity: r.replica_identity, ...optional('comment', r.comment),
    }))),
    triggers: group(triggers.map((r) => ({ relid: r.relid, name: r.name, definition: r.definition, enabled: r.enabled, ...optional('comment', r.comment) }))),
    rules: group(rules.map((r) => ({ relid: r.relid, name: r.name, definition: r.definition, ...optional('comment', r.comment) }))),
    policies: group(policies.map((r) => ({
      relid: r.relid, name: r.name, permissive: r.permissive, command: POLICY_COMMANDS[r.cmd] ?? 'ALL', roles: r.roles,
      ...optional('using', r.using), ...optional('withCheck', r.with_check), ...optional('comment', r.comment),
    }))),
  };
}
