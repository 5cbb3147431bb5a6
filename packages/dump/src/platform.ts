import type postgres from 'postgres';
import { MANAGED_SCHEMAS, narrowModel, type SchemaModel, type Table } from '@mbsync/schema-diff';
import { renderPolicy } from './ddl/post-data.js';
import { qualify, quoteLiteral } from './ddl/quote.js';

/**
 * A target whose platform owns some schemas (a local Supabase stack: the platform's roles and its `auth` and
 * `storage` schemas present). A copy leaves those schemas' structure to the platform and loads only the rows of
 * the platform tables the user's data refers to, as Supabase's own project-migration scripts do.
 */
export interface PlatformTarget {
  /** the platform's schemas present in the target: never dropped or recreated */
  schemas: string[];
}

/** Schemas whose tables' rows a copy into a platform target loads (the users and their files). */
const DATA_SCHEMAS: ReadonlySet<string> = new Set(['auth', 'storage']);
/** The platform's own bookkeeping: its migrations are the target's, never the source's. */
const BOOKKEEPING: ReadonlySet<string> = new Set(['auth.schema_migrations', 'storage.migrations']);

/** The target's platform, when it is Supabase-shaped (role supabase_admin, schemas auth and storage); else null. */
export async function readPlatformTarget(sql: postgres.Sql | postgres.TransactionSql): Promise<PlatformTarget | null> {
  const [row] = await sql<{ shaped: boolean; schemas: string[] }[]>`
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'supabase_admin')
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth')
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'storage') AS shaped,
      ARRAY(SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY(${[...MANAGED_SCHEMAS]}::text[]) ORDER BY 1) AS schemas`;
  return row?.shaped ? { schemas: row.schemas } : null;
}

/** What a copy does with a model when the target has a platform. */
export interface PlatformSplit {
  /** the model without the platform's schemas: what the replace builds */
  model: SchemaModel;
  /** the platform tables whose rows are loaded (data-only: truncated, triggers off, keys re-checked) */
  dataTables: Table[];
  /**
   * The user's own additions to platform tables (a trigger on auth.users, policies on storage.objects): created
   * when the target does not have them, after the data.
   */
  additions: string[];
}

/** Splits the dump's model for a platform target. */
export function splitForPlatform(model: SchemaModel, platform: PlatformTarget): PlatformSplit {
  const owned = new Set(platform.schemas);
  const dataTables = model.tables.filter((t) => owned.has(t.schema) && DATA_SCHEMAS.has(t.schema) && t.kind === 'table'
    && !BOOKKEEPING.has(`${t.schema}.${t.name}`));
  return { model: narrowModel(model, (schema) => !owned.has(schema)), dataTables, additions: model.tables.filter((t) => owned.has(t.schema)).flatMap(userAdditions) };
}

/** DO blocks creating a platform table's triggers and policies, and turning its RLS on, when the target lacks them. */
function userAdditions(t: Table): string[] {
  const table = qualify(t.schema, t.name);
  const relation = `${quoteLiteral(table)}::pg_catalog.regclass`;
  const block = (exists: string, statement: string) =>
    `DO $mbsync$\nBEGIN\n  IF to_regclass(${quoteLiteral(table)}) IS NOT NULL AND NOT EXISTS (${exists}) THEN\n    ${statement}\n  END IF;\nEND\n$mbsync$;`;
  const out: string[] = [];
  for (const g of t.triggers) {
    out.push(block(`SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = ${relation} AND tgname = ${quoteLiteral(g.name)}`, `${g.definition.trimEnd().replace(/;$/, '')};`));
  }
  if (t.rlsEnabled) out.push(block(`SELECT 1 FROM pg_catalog.pg_class WHERE oid = ${relation} AND relrowsecurity`, `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;`));
  for (const p of t.policies) {
    out.push(block(`SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = ${relation} AND polname = ${quoteLiteral(p.name)}`, renderPolicy(table, p)));
  }
  return out;
}

