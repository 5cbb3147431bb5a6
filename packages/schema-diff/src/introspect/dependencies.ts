import type postgres from 'postgres';
import type { DependencyEdge, ObjectKind } from '../model.js';
import { objectKey } from '../model.js';
import { CATALOG_OBJECT_ROWS } from './catalog-sql.js';
import { compareText } from './rows.js';

// Maps catalog rows to the dumpable object that carries them: a column default or a view's _RETURN rule to its
// relation, an array or multirange type to its element/range type, a table's row type to the table, a CHECK to
// its table (it is rendered inline), a domain constraint to its domain. Primary keys and unique constraints are
// nodes of their own: a view may depend on one (GROUP BY a key), which makes it wait for post-data.
const OBJECTS = `
  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid,
    CASE WHEN c.relkind = 'c' THEN 'type' ELSE 'relation' END AS kind, n.nspname AS schema, c.relname AS name, NULL::text AS args
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')
  UNION ALL
  SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid,
    CASE WHEN bc.relkind IS NOT NULL AND bc.relkind <> 'c' THEN 'relation' ELSE 'type' END, bn.nspname, b.typname, NULL
  FROM pg_catalog.pg_type t
  LEFT JOIN pg_catalog.pg_type e ON t.typelem <> 0 AND e.oid = t.typelem AND e.typarray = t.oid
  LEFT JOIN pg_catalog.pg_range r ON r.rngmultitypid = t.oid
  JOIN pg_catalog.pg_type b ON b.oid = COALESCE(e.oid, r.rngtypid, t.oid)
  JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
  LEFT JOIN pg_catalog.pg_class bc ON bc.oid = b.typrelid
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 'function', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname <> 'pg_catalog'
  UNION ALL
  SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, ad.oid, 'relation', n.nspname, c.relname, NULL
  FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_class c ON c.oid = ad.adrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, rw.oid, 'relation', n.nspname, c.relname, NULL
  FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE rw.rulename = '_RETURN'
  UNION ALL
  SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, co.oid,
    CASE WHEN co.contypid <> 0 THEN 'type' WHEN co.contype = 'c' THEN 'relation' ELSE 'constraint' END,
    n.nspname, COALESCE(t.typname, c.relname), CASE WHEN co.contype IN ('p', 'u') THEN co.conname END
  FROM pg_catalog.pg_constraint co
  LEFT JOIN pg_catalog.pg_type t ON t.oid = co.contypid
  LEFT JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = COALESCE(t.typnamespace, c.relnamespace)
  WHERE co.contypid <> 0 OR co.contype IN ('c', 'p', 'u')
  UNION ALL
  SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 'schema', n.nspname, NULL, NULL FROM pg_catalog.pg_namespace n
  UNION ALL
  SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, x.oid, 'extension', x.extname, NULL, NULL FROM pg_catalog.pg_extension x
  UNION ALL ${CATALOG_OBJECT_ROWS}`;

// an operator class belongs to its family by an auto dependency: the family is created first
const CLASS_IN_FAMILY = `(d.deptype = 'a' AND d.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass
    AND d.refclassid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass)`;

interface EdgeRow {
  from_kind: ObjectKind; from_schema: string; from_name: string | null; from_args: string | null;
  to_kind: ObjectKind; to_schema: string; to_name: string | null; to_args: string | null;
}

function key(kind: ObjectKind, schema: string, name: string | null, args: string | null): string {
  return objectKey(kind, schema, name ?? undefined, args ?? undefined);
}

/**
 * Ordering edges between dumpable objects, from pg_depend's normal ('n') dependencies plus partition → parent
 * (an auto dependency). Auto dependencies are otherwise left out: OWNED BY makes a serial sequence depend on
 * its column while the column's default depends on the sequence, and pg_dump too breaks that by ALTER SEQUENCE
 * … OWNED BY after the table. Edges whose ends are not in `nodes` are dropped.
 */
export async function readDependencies(tx: postgres.TransactionSql, nodes: ReadonlySet<string>): Promise<DependencyEdge[]> {
  const rows = await tx.unsafe<EdgeRow[]>(`
    WITH obj AS (${OBJECTS}),
    member AS (
      SELECT d.classid, d.objid, x.extname FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid
      WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
    )
    SELECT DISTINCT f.kind AS from_kind, f.schema AS from_schema, f.name AS from_name, f.args AS from_args,
      CASE WHEN m.extname IS NOT NULL THEN 'extension' ELSE t.kind END AS to_kind,
      COALESCE(m.extname, t.schema) AS to_schema,
      CASE WHEN m.extname IS NULL THEN t.name END AS to_name, CASE WHEN m.extname IS NULL THEN t.args END AS to_args
    FROM pg_catalog.pg_depend d
    JOIN obj f ON f.classid = d.classid AND f.objid = d.objid
    JOIN obj t ON t.classid = d.refclassid AND t.objid = d.refobjid
    LEFT JOIN member m ON m.classid = d.refclassid AND m.objid = d.refobjid
    WHERE (d.deptype = 'n' OR ${CLASS_IN_FAMILY} OR (d.deptype = 'a' AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
        AND d.refobjsubid = 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = d.objid AND i.inhparent = d.refobjid)))
      AND NOT EXISTS (SELECT 1 FROM member fm WHERE fm.classid = d.classid AND fm.objid = d.objid)`);

  const seen = new Set<string>();
  const edges: DependencyEdge[] = [];
  for (const r of rows) {
    const from = key(r.from_kind, r.from_schema, r.from_name, r.from_args);
    const to = key(r.to_kind, r.to_schema, r.to_name, r.to_args);
    const id = `${from}\n${to}`;
    if (from === to || seen.has(id) || !nodes.has(from) || !nodes.has(to)) continue;
    seen.add(id);
    edges.push({ from, to });
  }
  return edges.sort((a, b) => compareText(a.from, b.from) || compareText(a.to, b.to));
}
