import type postgres from 'postgres';

/** An extension installed in the target: where, whether ALTER EXTENSION … SET SCHEMA may move it, and its members' names. */
export interface TargetExtension {
  name: string;
  schema: string;
  relocatable: boolean;
  /** names of its member objects (functions, types, operators, operator classes, …) in its schema */
  members: Set<string>;
}

// every catalog of named, schema-bound objects an extension can own
const MEMBER_CATALOGS: [string, string, string][] = [
  ['pg_proc', 'pronamespace', 'proname'], ['pg_type', 'typnamespace', 'typname'], ['pg_class', 'relnamespace', 'relname'],
  ['pg_operator', 'oprnamespace', 'oprname'], ['pg_opclass', 'opcnamespace', 'opcname'], ['pg_opfamily', 'opfnamespace', 'opfname'],
  ['pg_collation', 'collnamespace', 'collname'], ['pg_conversion', 'connamespace', 'conname'], ['pg_ts_config', 'cfgnamespace', 'cfgname'],
  ['pg_ts_dict', 'dictnamespace', 'dictname'], ['pg_ts_parser', 'prsnamespace', 'prsname'], ['pg_ts_template', 'tmplnamespace', 'tmplname'],
  ['pg_statistic_ext', 'stxnamespace', 'stxname'],
];

/** The target's extensions among `names`, with their members' names. */
export async function readTargetExtensions(sql: postgres.Sql | postgres.TransactionSql, names: string[]): Promise<Map<string, TargetExtension>> {
  const out = new Map<string, TargetExtension>();
  if (names.length === 0) return out;
  const rows = await sql.unsafe<{ name: string; schema: string; relocatable: boolean }[]>(`
    SELECT e.extname AS name, n.nspname AS schema, e.extrelocatable AS relocatable
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = ANY($1::text[])`, [names]);
  for (const r of rows) out.set(r.name, { ...r, members: new Set() });
  if (out.size === 0) return out;
  const members = await sql.unsafe<{ extension: string; name: string }[]>(MEMBER_CATALOGS.map(([catalog, ns, name]) => `
    SELECT e.extname AS extension, o.${name}::text AS name FROM pg_catalog.${catalog} o
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND d.objid = o.oid AND d.deptype = 'e'
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    WHERE e.extname = ANY($1::text[]) AND o.${ns} = e.extnamespace`).join(' UNION ALL '), [[...out.keys()]]);
  for (const m of members) out.get(m.extension)?.members.add(m.name);
  return out;
}
