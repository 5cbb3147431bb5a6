import type postgres from 'postgres';
import { grantStatements, parseAclItem } from '../ddl/privileges.js';
import { quoteIdent } from '../ddl/quote.js';

/** What a replaced schema of the target carries as a schema: kept when the dump does not carry it. */
export interface SchemaState {
  name: string;
  owner: string;
  acl: string[] | null;
  comment: string | null;
  /** ALTER DEFAULT PRIVILEGES … IN SCHEMA entries (pg_default_acl), dropped with the schema. */
  defaultAcls: { role: string; objectType: string; acl: string[] }[];
}

const DEFAULT_ACL_OBJECTS: Record<string, string> = { r: 'TABLES', S: 'SEQUENCES', f: 'FUNCTIONS', T: 'TYPES' };

/** Owner, privileges and default privileges of the given schemas that exist in the target. */
export async function readSchemaStates(tx: postgres.TransactionSql, schemas: string[]): Promise<SchemaState[]> {
  if (schemas.length === 0) return [];
  const rows = await tx.unsafe<{ name: string; owner: string; acl: string[] | null; comment: string | null; defaults: { role: string; type: string; acl: string[] }[] }[]>(`
    SELECT n.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text[] AS acl,
      pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment,
      COALESCE((SELECT json_agg(json_build_object('role', pg_catalog.pg_get_userbyid(d.defaclrole), 'type', d.defaclobjtype, 'acl', d.defaclacl::text[])
        ORDER BY d.defaclrole, d.defaclobjtype) FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = n.oid), '[]') AS defaults
    FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1::text[]) ORDER BY 1`, [schemas]);
  return rows.map((r) => ({ name: r.name, owner: r.owner, acl: r.acl, comment: r.comment, defaultAcls: r.defaults.map((d) => ({ role: d.role, objectType: d.type, acl: d.acl })) }));
}

/**
 * Statements that give a recreated schema back what the dump does not carry: its owner (when owners are not
 * copied), its privileges and default privileges (when privileges are not copied).
 */
export function restoreSchemaState(state: SchemaState, carried: { owner: boolean; privileges: boolean }): string[] {
  const schema = quoteIdent(state.name);
  const out: string[] = [];
  if (!carried.owner) out.push(`ALTER SCHEMA ${schema} OWNER TO ${quoteIdent(state.owner)};`);
  if (!carried.privileges) {
    out.push(...grantStatements(`SCHEMA ${schema}`, { owner: state.owner, acl: state.acl }));
    for (const d of state.defaultAcls) {
      const objects = DEFAULT_ACL_OBJECTS[d.objectType];
      if (!objects) continue;
      for (const item of d.acl) {
        const parsed = parseAclItem(item);
        if (!parsed) continue;
        for (const grantable of [false, true]) {
          const names = parsed.privileges.filter((p) => p.grantable === grantable).map((p) => p.name);
          if (names.length === 0) continue;
          out.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(d.role)} IN SCHEMA ${schema} GRANT ${names.join(', ')} ON ${objects} TO ${parsed.grantee}${grantable ? ' WITH GRANT OPTION' : ''};`);
        }
      }
    }
  }
  return out;
}
