import type { DefaultPrivilege, EventTrigger, Publication, SchemaModel } from '@mbsync/schema-diff';
import { parseAclItem } from './privileges.js';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';

const DEFAULT_OBJECTS: Record<DefaultPrivilege['objectType'], string> = { tables: 'TABLES', sequences: 'SEQUENCES', functions: 'FUNCTIONS', types: 'TYPES', schemas: 'SCHEMAS' };
/** What a role's objects of each type grant by default (the built-in defaults a global entry replaces). */
const BUILT_IN_PUBLIC: Partial<Record<DefaultPrivilege['objectType'], string>> = { functions: 'EXECUTE', types: 'USAGE' };

/**
 * ALTER DEFAULT PRIVILEGES for one entry. An entry IN SCHEMA only adds grants; a global one replaces the built-in
 * defaults, so it first revokes them (pg_dump's way).
 */
export function renderDefaultPrivilege(d: DefaultPrivilege): string[] {
  const head = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(d.role)}${d.schema === null ? '' : ` IN SCHEMA ${quoteIdent(d.schema)}`}`;
  const objects = DEFAULT_OBJECTS[d.objectType];
  const out: string[] = [];
  if (d.schema === null) {
    out.push(`${head} REVOKE ALL ON ${objects} FROM ${quoteIdent(d.role)};`);
    const builtIn = BUILT_IN_PUBLIC[d.objectType];
    if (builtIn) out.push(`${head} REVOKE ALL ON ${objects} FROM PUBLIC;`);
  }
  for (const item of d.acl) {
    const parsed = parseAclItem(item);
    if (!parsed) continue;
    for (const grantable of [false, true]) {
      const names = parsed.privileges.filter((p) => p.grantable === grantable).map((p) => p.name);
      if (names.length > 0) out.push(`${head} GRANT ${names.join(', ')} ON ${objects} TO ${parsed.grantee}${grantable ? ' WITH GRANT OPTION' : ''};`);
    }
  }
  return out;
}

function publishList(p: Publication): string {
  return (['insert', 'update', 'delete', 'truncate'] as const).filter((k) => p.publish[k]).join(', ');
}

/**
 * A publication the target may already have (Supabase's supabase_realtime exists in every project): created when
 * missing, its options set either way, then the copy's tables and schemas added (a replace recreated them, so they
 * are never members yet).
 */
export function renderPublication(p: Publication, options: { owners?: boolean }): string[] {
  const name = quoteIdent(p.name);
  const settings = `WITH (publish = ${quoteLiteral(publishList(p))}, publish_via_partition_root = ${p.viaRoot})`;
  const create = [
    `CREATE PUBLICATION ${name}${p.allTables ? ' FOR ALL TABLES' : ''} ${settings};`,
    ...(options.owners ? [`ALTER PUBLICATION ${name} OWNER TO ${quoteIdent(p.owner)};`] : []),
  ];
  const out = [
    `DO $mbsync$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = ${quoteLiteral(p.name)}) THEN\n    ${create.join('\n    ')}\n  ELSE\n    ALTER PUBLICATION ${name} SET (publish = ${quoteLiteral(publishList(p))}, publish_via_partition_root = ${p.viaRoot});\n  END IF;\nEND\n$mbsync$;`,
  ];
  if (p.comment !== undefined) out.push(`COMMENT ON PUBLICATION ${name} IS ${quoteLiteral(p.comment)};`);
  for (const t of p.tables) {
    const columns = t.columns ? ` (${t.columns.map(quoteIdent).join(', ')})` : '';
    const filter = t.rowFilter ? ` WHERE (${t.rowFilter})` : '';
    out.push(`ALTER PUBLICATION ${name} ADD TABLE ONLY ${qualify(t.schema, t.name)}${columns}${filter};`);
  }
  for (const s of p.schemas) out.push(`ALTER PUBLICATION ${name} ADD TABLES IN SCHEMA ${quoteIdent(s)};`);
  return out;
}

const EVENT_TRIGGER_STATE: Record<EventTrigger['enabled'], string | null> = { O: null, D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

/** An event trigger, created when the target has none of that name (event triggers are database-wide). */
export function renderEventTrigger(e: EventTrigger, options: { owners?: boolean }): string[] {
  const name = quoteIdent(e.name);
  const tags = e.tags ? `\n      WHEN TAG IN (${e.tags.map(quoteLiteral).join(', ')})` : '';
  const state = EVENT_TRIGGER_STATE[e.enabled];
  return [
    `DO $mbsync$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = ${quoteLiteral(e.name)}) THEN\n    CREATE EVENT TRIGGER ${name} ON ${quoteIdent(e.event)}${tags}\n      EXECUTE FUNCTION ${qualify(e.function.schema, e.function.name)}();\n  END IF;\nEND\n$mbsync$;`,
    ...(state ? [`ALTER EVENT TRIGGER ${name} ${state};`] : []),
    ...(options.owners ? [`ALTER EVENT TRIGGER ${name} OWNER TO ${quoteIdent(e.owner)};`] : []),
    ...(e.comment !== undefined ? [`COMMENT ON EVENT TRIGGER ${name} IS ${quoteLiteral(e.comment)};`] : []),
  ];
}

/** Default privileges of the copied schemas (privileges only): post-data, they follow their schema. */
export function renderSchemaDefaultPrivileges(model: SchemaModel, options: { privileges?: boolean }): string[] {
  if (!options.privileges) return [];
  return (model.defaultPrivileges ?? []).filter((d) => d.schema !== null).flatMap(renderDefaultPrivilege);
}

/**
 * Objects of no schema: global default privileges, publications, event triggers. Run last, after everything they
 * name exists (event triggers last of all, so that none fires during the import).
 */
export function renderDatabaseWide(model: SchemaModel, options: { owners?: boolean; privileges?: boolean }): string[] {
  return [
    ...(options.privileges ? (model.defaultPrivileges ?? []).filter((d) => d.schema === null).flatMap(renderDefaultPrivilege) : []),
    ...(model.publications ?? []).flatMap((p) => renderPublication(p, options)),
    ...(model.eventTriggers ?? []).flatMap((e) => renderEventTrigger(e, options)),
  ];
}
