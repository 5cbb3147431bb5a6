import type postgres from 'postgres';
import type { SchemaModel } from '@mbsync/schema-diff';
import type { DumpManifest } from './manifest.js';
import { quoteIdent } from './ddl.js';
import { quoteLiteral } from './sql-literal.js';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** Every schema a dump's model puts objects in. */
export function schemasOfModel(model: SchemaModel): string[] {
  const names = new Set<string>();
  for (const value of Object.values(model as unknown as Record<string, unknown>)) {
    if (!Array.isArray(value)) continue;
    for (const item of value as { schema?: unknown }[]) {
      if (typeof item?.schema === 'string') names.add(item.schema);
    }
  }
  for (const s of model.schemas) names.add(s.name);
  return [...names].filter((n) => !SYSTEM_SCHEMAS.has(n)).sort();
}

/** Every schema a dump puts objects in, from its manifest. */
export function schemasOfDump(manifest: DumpManifest | null): string[] {
  return manifest ? schemasOfModel(manifest.schema) : [];
}

/**
 * Replace mode: drops the dumped schemas with everything in them, inside the import's transaction, so the
 * dump recreates them from scratch. `public` is recreated at once with its previous owner, grants and
 * comment, because dumps (like pg_dump's) assume it exists.
 */
export async function dropSchemasForReplace(tx: postgres.TransactionSql, schemas: string[]): Promise<void> {
  for (const schema of schemas) {
    if (SYSTEM_SCHEMAS.has(schema)) continue;
    if (schema !== 'public') {
      await tx.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      continue;
    }
    const [before] = await tx<{ owner: string; comment: string | null }[]>`
      SELECT pg_catalog.pg_get_userbyid(nspowner) AS owner, pg_catalog.obj_description(oid, 'pg_namespace') AS comment
      FROM pg_catalog.pg_namespace WHERE nspname = 'public'`;
    const grants = await tx<{ grantee: string | null; privilege: string }[]>`
      SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege
      FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
      WHERE n.nspname = 'public' AND a.grantee <> n.nspowner`;
    await tx.unsafe('DROP SCHEMA IF EXISTS public CASCADE');
    await tx.unsafe('CREATE SCHEMA public');
    if (!before) continue;
    await tx.unsafe(`ALTER SCHEMA public OWNER TO ${quoteIdent(before.owner)}`);
    for (const g of grants) await tx.unsafe(`GRANT ${g.privilege} ON SCHEMA public TO ${g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee)}`);
    if (before.comment !== null) await tx.unsafe(`COMMENT ON SCHEMA public IS ${quoteLiteral(before.comment)}`);
  }
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
