import type postgres from 'postgres';
import type { DefaultPrivilege, EventTrigger, Publication } from '../model-database.js';
import { compareText, optional } from './rows.js';

const OBJECT_TYPES: Record<string, DefaultPrivilege['objectType']> = { r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas' };
const NOT_MEMBER = (catalog: string, alias: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend member
  WHERE member.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND member.objid = ${alias}.oid AND member.deptype = 'e')`;

/** Default privileges of the copied schemas, and the global ones when the copy is of the whole database. */
export async function readDefaultPrivileges(tx: postgres.TransactionSql, schemas: string[], databaseWide: boolean): Promise<DefaultPrivilege[]> {
  const rows = await tx.unsafe<{ role: string; schema: string | null; type: string; acl: string[] }[]>(`
    SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS type, d.defaclacl::text[] AS acl
    FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
    WHERE (d.defaclnamespace = 0 AND $2::bool) OR n.nspname = ANY($1::text[])`, [schemas, databaseWide]);
  return rows
    .map((r): DefaultPrivilege => ({ role: r.role, schema: r.schema, objectType: OBJECT_TYPES[r.type] ?? 'tables', acl: r.acl }))
    .sort((a, b) => compareText(a.role, b.role) || compareText(a.schema ?? '', b.schema ?? '') || compareText(a.objectType, b.objectType));
}

/**
 * Publications: in a whole-database copy every one (members narrowed to the copy's tables), otherwise those that
 * publish a table or schema of the copy.
 */
export async function readPublications(tx: postgres.TransactionSql, schemas: string[], tables: ReadonlySet<string>, databaseWide: boolean): Promise<Publication[]> {
  const rows = await tx.unsafe<{ name: string; owner: string; all_tables: boolean; ins: boolean; upd: boolean; del: boolean; trunc: boolean; via_root: boolean;
    comment: string | null; tables: { schema: string; name: string; columns: string[] | null; filter: string | null }[]; schemas: string[] }[]>(`
    SELECT p.pubname AS name, pg_catalog.pg_get_userbyid(p.pubowner) AS owner, p.puballtables AS all_tables,
      p.pubinsert AS ins, p.pubupdate AS upd, p.pubdelete AS del, p.pubtruncate AS trunc, p.pubviaroot AS via_root,
      pg_catalog.obj_description(p.oid, 'pg_publication') AS comment,
      COALESCE((SELECT json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
          'columns', CASE WHEN pr.prattrs IS NOT NULL THEN ARRAY(SELECT a.attname FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY k(num, i)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.num ORDER BY k.i) END,
          'filter', pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)) ORDER BY n.nspname, c.relname)
        FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE pr.prpubid = p.oid AND n.nspname = ANY($1::text[])), '[]') AS tables,
      ARRAY(SELECT n.nspname FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
        WHERE pn.pnpubid = p.oid AND n.nspname = ANY($1::text[]) ORDER BY 1) AS schemas
    FROM pg_catalog.pg_publication p WHERE ${NOT_MEMBER('pg_publication', 'p')}`, [schemas]);
  return rows
    .map((r): Publication => ({
      name: r.name, owner: r.owner, allTables: r.all_tables,
      publish: { insert: r.ins, update: r.upd, delete: r.del, truncate: r.trunc }, viaRoot: r.via_root,
      tables: r.tables.filter((t) => tables.has(`${t.schema}.${t.name}`))
        .map((t) => ({ schema: t.schema, name: t.name, ...optional('columns', t.columns), ...optional('rowFilter', t.filter) })),
      schemas: r.schemas, ...optional('comment', r.comment),
    }))
    .filter((p) => databaseWide || p.tables.length > 0 || p.schemas.length > 0)
    .sort((a, b) => compareText(a.name, b.name));
}

/** Event triggers (a whole-database copy only, as pg_dump), extension members left out. */
export async function readEventTriggers(tx: postgres.TransactionSql, databaseWide: boolean): Promise<EventTrigger[]> {
  if (!databaseWide) return [];
  const rows = await tx.unsafe<{ name: string; owner: string; event: string; tags: string[] | null; fn_schema: string; fn_name: string; enabled: EventTrigger['enabled']; comment: string | null }[]>(`
    SELECT e.evtname AS name, pg_catalog.pg_get_userbyid(e.evtowner) AS owner, e.evtevent AS event, e.evttags AS tags,
      n.nspname AS fn_schema, f.proname AS fn_name, e.evtenabled AS enabled, pg_catalog.obj_description(e.oid, 'pg_event_trigger') AS comment
    FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc f ON f.oid = e.evtfoid JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
    WHERE ${NOT_MEMBER('pg_event_trigger', 'e')}`);
  return rows
    .map((r): EventTrigger => ({
      name: r.name, owner: r.owner, event: r.event, tags: r.tags, function: { schema: r.fn_schema, name: r.fn_name }, enabled: r.enabled,
      ...optional('comment', r.comment),
    }))
    .sort((a, b) => compareText(a.name, b.name));
}
