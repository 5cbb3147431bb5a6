import type { SchemaModel, Table, View } from '@mbsync/schema-diff';
import { objectKey } from '@mbsync/schema-diff';
import { catalogRenderers, renderCatalogComments, renderCatalogOwners, renderCatalogPostData } from './ddl/catalog-objects.js';
import { renderComments } from './ddl/comments.js';
import { renderDatabaseWide, renderSchemaDefaultPrivileges } from './ddl/database-objects.js';
import { loadThroughRoot } from './ddl/partitions.js';
import { splitForPlatform, type PlatformTarget } from './platform.js';
import type { PostDataPhases } from './ddl/post-data.js';
import { renderDomainPostData, renderTablePostData, renderViewPostData } from './ddl/post-data.js';
import {
  renderComposite, renderDomain, renderEnum, renderRange, renderSequence, renderTable, renderView, renderViewStub,
} from './ddl/pre-data.js';
import { renderGrants, renderOwners } from './ddl/privileges.js';
import { qualify, quoteIdent } from './ddl/quote.js';
import type { OrderNode } from './dependency-order.js';
import { orderByDependencies } from './dependency-order.js';

export { qualify, quoteIdent, quoteLiteral } from './ddl/quote.js';

/** What to render besides the schema itself. Owners and privileges are off by default (like --no-owner --no-privileges). */
export interface RenderOptions {
  /** Emit ALTER … OWNER TO (the roles must exist in the target). */
  owners?: boolean;
  /** Emit REVOKE/GRANT statements rebuilding the ACLs (the grantees must exist in the target). */
  privileges?: boolean;
  /** Tables whose rows are not copied ('schema.table', unquoted); their definition still is. */
  excludeTableData?: string[];
  /**
   * Constraints and indexes already built elsewhere (the parallel import builds them on the loaded tables in
   * lanes), keyed 'schema.table' (unquoted): left out of post-data.
   */
  built?: ReadonlyMap<string, BuiltParts>;
  /**
   * The target's platform (a local Supabase stack): its schemas' structure is left out, the rows of its data tables
   * are loaded (DataTable.platform) and the user's additions to its tables created when missing (see platform.ts).
   */
  platform?: PlatformTarget;
}

/** The constraints (primary key, unique, exclusion, foreign key) and plain indexes of a table that exist already. */
export interface BuiltParts {
  builtConstraints: ReadonlySet<string>;
  builtIndexes: ReadonlySet<string>;
}

/** A table whose rows the exporter copies, in dump order. */
export interface DataTable {
  schema: string;
  name: string;
  /** attnum order, generated and dropped columns left out: the COPY column list. */
  columns: string[];
  estimatedBytes: number;
  /** The partition root its rows are loaded through (see loadThroughRoot), when they are. */
  loadVia?: { schema: string; name: string };
  /** A table of the target's platform: its rows replace the target's, its structure stays (data-only). */
  platform?: boolean;
}

/** The DDL of a model in the three sections of a dump, each statement complete and ending in `;`. */
export interface RenderedSchema {
  /** Extensions, schemas, types, functions, sequences, tables, views: dependency order. */
  preData: string[];
  /** Ordinary tables and leaf partitions (not partitioned parents, views, foreign tables). */
  dataTables: DataTable[];
  /** Every dumped sequence, serial and identity ones included, for setval. */
  sequences: { schema: string; name: string }[];
  /** Constraints, indexes, FKs, triggers, RLS, policies, comments, owners and grants. */
  postData: string[];
  /** REFRESH MATERIALIZED VIEW for populated materialized views, dependency order, run last. */
  refreshMaterializedViews: string[];
  /** Objects of no schema (global default privileges, publications, event triggers): after everything else. */
  databaseWide: string[];
}

// Creation priority when dependencies leave a choice (pg_dump's order: types, functions, sequences, tables, views).
const PRIORITY = { schema: 1, extension: 2, type: 3, function: 4, aggregate: 5, sequence: 6, table: 7, view: 8, matview: 9 };

interface Renderer { node: OrderNode; whole: () => string[]; stub?: () => string[]; body?: () => string[] }

/**
 * Renders a schema model as DDL. Pure: the order comes from the dependency edges stored in the model.
 * A view that needs a primary key or unique constraint (GROUP BY on a key) is created as a stub and
 * replaced after the constraints; cycles through a view are broken the same way.
 */
export function renderSchema(whole: SchemaModel, options: RenderOptions = {}): RenderedSchema {
  const split = options.platform ? splitForPlatform(whole, options.platform) : null;
  const rendered = renderModel(split ? split.model : whole, options);
  if (!split) return rendered;
  const platformTables = split.dataTables.map((t): DataTable => ({
    schema: t.schema, name: t.name, estimatedBytes: t.estimatedBytes, platform: true,
    columns: t.columns.filter((c) => c.generated === undefined).sort((a, b) => a.position - b.position).map((c) => c.name),
  }));
  // the platform tables' own sequences (serial, identity) go on from the loaded rows
  const loaded = new Set(split.dataTables.map((t) => `${t.schema}.${t.name}`));
  const sequences = [
    ...whole.sequences.filter((s) => s.ownedBy && loaded.has(`${s.ownedBy.schema}.${s.ownedBy.table}`)).map((s) => ({ schema: s.schema, name: s.name })),
    ...split.dataTables.flatMap((t) => t.columns.flatMap((c) => (c.identitySequence ? [{ schema: c.identitySequence.sequenceSchema, name: c.identitySequence.sequenceName }] : []))),
  ];
  return {
    ...rendered,
    dataTables: [...rendered.dataTables, ...platformTables],
    sequences: [...rendered.sequences, ...sequences],
    databaseWide: [...rendered.databaseWide, ...split.additions],
  };
}

function renderModel(model: SchemaModel, options: RenderOptions): RenderedSchema {
  const renderers: Renderer[] = [];
  const add = (key: string, priority: number, schema: string, name: string, whole: () => string[], extra: Partial<Renderer> = {}) => {
    renderers.push({ node: { key, priority, sortName: `${schema}\u0000${name}`, breakable: extra.stub !== undefined }, whole, ...extra });
  };
  const postData: PostDataPhases = { constraints: [], indexes: [], attachments: [], foreignKeys: [], triggers: [], security: [] };
  const deferred: string[] = [];

  for (const s of model.schemas) {
    // public exists in every new database, owned by pg_database_owner; pg_dump shows it whenever its owner
    // differs, so that ownership is part of the schema even with owners off
    add(objectKey('schema', s.name), PRIORITY.schema, '', s.name, () => (s.name !== 'public' ? [`CREATE SCHEMA ${quoteIdent(s.name)};`]
      : s.owner !== 'pg_database_owner' && !options.owners ? [`ALTER SCHEMA public OWNER TO ${quoteIdent(s.owner)};`] : []));
  }
  for (const x of model.extensions) {
    add(objectKey('extension', x.name), PRIORITY.extension, '', x.name, () => [`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(x.name)} WITH SCHEMA ${quoteIdent(x.schema)};`]);
  }
  for (const t of model.enums) add(objectKey('type', t.schema, t.name), PRIORITY.type, t.schema, t.name, () => [renderEnum(t)]);
  for (const t of model.domains) add(objectKey('type', t.schema, t.name), PRIORITY.type, t.schema, t.name, () => [renderDomain(t)]);
  for (const t of model.compositeTypes) add(objectKey('type', t.schema, t.name), PRIORITY.type, t.schema, t.name, () => [renderComposite(t)]);
  for (const t of model.rangeTypes) add(objectKey('type', t.schema, t.name), PRIORITY.type, t.schema, t.name, () => [renderRange(t)]);
  for (const c of catalogRenderers(model)) add(c.key, c.priority, c.schema, c.name, c.render);
  for (const r of model.routines) {
    add(objectKey('function', r.schema, r.name, r.identityArguments), r.kind === 'aggregate' ? PRIORITY.aggregate : PRIORITY.function,
      r.schema, `${r.name}(${r.identityArguments})`, () => [`${r.definition};`]);
  }
  for (const s of model.sequences) add(objectKey('relation', s.schema, s.name), PRIORITY.sequence, s.schema, s.name, () => [renderSequence(s)]);
  const supportedTables = model.tables.filter((t) => t.kind !== 'foreign');
  for (const t of supportedTables) add(objectKey('relation', t.schema, t.name), PRIORITY.table, t.schema, t.name, () => renderTable(t));

  const needsConstraint = new Set(model.dependencies.filter((e) => e.to.startsWith('constraint:')).map((e) => e.from));
  for (const v of model.views) {
    const key = objectKey('relation', v.schema, v.name);
    const priority = v.materialized ? PRIORITY.matview : PRIORITY.view;
    if (needsConstraint.has(key)) {
      // the view's query is only valid once a key exists (functional dependency): finish it in post-data
      if (v.materialized) {
        add(key, priority, v.schema, v.name, () => { deferred.push(renderView(v)); return []; });
      } else {
        add(key, priority, v.schema, v.name, () => { deferred.push(renderView(v, true)); return [renderViewStub(v)]; });
      }
    } else if (v.materialized) {
      add(key, priority, v.schema, v.name, () => [renderView(v)]);
    } else {
      add(key, priority, v.schema, v.name, () => [renderView(v)], { stub: () => [renderViewStub(v)], body: () => [renderView(v, true)] });
    }
  }

  const byKey = new Map(renderers.map((r) => [r.node.key, r]));
  const steps = orderByDependencies(renderers.map((r) => r.node), model.dependencies);
  const preData: string[] = [];
  for (const step of steps) {
    const r = byKey.get(step.key)!;
    const render = step.part === 'stub' ? r.stub : step.part === 'body' ? r.body : r.whole;
    preData.push(...(render ?? r.whole)());
  }
  // nothing about a table that is not created (a foreign table) may be emitted: no OWNED BY, comment, owner or grant
  const created = new Set(supportedTables.map((t) => `${t.schema}.${t.name}`));
  for (const s of model.sequences) {
    if (s.ownedBy && created.has(`${s.ownedBy.schema}.${s.ownedBy.table}`)) preData.push(`ALTER SEQUENCE ${qualify(s.schema, s.name)} OWNED BY ${qualify(s.ownedBy.schema, s.ownedBy.table)}.${quoteIdent(s.ownedBy.column)};`);
  }

  const order = new Map(steps.map((s, i) => [s.key, i]));
  const inOrder = <T extends { schema: string; name: string }>(list: T[]) =>
    [...list].sort((a, b) => (order.get(objectKey('relation', a.schema, a.name)) ?? 0) - (order.get(objectKey('relation', b.schema, b.name)) ?? 0));
  const tables: Table[] = inOrder(supportedTables);
  const views: View[] = inOrder(model.views);

  for (const d of model.domains) postData.constraints.push(...renderDomainPostData(d));
  for (const t of tables) renderTablePostData(t, postData, options.built?.get(`${t.schema}.${t.name}`));
  for (const v of views) renderViewPostData(v, postData);

  const noData = new Set(options.excludeTableData ?? []);
  const via = loadThroughRoot(model);
  const emitted: SchemaModel = { ...model, tables: supportedTables };
  return {
    preData,
    dataTables: tables
      .filter((t) => t.kind === 'table' && !noData.has(`${t.schema}.${t.name}`))
      .map((t) => ({
        schema: t.schema, name: t.name, estimatedBytes: t.estimatedBytes,
        ...(via.has(`${t.schema}.${t.name}`) ? { loadVia: via.get(`${t.schema}.${t.name}`)! } : {}),
        columns: t.columns.filter((c) => c.generated === undefined).sort((a, b) => a.position - b.position).map((c) => c.name),
      })),
    sequences: [
      ...model.sequences.map((s) => ({ schema: s.schema, name: s.name })),
      ...model.tables.flatMap((t) => t.columns.flatMap((c) => (c.identitySequence ? [{ schema: c.identitySequence.sequenceSchema, name: c.identitySequence.sequenceName }] : []))),
    ].sort((a, b) => (a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    postData: [
      ...postData.constraints, ...postData.indexes, ...postData.attachments, ...deferred, ...postData.foreignKeys,
      ...postData.triggers, ...postData.security, ...renderCatalogPostData(emitted), ...renderComments(emitted), ...renderCatalogComments(emitted),
      ...(options.owners ? [...renderOwners(emitted), ...renderCatalogOwners(emitted)] : []), ...(options.privileges ? renderGrants(emitted) : []),
      ...renderSchemaDefaultPrivileges(model, options),
    ],
    refreshMaterializedViews: views.filter((v) => v.materialized && v.populated).map((v) => `REFRESH MATERIALIZED VIEW ${qualify(v.schema, v.name)};`),
    databaseWide: renderDatabaseWide(model, options),
  };
}
