import { modelSchemas, type SchemaModel } from '@mbsync/schema-diff';
import type { DumpManifest } from '../manifest.js';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** Every schema a dump's model puts objects in (replace drops and recreates exactly these). */
export function schemasOfModel(model: SchemaModel): string[] {
  return modelSchemas(model);
}

/** Every schema a dump puts objects in, from its manifest. */
export function schemasOfDump(manifest: DumpManifest | null): string[] {
  return manifest ? schemasOfModel(manifest.schema) : [];
}

const IDENT = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const CREATES_IN_SCHEMA = new RegExp(
  String.raw`^CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|TYPE|DOMAIN|FUNCTION|PROCEDURE|AGGREGATE)\s+(?:IF\s+NOT\s+EXISTS\s+)?${IDENT}\.`,
  'i',
);
const CREATE_SCHEMA = new RegExp(String.raw`^CREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?${IDENT}`, 'i');

function unquoteIdent(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

/**
 * The schemas a dump without a manifest (pg_dump's plain output) creates objects in, read from its
 * statements (pg_dump qualifies every name). COPY data is skipped unread.
 */
export async function scanDumpSchemas(events: AsyncIterable<{ kind: string; sql?: string; data?: AsyncIterable<Buffer> }>): Promise<string[]> {
  const names = new Set<string>();
  for await (const event of events) {
    if (event.kind === 'copy' && event.data) {
      for await (const _chunk of event.data) {
        // drained: data is not SQL
      }
      continue;
    }
    if (event.kind !== 'statement' || !event.sql) continue;
    const m = CREATE_SCHEMA.exec(event.sql) ?? CREATES_IN_SCHEMA.exec(event.sql);
    if (m?.[1]) names.add(unquoteIdent(m[1]));
  }
  return [...names].filter((n) => !SYSTEM_SCHEMAS.has(n)).sort();
}
