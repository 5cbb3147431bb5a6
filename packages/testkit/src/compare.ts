import type postgres from 'postgres';

/** Settings that make the text form of every value deterministic across two sessions. */
const CANONICAL = [
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET TimeZone = 'UTC'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];

export interface DatabaseSnapshot {
  /** qualified table name → every row's text form, sorted */
  tables: Record<string, string[]>;
  /** qualified sequence name → "last_value,is_called" */
  sequences: Record<string, string>;
}

/**
 * Reads every user table's rows (as the row's text form, sorted, so duplicates and order-free tables compare)
 * and every sequence's state. Value by value: two snapshots are equal only when every column of every row is.
 */
export async function snapshotDatabase(sql: postgres.Sql, schemas?: string[]): Promise<DatabaseSnapshot> {
  return sql.begin(async (tx) => {
    for (const s of CANONICAL) await tx.unsafe(s);
    const rels = await tx<{ schema: string; name: string; kind: string }[]>`
      SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'S', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
        -- the tool's record of the last copy in a target (META_SCHEMA), not part of the copy
        AND n.nspname <> 'mbsync_meta'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`;
    const snapshot: DatabaseSnapshot = { tables: {}, sequences: {} };
    for (const rel of rels) {
      if (schemas && !schemas.includes(rel.schema)) continue;
      const ident = `"${rel.schema.replace(/"/g, '""')}"."${rel.name.replace(/"/g, '""')}"`;
      const key = `${rel.schema}.${rel.name}`;
      if (rel.kind === 'S') {
        const [row] = await tx.unsafe(`SELECT last_value::text || ',' || is_called::text AS v FROM ${ident}`);
        snapshot.sequences[key] = String(row?.v);
      } else if (rel.kind === 'm') {
        const populated = await tx`SELECT relispopulated FROM pg_class WHERE oid = ${ident}::regclass`;
        if (!populated[0]?.relispopulated) { snapshot.tables[key] = ['<unpopulated>']; continue; }
        const rows = await tx.unsafe(`SELECT t::text AS r FROM ${ident} t ORDER BY 1`);
        snapshot.tables[key] = rows.map((r) => String(r.r));
      } else {
        const rows = await tx.unsafe(`SELECT t::text AS r FROM ONLY ${ident} t ORDER BY 1`);
        snapshot.tables[key] = rows.map((r) => String(r.r));
      }
    }
    return snapshot;
  });
}
