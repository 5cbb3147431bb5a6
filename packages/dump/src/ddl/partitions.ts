import type { SchemaModel, Table } from '@mbsync/schema-diff';
import { quoteIdent } from './quote.js';

/** A type of pg_catalog as format_type prints it under an empty search_path: unqualified, unquoted. */
function isCatalogType(type: string): boolean {
  return /^[a-z][a-z0-9 _(),[\]]*$/.test(type);
}

/**
 * Leaves of partition trees whose rows must be loaded through the tree's root, keyed 'schema.table' → the root.
 * Hash partitioning hashes an enum by its OID and another user type by its own function, so a row's partition in
 * the target may differ from the source's: such trees (a HASH key on a column of a non-catalog type, or on an
 * expression) are loaded through their root, as pg_dump does.
 */
export function loadThroughRoot(model: SchemaModel): Map<string, { schema: string; name: string }> {
  const byKey = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const out = new Map<string, { schema: string; name: string }>();
  for (const t of model.tables) {
    if (!t.partitionOf || t.kind !== 'table') continue;
    let root: Table = t;
    let via = false;
    for (let parent: { schema: string; name: string } | undefined = t.partitionOf; parent; parent = root.partitionOf) {
      const p = byKey.get(`${parent.schema}.${parent.name}`);
      if (!p) break;
      root = p;
      if (hashesUserValues(p)) via = true;
    }
    if (via) out.set(`${t.schema}.${t.name}`, { schema: root.schema, name: root.name });
  }
  return out;
}

function hashesUserValues(p: Table): boolean {
  const key = /^HASH \((.*)\)$/i.exec(p.partitionKey ?? '');
  if (!key) return false;
  const columns = key[1]!.split(',').map((c) => c.trim());
  return columns.some((c) => {
    const column = p.columns.find((x) => quoteIdent(x.name) === c);
    return column === undefined || !isCatalogType(column.type);
  });
}
