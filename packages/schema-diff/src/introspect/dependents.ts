import type postgres from 'postgres';
import { catalogObjectIdentities } from '../catalog-object-keys.js';
import { objectKey } from '../model.js';
import type { SchemaModel } from '../model.js';
import { compareText } from './rows.js';

/** What a replace would drop outside the schemas it replaces, because it depends on something inside them. */
export type DependentKind =
  | 'view' | 'materialized view' | 'table' | 'column' | 'column default' | 'constraint' | 'foreign key' | 'index'
  | 'trigger' | 'rule' | 'policy' | 'function' | 'publication table' | 'publication schema' | 'event trigger' | 'other';

/**
 * One object of the target outside the replaced schemas that `DROP SCHEMA … CASCADE` would take with it (found by
 * walking pg_depend outwards from the replaced schemas, as the server's own cascade does). The fields hold what
 * recreating it needs, as the target's server deparses it, captured before anything is dropped.
 */
export interface Dependent {
  kind: DependentKind;
  /** pg_describe_object's text, e.g. `view reporting.item_names`, `constraint notes_item_fkey on table reporting.notes`. */
  description: string;
  /** pg_identify_object's identity: the qualified, quoted name as DDL spells it (`reporting.f(integer)`, `reporting.v`). */
  identity: string;
  /** Schema the object lives in (null for database-wide objects: publications, event triggers). */
  schema: string | null;
  /** `schema.table` it belongs to (constraints, triggers, policies, indexes, columns, defaults, publication tables). */
  table?: string;
  /** Its own name (the constraint's, trigger's, view's, …). */
  name: string;
  /** pg_get_*def text, or the expression (policies, defaults), or null. */
  definition: string | null;
  owner?: string;
  acl?: string[] | null;
  comment?: string | null;
  /** Policies: PERMISSIVE or RESTRICTIVE, command, roles, and the two expressions. */
  policy?: { permissive: boolean; command: string; roles: string[]; using: string | null; withCheck: string | null };
  /** Triggers: tgenabled; event triggers: evtenabled. */
  enabled?: string;
  /** Event triggers: the event, WHEN TAG list, function. Publication tables: column list and row filter. */
  event?: { event: string; tags: string[] | null; function: string };
  publication?: { name: string; columns: string[] | null; rowFilter: string | null; schema?: string };
  /** Materialized views: whether they held data. Views: reloptions. */
  populated?: boolean;
  reloptions?: string[];
  /** Columns of views and materialized views with their comments (COMMENT ON COLUMN). */
  columnComments?: { column: string; comment: string }[];
  /** The object holds rows the replace would destroy (a table inheriting from a replaced one, a column). */
  holdsRows: boolean;
  /** Keys (objectKey) of the replaced schemas' objects it depends on directly: what must exist again to recreate it. */
  needs: string[];
}

const REPLACED = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[]))`;

// The cascade of DROP SCHEMA: every object with a normal, auto, internal, extension or partition dependency on
// something dropped goes too, and dropping the internal part of an object (a view's rule, a constraint's index)
// drops the object. Walked at the granularity of pg_depend: a column typed by a dropped type is a node of its own.
// $1: replaced schemas; $2: extensions the replace keeps (moved into the new schema): the walk stops at them and
// their members.
const WALK = `
  WITH RECURSIVE kept AS (
    SELECT oid FROM pg_catalog.pg_extension WHERE extname = ANY($2::text[])
  ), edges AS (
    SELECT refclassid AS fc, refobjid AS fo, refobjsubid AS fs, classid AS tc, objid AS tobj, objsubid AS ts
    FROM pg_catalog.pg_depend WHERE deptype IN ('n', 'a', 'i', 'e', 'P', 'S')
    UNION ALL
    SELECT classid, objid, 0, refclassid, refobjid, 0 FROM pg_catalog.pg_depend WHERE deptype = 'i'
  ), walk(c, o, s) AS (
    SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid, oid, 0 FROM ${REPLACED} r
    UNION
    SELECT e.tc, e.tobj, e.ts FROM edges e JOIN walk w ON e.fc = w.c AND e.fo = w.o AND (w.s = 0 OR e.fs = w.s)
    WHERE NOT (e.tc = 'pg_catalog.pg_extension'::pg_catalog.regclass AND e.tobj IN (SELECT oid FROM kept))
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend m WHERE m.classid = e.tc AND m.objid = e.tobj AND m.deptype = 'e'
        AND m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND m.refobjid IN (SELECT oid FROM kept))
  )`;

/**
 * pg_identify_object with its schema unquoted: it returns the schema as quote_identifier spells it (`"Lib"`), while
 * the replaced schemas and the model's keys hold the plain name.
 */
function identified(args: string): string {
  return `(SELECT x.type, CASE WHEN x.schema LIKE '"%' THEN pg_catalog.replace(pg_catalog.substr(x.schema, 2, pg_catalog.length(x.schema) - 2), '""', '"')
    ELSE x.schema END AS schema, x.name, x.identity FROM pg_catalog.pg_identify_object(${args}) x)`;
}

interface NodeRow {
  c: number; o: number; s: number; type: string; schema: string | null; identity: string; description: string; relkind: string | null;
  table_schema: string | null; table_name: string | null; name: string | null; contype: string | null;
}

/** Options of `readDependents`. */
export interface DependentsOptions {
  /** schemas whose objects are not dependents either (the replacement being built beside the live schemas) */
  inside?: string[];
  /** extensions of the replaced schemas the replace keeps (moves into the new schema) instead of dropping */
  keepExtensions?: string[];
}

/**
 * Objects outside `schemas` that a replace of `schemas` (DROP SCHEMA … CASCADE) would drop, with what recreating
 * them needs. Parts of an object that is itself listed (a view's rule, a constraint's index and triggers) and
 * extension members are left out; so are the replaced schemas' own default privileges (schema state, kept apart).
 */
export async function readDependents(sql: postgres.Sql | postgres.TransactionSql, schemas: string[], options: DependentsOptions = {}): Promise<Dependent[]> {
  if (schemas.length === 0) return [];
  if (!('savepoint' in sql)) return await (sql as postgres.Sql).begin('isolation level repeatable read read only', (tx) => readDependents(tx, schemas, options)) as Dependent[];
  // deparsed names come back schema-qualified only under an empty search_path
  await sql`SELECT pg_catalog.set_config('search_path', '', true)`;
  const nodes = await sql.unsafe<NodeRow[]>(`${WALK}
    SELECT w.c::pg_catalog.int8::pg_catalog.float8 AS c, w.o::pg_catalog.int8::pg_catalog.float8 AS o, w.s, i.type, i.schema, i.identity,
      pg_catalog.pg_describe_object(w.c, w.o, w.s) AS description, rc.relkind,
      tn.nspname AS table_schema, tc.relname AS table_name,
      COALESCE(rc.relname, con.conname, tg.tgname, pol.polname, rw.rulename, p.proname, et.evtname, att.attname) AS name,
      con.contype
    FROM walk w
    CROSS JOIN LATERAL ${identified('w.c, w.o, w.s')} i
    LEFT JOIN pg_catalog.pg_class rc ON w.c = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = w.o
    LEFT JOIN pg_catalog.pg_attribute att ON rc.oid IS NOT NULL AND w.s <> 0 AND att.attrelid = w.o AND att.attnum = w.s
    LEFT JOIN pg_catalog.pg_constraint con ON w.c = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND con.oid = w.o
    LEFT JOIN pg_catalog.pg_trigger tg ON w.c = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND tg.oid = w.o
    LEFT JOIN pg_catalog.pg_policy pol ON w.c = 'pg_catalog.pg_policy'::pg_catalog.regclass AND pol.oid = w.o
    LEFT JOIN pg_catalog.pg_rewrite rw ON w.c = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND rw.oid = w.o
    LEFT JOIN pg_catalog.pg_attrdef ad ON w.c = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND ad.oid = w.o
    LEFT JOIN pg_catalog.pg_proc p ON w.c = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = w.o
    LEFT JOIN pg_catalog.pg_event_trigger et ON w.c = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND et.oid = w.o
    LEFT JOIN pg_catalog.pg_publication_rel pr ON w.c = 'pg_catalog.pg_publication_rel'::pg_catalog.regclass AND pr.oid = w.o
    LEFT JOIN pg_catalog.pg_index ix ON rc.relkind IN ('i', 'I') AND ix.indexrelid = rc.oid
    LEFT JOIN pg_catalog.pg_class tc ON tc.oid = COALESCE(CASE WHEN w.s <> 0 THEN rc.oid END, ix.indrelid, con.conrelid, tg.tgrelid,
      pol.polrelid, rw.ev_class, ad.adrelid, pr.prrelid)
    LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
    WHERE (i.schema IS NULL OR NOT (i.schema = ANY($1::text[]) OR i.schema = ANY($3::text[]) OR i.schema = 'pg_toast'))
      AND w.c <> 'pg_catalog.pg_namespace'::pg_catalog.regclass
      -- an extension of a replaced schema is the replace's own business (schema diff reports it)
      AND NOT (w.c = 'pg_catalog.pg_extension'::pg_catalog.regclass AND EXISTS (SELECT 1 FROM pg_catalog.pg_extension x
        WHERE x.oid = w.o AND x.extnamespace IN ${REPLACED}))
      AND w.c <> 'pg_catalog.pg_default_acl'::pg_catalog.regclass
      -- a cast on a replaced schema's type or function is the replace's own: the model carries it (the diff reports it)
      AND NOT (w.c = 'pg_catalog.pg_cast'::pg_catalog.regclass AND EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
        LEFT JOIN pg_catalog.pg_type ks ON ks.oid = k.castsource LEFT JOIN pg_catalog.pg_type kt ON kt.oid = k.casttarget
        LEFT JOIN pg_catalog.pg_proc kf ON kf.oid = k.castfunc
        WHERE k.oid = w.o AND (ks.typnamespace IN ${REPLACED} OR kt.typnamespace IN ${REPLACED} OR kf.pronamespace IN ${REPLACED})))
      -- an operator family's members go with the family
      AND w.c NOT IN ('pg_catalog.pg_amop'::pg_catalog.regclass, 'pg_catalog.pg_amproc'::pg_catalog.regclass)
      -- parts of a listed object, and members of extensions, go with their owner
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN walk o ON o.c = d.refclassid AND o.o = d.refobjid
        WHERE d.classid = w.c AND d.objid = w.o AND d.deptype IN ('i', 'e') AND w.s = 0)
      AND NOT (w.c = 'pg_catalog.pg_type'::pg_catalog.regclass AND EXISTS (SELECT 1 FROM pg_catalog.pg_type t
        WHERE t.oid = w.o AND (t.typrelid <> 0 OR (t.typelem <> 0 AND t.typlen = -1))))
      AND NOT (w.c = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND rw.rulename = '_RETURN')
      AND NOT (w.c = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND tg.tgisinternal)
      -- a view's column (typed by, or collated with, something dropped) goes with the view, which the walk holds too
      AND NOT (w.s <> 0 AND rc.relkind IN ('v', 'm') AND EXISTS (SELECT 1 FROM walk x WHERE x.c = w.c AND x.o = w.o AND x.s = 0))
      -- a column default of a dropped column goes with the column
      AND NOT (w.c = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND EXISTS (SELECT 1 FROM walk x
        WHERE x.c = 'pg_catalog.pg_class'::pg_catalog.regclass AND x.o = ad.adrelid AND x.s IN (0, ad.adnum)))
    ORDER BY 1, 2, 3`, [schemas, options.keepExtensions ?? [], options.inside ?? []]);
  if (nodes.length === 0) return [];
  const needs = await readNeeds(sql, schemas, nodes);
  const details = await readDetails(sql, nodes);
  const out = nodes.map((n) => toDependent(n, details.get(nodeId(n)) ?? {}, needs.get(nodeId(n)) ?? []));
  return out.sort((a, b) => compareText(a.description, b.description));
}

function nodeId(n: { c: number; o: number; s: number }): string {
  return `${n.c}/${n.o}/${n.s}`;
}

const RELKIND_KIND: Record<string, DependentKind> = { v: 'view', m: 'materialized view', r: 'table', p: 'table', f: 'table', i: 'index', I: 'index' };
const CATALOG_KIND: Record<string, DependentKind> = {
  trigger: 'trigger', policy: 'policy', rule: 'rule', function: 'function', procedure: 'function', aggregate: 'function',
  'default value': 'column default', 'publication relation': 'publication table', 'publication namespace': 'publication schema',
  'event trigger': 'event trigger',
};

function kindOf(n: NodeRow): DependentKind {
  if (n.relkind && n.s !== 0) return 'column';
  if (n.relkind) return RELKIND_KIND[n.relkind] ?? 'other';
  if (n.contype) return n.contype === 'f' ? 'foreign key' : 'constraint';
  return CATALOG_KIND[n.type] ?? 'other';
}

interface Details {
  definition?: string | null; owner?: string; acl?: string[] | null; comment?: string | null; enabled?: string;
  policy?: Dependent['policy']; event?: Dependent['event']; publication?: Dependent['publication'];
  populated?: boolean; reloptions?: string[]; columnComments?: Dependent['columnComments']; rows?: boolean;
}

/** The objects of the replaced schemas each node depends on directly, as model keys. */
async function readNeeds(sql: postgres.Sql | postgres.TransactionSql, schemas: string[], nodes: NodeRow[]): Promise<Map<string, string[]>> {
  const rows = await sql.unsafe<{ c: number; o: number; s: number; type: string; schema: string; name: string | null; identity: string;
    extension: string | null; args: string | null; column: string | null }[]>(`
    WITH node(c, o) AS (SELECT * FROM unnest($2::pg_catalog.oid[], $3::pg_catalog.oid[])),
    -- a view's query is its rule's: the internal parts' dependencies are the owner's
    part(c, o, pc, po) AS (
      SELECT c, o, c, o FROM node
      UNION ALL
      SELECT n.c, n.o, d.classid, d.objid FROM pg_catalog.pg_depend d JOIN node n ON d.refclassid = n.c AND d.refobjid = n.o WHERE d.deptype = 'i'
    )
    SELECT part.c::pg_catalog.int8::pg_catalog.float8 AS c, part.o::pg_catalog.int8::pg_catalog.float8 AS o, d.objsubid AS s,
      i.type, i.schema, COALESCE(rc.relname, ty.typname, p.proname, co.conname) AS name, i.identity,
      (SELECT x.extname FROM pg_catalog.pg_depend m JOIN pg_catalog.pg_extension x ON x.oid = m.refobjid
        WHERE m.classid = d.refclassid AND m.objid = d.refobjid AND m.deptype = 'e' AND m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass LIMIT 1) AS extension,
      CASE WHEN p.oid IS NOT NULL THEN pg_catalog.pg_get_function_identity_arguments(p.oid) END AS args,
      a.attname AS column
    FROM part JOIN pg_catalog.pg_depend d ON d.classid = part.pc AND d.objid = part.po
    CROSS JOIN LATERAL ${identified('d.refclassid, d.refobjid, 0')} i
    LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
    LEFT JOIN pg_catalog.pg_attribute a ON rc.oid IS NOT NULL AND d.refobjsubid > 0 AND a.attrelid = rc.oid AND a.attnum = d.refobjsubid
    LEFT JOIN pg_catalog.pg_type ty ON d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND ty.oid = d.refobjid
    LEFT JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.refobjid
    LEFT JOIN pg_catalog.pg_constraint co ON d.refclassid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND co.oid = d.refobjid
    WHERE d.deptype IN ('n', 'a') AND i.schema = ANY($1::text[])`,
  [schemas, nodes.map((n) => n.c), nodes.map((n) => n.o)]);
  const out = new Map<string, string[]>();
  for (const r of rows) {
    let key: string;
    // what an extension provides comes back with the extension
    if (r.extension !== null) key = objectKey('extension', r.extension);
    else if (r.type === 'function' || r.type === 'procedure' || r.type === 'aggregate') key = objectKey('function', r.schema, r.name ?? '', r.args ?? '');
    else if (r.type.endsWith('constraint')) key = `constraint:${r.identity}`;
    else if (['table', 'view', 'materialized view', 'sequence', 'foreign table', 'index'].includes(r.type)) {
      key = r.column ? `column:${objectKey('relation', r.schema, r.name ?? '')}.${r.column}` : objectKey('relation', r.schema, r.name ?? '');
    } else if (r.type === 'type' || r.type === 'domain' || r.type === 'composite type') key = objectKey('type', r.schema, r.name ?? '');
    else key = `${r.type}:${r.identity}`;
    for (const n of nodes.filter((x) => x.c === r.c && x.o === r.o && (x.s === 0 || x.s === r.s))) {
      const list = out.get(nodeId(n)) ?? [];
      if (!list.includes(key)) list.push(key);
      out.set(nodeId(n), list);
    }
  }
  for (const list of out.values()) list.sort(compareText);
  return out;
}

/** Definitions, owners, privileges and comments of the nodes, one query per catalog that has any. */
async function readDetails(sql: postgres.Sql | postgres.TransactionSql, nodes: NodeRow[]): Promise<Map<string, Details>> {
  const out = new Map<string, Details>();
  const of = (catalog: string) => nodes.filter((n) => n.type !== 'table column' && n.c === Number(catalogOids.get(catalog)));
  const catalogOids = new Map((await sql.unsafe<{ name: string; oid: number }[]>(`
    SELECT relname AS name, oid::pg_catalog.int8::pg_catalog.float8 AS oid FROM pg_catalog.pg_class
    WHERE relnamespace = 'pg_catalog'::pg_catalog.regnamespace AND relname IN ('pg_class', 'pg_constraint', 'pg_trigger', 'pg_policy',
      'pg_rewrite', 'pg_attrdef', 'pg_proc', 'pg_event_trigger', 'pg_publication_rel', 'pg_publication_namespace')`)).map((r) => [r.name, r.oid]));
  const set = (c: string, o: number, s: number, d: Details) => out.set(`${catalogOids.get(c)}/${o}/${s}`, { ...out.get(`${catalogOids.get(c)}/${o}/${s}`), ...d });
  const oids = (catalog: string) => of(catalog).map((n) => n.o);

  const relations = oids('pg_class');
  if (relations.length > 0) {
    const rows = await sql.unsafe<{ o: number; kind: string; definition: string | null; owner: string; acl: string[] | null; comment: string | null;
      populated: boolean; reloptions: string[]; rows: boolean; columns: { column: string; comment: string }[] }[]>(`
      SELECT c.oid::pg_catalog.int8::pg_catalog.float8 AS o, c.relkind AS kind,
        CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) WHEN c.relkind IN ('i', 'I') THEN pg_catalog.pg_get_indexdef(c.oid) END AS definition,
        pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl, pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
        c.relispopulated AS populated, COALESCE(c.reloptions, '{}') AS reloptions, c.reltuples <> 0 AND c.relkind IN ('r', 'p', 'f') AS rows,
        COALESCE((SELECT json_agg(json_build_object('column', a.attname, 'comment', d.description) ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = a.attnum
          WHERE a.attrelid = c.oid AND c.relkind IN ('v', 'm')), '[]') AS columns
      FROM pg_catalog.pg_class c WHERE c.oid = ANY($1::pg_catalog.oid[])`, [relations]);
    for (const r of rows) {
      set('pg_class', r.o, 0, {
        definition: r.definition === null ? null : r.definition.trim().replace(/;$/, ''), owner: r.owner, acl: r.acl, comment: r.comment,
        populated: r.populated, reloptions: r.reloptions, rows: r.rows, columnComments: r.columns,
      });
    }
  }
  const constraints = oids('pg_constraint');
  if (constraints.length > 0) {
    for (const r of await sql.unsafe<{ o: number; definition: string; comment: string | null }[]>(`
      SELECT oid::pg_catalog.int8::pg_catalog.float8 AS o, pg_catalog.pg_get_constraintdef(oid) AS definition, pg_catalog.obj_description(oid, 'pg_constraint') AS comment
      FROM pg_catalog.pg_constraint WHERE oid = ANY($1::pg_catalog.oid[])`, [constraints])) set('pg_constraint', r.o, 0, { definition: r.definition, comment: r.comment });
  }
  const triggers = oids('pg_trigger');
  if (triggers.length > 0) {
    for (const r of await sql.unsafe<{ o: number; definition: string; enabled: string; comment: string | null }[]>(`
      SELECT oid::pg_catalog.int8::pg_catalog.float8 AS o, pg_catalog.pg_get_triggerdef(oid) AS definition, tgenabled AS enabled, pg_catalog.obj_description(oid, 'pg_trigger') AS comment
      FROM pg_catalog.pg_trigger WHERE oid = ANY($1::pg_catalog.oid[])`, [triggers])) set('pg_trigger', r.o, 0, { definition: r.definition, enabled: r.enabled, comment: r.comment });
  }
  const policies = oids('pg_policy');
  if (policies.length > 0) {
    for (const r of await sql.unsafe<{ o: number; permissive: boolean; cmd: string; roles: string[]; using: string | null; with_check: string | null; comment: string | null }[]>(`
      SELECT p.oid::pg_catalog.int8::pg_catalog.float8 AS o, p.polpermissive AS permissive, p.polcmd AS cmd,
        ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r.oid) END FROM unnest(p.polroles) WITH ORDINALITY r(oid, n) ORDER BY r.n) AS roles,
        pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
        pg_catalog.obj_description(p.oid, 'pg_policy') AS comment
      FROM pg_catalog.pg_policy p WHERE p.oid = ANY($1::pg_catalog.oid[])`, [policies])) {
      const command = ({ '*': 'ALL', r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' } as Record<string, string>)[r.cmd] ?? 'ALL';
      set('pg_policy', r.o, 0, { definition: null, comment: r.comment, policy: { permissive: r.permissive, command, roles: r.roles, using: r.using, withCheck: r.with_check } });
    }
  }
  const rules = oids('pg_rewrite');
  if (rules.length > 0) {
    for (const r of await sql.unsafe<{ o: number; definition: string; comment: string | null }[]>(`
      SELECT oid::pg_catalog.int8::pg_catalog.float8 AS o, pg_catalog.pg_get_ruledef(oid) AS definition, pg_catalog.obj_description(oid, 'pg_rewrite') AS comment
      FROM pg_catalog.pg_rewrite WHERE oid = ANY($1::pg_catalog.oid[])`, [rules])) set('pg_rewrite', r.o, 0, { definition: r.definition, comment: r.comment });
  }
  const defaults = oids('pg_attrdef');
  if (defaults.length > 0) {
    for (const r of await sql.unsafe<{ o: number; definition: string; column: string }[]>(`
      SELECT ad.oid::pg_catalog.int8::pg_catalog.float8 AS o, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS definition, a.attname AS column
      FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
      WHERE ad.oid = ANY($1::pg_catalog.oid[])`, [defaults])) set('pg_attrdef', r.o, 0, { definition: r.definition, publication: undefined, event: undefined, comment: r.column });
  }
  const functions = oids('pg_proc');
  if (functions.length > 0) {
    for (const r of await sql.unsafe<{ o: number; definition: string | null; owner: string; acl: string[] | null; comment: string | null }[]>(`
      SELECT oid::pg_catalog.int8::pg_catalog.float8 AS o, CASE WHEN prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(oid) END AS definition,
        pg_catalog.pg_get_userbyid(proowner) AS owner, proacl::text[] AS acl, pg_catalog.obj_description(oid, 'pg_proc') AS comment
      FROM pg_catalog.pg_proc WHERE oid = ANY($1::pg_catalog.oid[])`, [functions])) set('pg_proc', r.o, 0, { definition: r.definition?.trimEnd() ?? null, owner: r.owner, acl: r.acl, comment: r.comment });
  }
  const events = oids('pg_event_trigger');
  if (events.length > 0) {
    for (const r of await sql.unsafe<{ o: number; event: string; tags: string[] | null; fn: string; enabled: string; owner: string; comment: string | null }[]>(`
      SELECT e.oid::pg_catalog.int8::pg_catalog.float8 AS o, e.evtevent AS event, e.evttags AS tags, pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(f.proname) AS fn,
        e.evtenabled AS enabled, pg_catalog.pg_get_userbyid(e.evtowner) AS owner, pg_catalog.obj_description(e.oid, 'pg_event_trigger') AS comment
      FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc f ON f.oid = e.evtfoid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
      WHERE e.oid = ANY($1::pg_catalog.oid[])`, [events])) {
      set('pg_event_trigger', r.o, 0, { definition: null, enabled: r.enabled, owner: r.owner, comment: r.comment, event: { event: r.event, tags: r.tags, function: r.fn } });
    }
  }
  const publications = oids('pg_publication_rel');
  if (publications.length > 0) {
    for (const r of await sql.unsafe<{ o: number; name: string; columns: string[] | null; filter: string | null }[]>(`
      SELECT pr.oid::pg_catalog.int8::pg_catalog.float8 AS o, p.pubname AS name,
        CASE WHEN pr.prattrs IS NOT NULL THEN ARRAY(SELECT a.attname FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY k(n, i)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.n ORDER BY k.i) END AS columns,
        pg_catalog.pg_get_expr(pr.prqual, pr.prrelid) AS filter
      FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
      WHERE pr.oid = ANY($1::pg_catalog.oid[])`, [publications])) set('pg_publication_rel', r.o, 0, { definition: null, publication: { name: r.name, columns: r.columns, rowFilter: r.filter } });
  }
  const publicationSchemas = oids('pg_publication_namespace');
  if (publicationSchemas.length > 0) {
    for (const r of await sql.unsafe<{ o: number; name: string; schema: string }[]>(`
      SELECT pn.oid::pg_catalog.int8::pg_catalog.float8 AS o, p.pubname AS name, n.nspname AS schema
      FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid
      JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
      WHERE pn.oid = ANY($1::pg_catalog.oid[])`, [publicationSchemas])) {
      set('pg_publication_namespace', r.o, 0, { definition: null, publication: { name: r.name, columns: null, rowFilter: null, schema: r.schema } });
    }
  }
  return out;
}

function toDependent(n: NodeRow, d: Details, needs: string[]): Dependent {
  const table = n.table_schema !== null && n.table_name !== null ? `${n.table_schema}.${n.table_name}` : undefined;
  // a domain's constraint (no table) is not recreated
  const kind = (n.contype && table === undefined) ? 'other' : kindOf(n);
  const dependent: Dependent = {
    kind, description: n.description, identity: n.identity, schema: n.schema, ...(table === undefined ? {} : { table }),
    name: n.name ?? n.description, definition: d.definition ?? null,
    holdsRows: kind === 'column' || (kind === 'table' && d.rows !== false),
    needs,
  };
  if (d.owner !== undefined) dependent.owner = d.owner;
  if (d.acl !== undefined) dependent.acl = d.acl;
  if (d.comment !== undefined && kind !== 'column default') dependent.comment = d.comment;
  if (d.enabled !== undefined) dependent.enabled = d.enabled;
  if (d.policy) dependent.policy = d.policy;
  if (d.event) dependent.event = d.event;
  if (d.publication) dependent.publication = d.publication;
  if (kind === 'materialized view' && d.populated !== undefined) dependent.populated = d.populated;
  if ((kind === 'view' || kind === 'materialized view') && d.reloptions) dependent.reloptions = d.reloptions;
  if (d.columnComments && d.columnComments.length > 0) dependent.columnComments = d.columnComments;
  // a column default's column name travels in `comment` from readDetails; keep it as the name
  if (kind === 'column default' && typeof d.comment === 'string') dependent.name = d.comment;
  return dependent;
}

/** Kinds recreated from their captured definition after the replace (the others are lost with it). */
const RECREATABLE: ReadonlySet<DependentKind> = new Set([
  'view', 'materialized view', 'column default', 'constraint', 'foreign key', 'index', 'trigger', 'rule', 'policy', 'function',
  'publication table', 'publication schema', 'event trigger',
]);

/** What a replace does with each dependent: recreated after it, or lost (and why). */
export interface DependentFate {
  dependent: Dependent;
  recreated: boolean;
  /** Why it cannot be recreated, when it cannot. */
  reason?: string;
}

function modelKeys(model: SchemaModel): Set<string> {
  const keys = new Set<string>();
  for (const x of model.extensions) keys.add(objectKey('extension', x.name));
  for (const r of [...model.tables, ...model.views, ...model.sequences]) keys.add(objectKey('relation', r.schema, r.name));
  for (const r of [...model.tables, ...model.views]) for (const i of r.indexes) keys.add(objectKey('relation', r.schema, i.name));
  for (const t of model.tables) for (const c of t.columns) keys.add(`column:${objectKey('relation', t.schema, t.name)}.${c.name}`);
  for (const v of model.views) for (const c of v.columns) keys.add(`column:${objectKey('relation', v.schema, v.name)}.${c.name}`);
  for (const t of [...model.enums, ...model.domains, ...model.compositeTypes, ...model.rangeTypes]) keys.add(objectKey('type', t.schema, t.name));
  for (const r of model.routines) keys.add(objectKey('function', r.schema, r.name, r.identityArguments));
  for (const t of model.tables) for (const c of t.constraints) keys.add(`constraint:${quotedIdent(c.name)} on ${quotedIdent(t.schema)}.${quotedIdent(t.name)}`);
  for (const key of catalogObjectIdentities(model)) keys.add(key);
  return keys;
}

function quotedIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Predicts, before anything is written, which dependents the replace can recreate: their kind must be one that is
 * recreated from its definition, and every object of the replaced schemas they need must exist again in the dump.
 * The recreation itself is still checked when it runs.
 */
export function predictDependents(dependents: Dependent[], dump: SchemaModel): DependentFate[] {
  const keys = modelKeys(dump);
  return dependents.map((dependent) => {
    if (!RECREATABLE.has(dependent.kind)) {
      const reason = dependent.holdsRows ? 'holds rows that cannot be recreated' : 'cannot be recreated';
      return { dependent, recreated: false, reason };
    }
    const missing = dependent.needs.filter((k) => !keys.has(k) && !k.startsWith('constraint:'));
    if (missing.length > 0) return { dependent, recreated: false, reason: `needs ${missing.join(', ')}, which the dump does not have` };
    return { dependent, recreated: true };
  });
}
