import type postgres from 'postgres';
import { readUncopied, selectSchemas, type IntrospectOptions } from '@mbsync/schema-diff';
import { DumpError } from './errors.js';

/**
 * Refuses, inside the exporter's snapshot and before anything is written, a source holding objects the copy would
 * lose (see readUncopied): each is named, with the way to leave it out. A whole-database selection (no `schemas`)
 * includes database-wide objects, as pg_dump's does.
 */
export async function assertCopiable(tx: postgres.TransactionSql, selection: IntrospectOptions & { privileges?: boolean }, sourceName: string): Promise<void> {
  const schemas = await selectSchemas(tx, selection);
  const uncopied = await readUncopied(tx, schemas, { databaseWide: selection.schemas === undefined, privileges: selection.privileges === true });
  if (uncopied.length === 0) return;
  const named = uncopied.map((u) => u.description);
  throw new DumpError('DUMP_UNSUPPORTED_OBJECTS',
    `"${sourceName}" holds objects this tool cannot copy yet, so nothing was copied: ${named.slice(0, 8).join('; ')}${named.length > 8 ? `; … (${named.length} in all)` : ''}. `
    + 'Leave their schemas out (--exclude-schema) or copy only the schemas you need (--schema), or remove them from the source.',
    { details: { objects: uncopied } });
}
