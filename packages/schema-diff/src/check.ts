import type postgres from 'postgres';
import { diffSchemas, type DiffOptions, type SchemaChange } from './diff.js';
import { predictDependents, readDependents, type DependentFate } from './introspect/dependents.js';
import { introspect } from './introspect.js';
import { readUncopied } from './introspect/uncopied.js';
import { modelSchemas, objectKey, type SchemaModel } from './model.js';
import { countTargetRows, judgeImport, tablesToCount, type Verdict } from './verdict.js';
import { readMissingRoles, type MissingRole, type RoleUse } from './roles.js';

/** What an import of a dump would do to a target, read from the target in one snapshot. */
/** What the import will set, for the checks that depend on it. */
export interface CheckOptions extends DiffOptions {
  /** owners and privileges the import copies: their roles must exist in the target (see referencedRoles) */
  roles?: RoleUse & {
    /** the import creates the missing roles (NOLOGIN, no membership): not a refusal then, only a list */
    create?: boolean;
  };
}

export interface TargetCheck {
  /** The target's catalog of the schemas the dump replaces (those of them that exist). */
  target: SchemaModel;
  changes: SchemaChange[];
  verdict: Verdict;
  targetRowCounts: Record<string, number>;
  dependents: DependentFate[];
  /** Roles the copy needs that the target's cluster lacks. */
  missingRoles: MissingRole[];
}

/**
 * The one schema check behind validate, `mbsync diff` and the api: reads the target's schemas the dump would
 * replace — whatever they are called, Supabase's `auth` included — diffs them against the dump's model, counts the
 * rows of what replace would drop, walks pg_depend for the target's objects outside those schemas that depend on
 * them, and judges both import modes. Given a pool it opens its own REPEATABLE READ READ ONLY transaction; given a
 * transaction (an import's, under its lock) it reads inside it.
 */
export async function checkTarget(sql: postgres.Sql | postgres.TransactionSql, dump: SchemaModel, options: CheckOptions = {}): Promise<TargetCheck> {
  if (!('savepoint' in sql)) {
    return await (sql as postgres.Sql).begin('isolation level repeatable read read only', (tx) => checkTarget(tx, dump, options)) as TargetCheck;
  }
  const wanted = modelSchemas(dump);
  const present = await sql<{ name: string }[]>`SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ANY(${wanted}::text[]) ORDER BY 1`;
  const schemas = present.map((r) => r.name);
  const target = await introspect(sql, { schemas });
  const changes = diffSchemas(dump, target, options);
  const targetRowCounts = await countTargetRows(sql, tablesToCount(changes));
  const dependents = predictDependents(await readDependents(sql, schemas), dump);
  // objects of the replaced schemas the model cannot carry: the replace drops them and no backup holds them
  const uncopied = await readUncopied(sql, schemas, { databaseWide: false, privileges: false });
  const missingRoles = await readMissingRoles(sql, dump, options.roles ?? {});
  const extensions = await readUninstallable(sql, dump);
  const [session] = await sql<{ superuser: boolean }[]>`SELECT rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user`;
  // an event trigger's owner must be a superuser: a role that is not one (or one --create-roles would make) cannot own it
  const eventOwners = options.roles?.owners ? [...new Set((dump.eventTriggers ?? []).map((e) => e.owner))] : [];
  const superusers = new Set((await sql<{ name: string }[]>`SELECT rolname AS name FROM pg_catalog.pg_roles WHERE rolname = ANY(${eventOwners}::text[]) AND rolsuper`).map((r) => r.name));
  const eventTriggerOwners = (dump.eventTriggers ?? []).filter((e) => eventOwners.includes(e.owner) && !superusers.has(e.owner)).map((e) => `event trigger ${e.name} (owner ${e.owner})`);
  const verdict = judgeImport(changes, {
    targetRowCounts, dependents, uncopied,
    missingRoles: { roles: missingRoles, created: options.roles?.create === true },
    eventTriggersNeedSuperuser: (dump.eventTriggers?.length ?? 0) > 0 && session?.superuser !== true,
    eventTriggerOwners,
    extensions,
  });
  return { target, changes, targetRowCounts, dependents, missingRoles, verdict };
}

/**
 * The dump's extensions the target lacks and cannot install: not available on its server (pg_graphql, pgsodium… on a
 * plain PostgreSQL), or untrusted while the importing role is no superuser. Each with what needs it and how to leave
 * it out.
 */
async function readUninstallable(sql: postgres.TransactionSql, dump: SchemaModel): Promise<string[]> {
  const names = dump.extensions.map((x) => x.name);
  if (names.length === 0) return [];
  const rows = await sql<{ name: string; installed: boolean; available: boolean; trusted: boolean; superuser: boolean }[]>`
    SELECT n.name,
      EXISTS (SELECT 1 FROM pg_catalog.pg_extension x WHERE x.extname = n.name) AS installed,
      EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions a WHERE a.name = n.name) AS available,
      COALESCE((SELECT bool_or(v.trusted OR NOT v.superuser) FROM pg_catalog.pg_available_extension_versions v WHERE v.name = n.name), false) AS trusted,
      (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser
    FROM unnest(${names}::text[]) AS n(name)`;
  const out: string[] = [];
  for (const r of rows) {
    if (r.installed || (r.available && (r.trusted || r.superuser))) continue;
    const x = dump.extensions.find((e) => e.name === r.name)!;
    const key = objectKey('extension', x.name);
    const users = [...new Set(dump.dependencies.filter((e) => e.to === key).map((e) => e.from.replace(/^[a-z]+:/, '')))];
    const why = r.available ? 'needs a superuser to install' : 'is not available on the target\'s server';
    out.push(`extension ${x.name} (schema ${x.schema}) ${why}${users.length ? `; used by ${users.slice(0, 5).join(', ')}${users.length > 5 ? ', …' : ''}` : ''}; leave it out with --exclude-schema ${x.schema}, or the objects using it with --exclude-table`);
  }
  return out;
}
