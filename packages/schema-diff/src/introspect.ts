import type postgres from 'postgres';
import { inlineParameters } from './inline-parameters.js';
import { SchemaDiffError } from './errors.js';
import { catalogObjectKeys } from './catalog-object-keys.js';
import { addTableDetails, readCatalogObjects } from './introspect/catalog-objects.js';
import { readDependencies } from './introspect/dependencies.js';
import { readRelations } from './introspect/relations.js';
import { readRoutines } from './introspect/routines.js';
import { compareText } from './introspect/rows.js';
import type { IntrospectOptions } from './introspect/scope.js';
import { readsDatabaseWide, selectSchemas } from './introspect/scope.js';
import { readDefaultPrivileges, readEventTriggers, readPublications } from './introspect/database-objects.js';
import { readTypes } from './introspect/types.js';
import type { ExtensionInfo, SchemaInfo, SchemaModel } from './model.js';
import { objectKey } from './model.js';

/** PostgreSQL 12 (pg_get_* output and catalog columns used here). */
const MIN_SERVER_VERSION = 120000;
/** OIDs below FirstNormalObjectId belong to initdb: built-in extensions such as plpgsql exist in every database. */
const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * Reads the schema of the database into a `SchemaModel`, with a handful of set-based catalog queries.
 *
 * Pass the exporter's transaction to read inside its snapshot; given a pool, it opens its own
 * REPEATABLE READ READ ONLY transaction. The `search_path` is emptied for the transaction's remainder
 * (the exporter runs with an empty one anyway) so every deparsed name comes back schema-qualified.
 */
export async function introspect(sql: postgres.Sql | postgres.TransactionSql, options: IntrospectOptions = {}): Promise<SchemaModel> {
  const run = (tx: postgres.TransactionSql) => readModel(inlineParameters(tx), options);
  try {
    if ('savepoint' in sql) return await run(sql);
    return await (sql as postgres.Sql).begin('isolation level repeatable read read only', run) as SchemaModel;
  } catch (error) {
    if (error instanceof SchemaDiffError) throw error;
    throw new SchemaDiffError('SCHEMA_DIFF_INTROSPECTION_FAILED', `reading the catalog failed: ${(error as Error).message}`, { cause: error });
  }
}

async function readModel(tx: postgres.TransactionSql, options: IntrospectOptions): Promise<SchemaModel> {
  await tx`SELECT pg_catalog.set_config('search_path', '', true)`;
  const [version] = await tx<{ v: number }[]>`SELECT pg_catalog.current_setting('server_version_num')::int AS v`;
  const serverVersionNum = version?.v ?? 0;
  if (serverVersionNum < MIN_SERVER_VERSION) {
    throw new SchemaDiffError('SCHEMA_DIFF_UNSUPPORTED_SERVER', `PostgreSQL ${serverVersionNum} is older than 12`);
  }
  const schemaNames = await selectSchemas(tx, options);

  // independent reads issued together: postgres.js pipelines them on the connection (a round trip for the lot)
  const [schemas, extensions, types, routines, relations] = await Promise.all([
    tx.unsafe<{ name: string; owner: string; acl: string[] | null; comment: string | null }[]>(`
    SELECT n.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text[] AS acl, d.description AS comment
    FROM pg_catalog.pg_namespace n
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
    WHERE n.nspname = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
        AND e.objid = n.oid AND e.deptype = 'e')`, [schemaNames]),
    tx.unsafe<ExtensionInfo[]>(`
    SELECT x.extname AS name, x.extversion AS version, n.nspname AS schema
    FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
    WHERE n.nspname = ANY($1::text[]) AND x.oid >= ${FIRST_NORMAL_OBJECT_ID}`, [schemaNames]),
    readTypes(tx, schemaNames),
    readRoutines(tx, schemaNames),
    readRelations(tx, schemaNames),
  ]);
  const excluded = new Set(options.excludeTables ?? []);
  const tables = await addTableDetails(tx, schemaNames, relations.tables.filter((t) => !excluded.has(`${t.schema}.${t.name}`)));
  // pg_dump's rule: OWNED BY only names a table of the model; a sequence owned by a table left out (excluded, or
  // in a schema not read) stays, unowned
  const tableKeys = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  const sequences = relations.sequences.map(({ ownedBy, ...s }) => (ownedBy && tableKeys.has(`${ownedBy.schema}.${ownedBy.table}`) ? { ...s, ownedBy } : s));
  const databaseWide = readsDatabaseWide(options);
  const [catalogObjects, defaultPrivileges, publications, eventTriggers] = await Promise.all([
    readCatalogObjects(tx, schemaNames, new Set([...tables, ...relations.views].map((r) => `${r.schema}.${r.name}`))),
    readDefaultPrivileges(tx, schemaNames, databaseWide),
    readPublications(tx, schemaNames, tableKeys, databaseWide),
    readEventTriggers(tx, databaseWide),
  ]);

  const model: SchemaModel = {
    formatVersion: 1,
    serverVersionNum,
    schemas: schemas.map((s): SchemaInfo => ({ name: s.name, owner: s.owner, acl: s.acl, comment: s.comment }))
      .sort((a, b) => compareText(a.name, b.name)),
    extensions: [...extensions].map((x) => ({ name: x.name, version: x.version, schema: x.schema })).sort((a, b) => compareText(a.name, b.name)),
    ...types,
    routines,
    sequences,
    tables,
    views: relations.views,
    ...catalogObjects,
    dependencies: [],
  };
  model.dependencies = await readDependencies(tx, modelNodes(model));
  model.defaultPrivileges = defaultPrivileges;
  model.publications = publications;
  model.eventTriggers = eventTriggers;
  return model;
}

/** Every key the dependency graph may mention for this model. */
export function modelNodes(model: SchemaModel): Set<string> {
  const nodes = new Set<string>();
  for (const s of model.schemas) nodes.add(objectKey('schema', s.name));
  for (const x of model.extensions) nodes.add(objectKey('extension', x.name));
  for (const t of [...model.enums, ...model.domains, ...model.compositeTypes, ...model.rangeTypes]) nodes.add(objectKey('type', t.schema, t.name));
  for (const r of model.routines) nodes.add(objectKey('function', r.schema, r.name, r.identityArguments));
  for (const r of [...model.sequences, ...model.tables, ...model.views]) nodes.add(objectKey('relation', r.schema, r.name));
  for (const t of model.tables) {
    for (const c of t.constraints) {
      if (c.type === 'primary key' || c.type === 'unique') nodes.add(objectKey('constraint', t.schema, t.name, c.name));
    }
  }
  for (const key of catalogObjectKeys(model)) nodes.add(key);
  return nodes;
}
