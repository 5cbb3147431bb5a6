import type postgres from 'postgres';
import { SchemaDiffError } from '../errors.js';

/**
 * Schemas a Supabase project's platform owns (plus PostgreSQL's own): a copy into a Supabase-shaped target leaves
 * their structure to the platform. `pg_temp_*` / `pg_toast_temp_*` are matched by pattern in `isManagedSchema`.
 */
export const MANAGED_SCHEMAS: readonly string[] = Object.freeze([
  'auth', 'storage', 'realtime', 'extensions', 'vault', 'graphql', 'graphql_public', 'supabase_functions',
  'supabase_migrations', 'cron', 'net', 'pgsodium', 'pgsodium_masks', 'pgbouncer', '_realtime', '_analytics',
  'pgtle', 'information_schema', 'pg_catalog', 'pg_toast',
]);

/** Options of `introspect`: which schemas and tables make up the model. */
export interface IntrospectOptions {
  /** Only these schemas (not the system schemas). Default: every schema but the system ones, as pg_dump. */
  schemas?: string[];
  /** Schemas to leave out. */
  excludeSchemas?: string[];
  /** Tables to leave out entirely, as 'schema.table' (unquoted names). */
  excludeTables?: string[];
  /**
   * Also read the database-wide objects a whole-database copy carries (publications, event triggers, global default
   * privileges), as pg_dump does without -n. Default: when `schemas` is not given.
   */
  databaseWide?: boolean;
}

/** Whether a selection reads the database-wide objects too. */
export function readsDatabaseWide(options: IntrospectOptions): boolean {
  return options.databaseWide ?? options.schemas === undefined;
}

/**
 * The tool's own schema in a target: one table recording the last copy a sync made into it (what decides whether
 * the next sync may be incremental). Never part of a database's model, like the staging schemas.
 */
export const META_SCHEMA = 'mbsync_meta';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** True for MANAGED_SCHEMAS and the per-session temporary schemas. */
export function isManagedSchema(name: string): boolean {
  return MANAGED_SCHEMAS.includes(name) || /^pg_temp_\d+$/.test(name) || /^pg_toast_temp_\d+$/.test(name);
}

/** The schema names the model covers, sorted. */
export async function selectSchemas(tx: postgres.TransactionSql, options: IntrospectOptions): Promise<string[]> {
  const rows = await tx<{ name: string }[]>`SELECT nspname AS name FROM pg_catalog.pg_namespace ORDER BY 1`;
  const exclude = new Set(options.excludeSchemas ?? []);
  const present = new Set(rows.map((r) => r.name));
  if (options.schemas) {
    const missing = options.schemas.filter((s) => !present.has(s));
    if (missing.length > 0) {
      throw new SchemaDiffError('SCHEMA_DIFF_INVALID_OPTIONS', `schema(s) not found: ${missing.join(', ')}`, { details: { missing } });
    }
    const system = options.schemas.filter((s) => SYSTEM_SCHEMAS.has(s) || /^pg_(toast_)?temp_\d+$/.test(s));
    if (system.length > 0) {
      throw new SchemaDiffError('SCHEMA_DIFF_INVALID_OPTIONS', `system schema(s) cannot be dumped: ${system.join(', ')}`);
    }
    return [...new Set(options.schemas)].filter((s) => !exclude.has(s)).sort();
  }
  // a staging schema is a replacement being built by an import into this database, never part of it; the meta
  // schema is the tool's record of the last copy
  return rows.map((r) => r.name).filter((s) => !SYSTEM_SCHEMAS.has(s) && !/^pg_(toast_)?temp_\d+$/.test(s) && !s.startsWith('mbsync_stage_') && s !== META_SCHEMA && !exclude.has(s));
}
