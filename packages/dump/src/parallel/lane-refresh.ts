import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import { qualify } from '../ddl.js';
import type { ShadowPlan } from './shadow-plan.js';

/** A materialized view a lane refreshes under its temporary schema's name, before the swap. */
export interface LaneRefresh {
  /** 'schema.name' (real names) */
  key: string;
  /** REFRESH MATERIALIZED VIEW under the temporary name */
  sql: string;
  /** the final transaction's statement it replaces (real names, as ShadowPlan.refresh has it) */
  replaces: string;
  /** 'schema.name' of the tables it reads (through views too): it runs once they are loaded, never beside a task that locks one */
  reads: string[];
  /** the materialized views it reads, refreshed before it */
  after: string[];
}

/**
 * Which of the dump's populated materialized views a lane may refresh beside the live schemas, where it runs alongside
 * the index builds instead of in the final transaction (where it also holds the target's locks the longer). Read from
 * the target's catalog once `prep` has committed the new schemas. A view qualifies only when its result cannot depend
 * on where it is refreshed:
 * - everything it reads (through views too) is a table or view of the new schemas, none loaded after the swap (`late`)
 *   and none whose row security is forced; with owners restored, all of them have the view's owner, who therefore
 *   sees every row and needs no grant, exactly as the lane's user does before owners, grants and policies are applied;
 * - every function and operator it calls is a built-in (pg_catalog) and immutable: nothing that looks a name up as it
 *   runs (a text body, to_regclass, a reg* output), reads a setting, a sequence, a size or a large object;
 * - every type is a built-in other than the reg* types (whose text is a name), or an enum, row, base or domain type of
 *   the new schemas (not a range: its canonical function may be anything), and so is every type a domain is over, an
 *   array holds and a row type's attributes have (a domain over regclass, a row with a regclass field, print names);
 * - its rule holds no sequence's next value, row comparison, XMLTABLE, CURRENT_… (SQLValueFunction) or coercion to a
 *   domain (the only place a domain's checks run, and a check pg_dump adds with post-data, NOT VALID, is not there yet:
 *   reading a domain-typed column, or storing into one, checks nothing);
 * - the materialized views it reads qualify too.
 * Every other one is refreshed where it was: in the final transaction, after the swap.
 */
export async function planLaneRefreshes(
  sql: postgres.Sql, model: SchemaModel, plan: ShadowPlan, options: { owners?: boolean },
): Promise<LaneRefresh[]> {
  const populated = model.views.filter((v) => v.materialized && v.populated && plan.shadows.has(v.schema));
  if (populated.length === 0) return [];
  const real = new Map([...plan.shadows].map(([schema, shadow]) => [shadow, schema]));
  const reads = await readViews(sql, real, new Set(plan.late));
  const tables = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const views = new Map(model.views.map((v) => [`${v.schema}.${v.name}`, v]));
  const lane = new Map<string, LaneRefresh>();
  // until nothing changes: a materialized view qualifies once those it reads have
  for (let before = -1; before !== lane.size;) {
    before = lane.size;
    for (const v of populated) {
      const key = `${v.schema}.${v.name}`;
      if (lane.has(key)) continue;
      const refresh = qualifies(v, key);
      if (refresh) lane.set(key, refresh);
    }
  }
  return [...lane.values()];

  function qualifies(v: SchemaModel['views'][number], key: string): LaneRefresh | null {
    const closure = { tables: new Set<string>(), views: new Set<string>(), matviews: new Set<string>(), refused: false };
    const visit = (at: string, seen: Set<string>) => {
      if (seen.has(at)) return;
      seen.add(at);
      const e = reads.get(at);
      if (!e) {
        closure.refused = true;
        return;
      }
      if (e.refused) closure.refused = true;
      for (const t of e.tables) closure.tables.add(t);
      for (const m of e.matviews) closure.matviews.add(m);
      for (const w of e.views) {
        closure.views.add(w);
        visit(w, seen);
      }
    };
    visit(key, new Set());
    if (closure.refused || [...closure.matviews].some((m) => !lane.has(m))) return null;
    const everyRelation = [...closure.tables, ...closure.views, ...closure.matviews].map((k) => tables.get(k) ?? views.get(k));
    if (everyRelation.some((rel) => rel === undefined || (options.owners && rel.owner !== v.owner))) return null;
    if ([...closure.tables].some((k) => tables.get(k)?.rlsForced)) return null;
    return {
      key,
      sql: `REFRESH MATERIALIZED VIEW ${qualify(plan.shadows.get(v.schema)!, v.name)};`,
      replaces: `REFRESH MATERIALIZED VIEW ${qualify(v.schema, v.name)};`,
      reads: [...closure.tables],
      after: [...closure.matviews],
    };
  }
}


/** What a view's rule reads and calls, and whether any of it rules a refresh beside the live schemas out. */
interface ViewReads {
  tables: Set<string>;
  views: Set<string>;
  matviews: Set<string>;
  refused: boolean;
}

/** Fields of a rule's node tree (pg_rewrite.ev_action) that hold an object's OID, by the catalog it is in. */
const FUNCTION_FIELDS = new Set(['funcid', 'opfuncid', 'aggfnoid', 'winfnoid', 'hashfuncid', 'negfuncid', 'startInRangeFunc', 'endInRangeFunc']);
const OPERATOR_FIELDS = new Set(['opno', 'eqop', 'sortop']);
/** (not every field whose name ends in "type" holds a type: `jointype`, `sublinktype`, `nulltesttype` hold enums) */
const TYPE_FIELDS = new Set([
  'vartype', 'consttype', 'paramtype', 'aggtype', 'aggtranstype', 'wintype', 'funcresulttype', 'opresulttype', 'resulttype', 'row_typeid',
  'minmaxtype', 'casetype', 'coalescetype', 'array_typeid', 'element_typeid', 'refcontainertype', 'refelemtype', 'refrestype', 'typeId',
]);
/**
 * Nodes whose meaning no OID tells: a sequence's next value, a row comparison's operator list, XMLTABLE, CURRENT_…; and
 * a coercion to a domain, which runs the domain's checks (those pg_dump adds after the data are not there in a lane)
 */
const REFUSED_NODES = /\{(NEXTVALUEEXPR|ROWCOMPARE|TABLEFUNC|SQLVALUEFUNCTION|COERCETODOMAIN) /;

/**
 * Every view and materialized view of the new schemas (real 'schema.name'), from its rule's node tree: the OIDs in it
 * are every relation, function, operator, type and collation the query uses. (pg_depend would not do: it records no
 * dependency on a built-in object, so now() or a read of pg_class leaves no trace there.)
 */
async function readViews(sql: postgres.Sql, real: Map<string, string>, late: Set<string>): Promise<Map<string, ViewReads>> {
  const rules = await sql.unsafe<{ oid: string; schema: string; name: string; tree: string }[]>(`
    SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, w.ev_action::text AS tree
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_rewrite w ON w.ev_class = c.oid AND w.rulename = '_RETURN'
    WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1::text[])`, [[...real.keys()]]);
  const found = rules.map((r) => {
    const oids = { relations: new Set<string>(), functions: new Set<string>(), operators: new Set<string>(), types: new Set<string>(), collations: new Set<string>() };
    for (const m of r.tree.matchAll(/:(\w+) (\d+)/g)) {
      const [, field, oid] = m as unknown as [string, string, string];
      if (oid === '0') continue;
      if (field === 'relid') {
        if (oid !== r.oid) oids.relations.add(oid);
      } else if (FUNCTION_FIELDS.has(field)) oids.functions.add(oid);
      else if (OPERATOR_FIELDS.has(field)) oids.operators.add(oid);
      else if (/(collid|collOid|Coll)$/.test(field)) oids.collations.add(oid);
      else if (TYPE_FIELDS.has(field)) oids.types.add(oid);
    }
    return { key: `${real.get(r.schema)}.${r.name}`, oids, refused: REFUSED_NODES.test(r.tree) };
  });
  const all = (pick: (o: (typeof found)[number]['oids']) => Set<string>) => [...new Set(found.flatMap((f) => [...pick(f.oids)]))];
  const [relations, functions, operators, types, collations] = await Promise.all([
    sql.unsafe<{ oid: string; schema: string; name: string; kind: string }[]>(
      `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])`,
      [all((o) => o.relations)]),
    // a built-in and immutable function: nothing it does depends on names, settings or the database's contents
    sql.unsafe<{ oid: string }[]>(
      `SELECT oid::text AS oid FROM pg_catalog.pg_proc WHERE oid = ANY($1::oid[]) AND pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND provolatile = 'i'`,
      [all((o) => o.functions)]),
    sql.unsafe<{ oid: string }[]>(
      `SELECT o.oid::text AS oid FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
       WHERE o.oid = ANY($1::oid[]) AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND p.provolatile = 'i'`,
      [all((o) => o.operators)]),
    // a built-in other than the reg* types (their text is the name an object has when it is printed), or an enum, a
    // row, base or domain type of the new schemas (not a range: its canonical function may be anything); so must be
    // every type it is made of: a domain's base type, an array's elements, a row type's attributes (a domain over
    // regclass or a row with a regclass field prints names as well)
    sql.unsafe<{ oid: string }[]>(
      `WITH RECURSIVE made_of(top, part) AS (
         SELECT t.oid, t.oid FROM pg_catalog.pg_type t WHERE t.oid = ANY($1::oid[])
         UNION
         SELECT m.top, x.part FROM made_of m JOIN pg_catalog.pg_type t ON t.oid = m.part
         CROSS JOIN LATERAL (
           SELECT t.typbasetype AS part WHERE t.typtype = 'd'
           UNION ALL SELECT t.typelem WHERE t.typelem <> 0 AND t.typlen = -1
           UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
         ) x)
       SELECT m.top::text AS oid FROM made_of m JOIN pg_catalog.pg_type t ON t.oid = m.part JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       GROUP BY m.top
       HAVING pg_catalog.bool_and(CASE WHEN n.nspname = 'pg_catalog' THEN t.typname !~ '^_?reg' ELSE n.nspname = ANY($2::text[]) AND t.typtype IN ('b', 'c', 'e', 'd') END)`,
      [all((o) => o.types), [...real.keys()]]),
    sql.unsafe<{ oid: string }[]>(
      `SELECT c.oid::text AS oid FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
       WHERE c.oid = ANY($1::oid[]) AND (n.nspname = 'pg_catalog' OR n.nspname = ANY($2::text[]))`,
      [all((o) => o.collations), [...real.keys()]]),
  ]);
  const relationByOid = new Map(relations.map((r) => [r.oid, r]));
  const allowed = (rows: { oid: string }[]) => new Set(rows.map((r) => r.oid));
  const [fns, ops, tys, colls] = [allowed(functions), allowed(operators), allowed(types), allowed(collations)];
  const out = new Map<string, ViewReads>();
  for (const f of found) {
    const e: ViewReads = { tables: new Set(), views: new Set(), matviews: new Set(), refused: f.refused };
    const every = (set: Set<string>, ok: Set<string>) => [...set].every((oid) => ok.has(oid));
    if (!every(f.oids.functions, fns) || !every(f.oids.operators, ops) || !every(f.oids.types, tys) || !every(f.oids.collations, colls)) e.refused = true;
    for (const oid of f.oids.relations) {
      const rel = relationByOid.get(oid);
      if (!rel || !real.has(rel.schema)) {
        e.refused = true;
        continue;
      }
      const key = `${real.get(rel.schema)}.${rel.name}`;
      if (rel.kind === 'r' || rel.kind === 'p') {
        if (late.has(key)) e.refused = true;
        e.tables.add(key);
      } else if (rel.kind === 'v') e.views.add(key);
      else if (rel.kind === 'm') e.matviews.add(key);
      else e.refused = true;
    }
    out.set(f.key, e);
  }
  return out;
}
