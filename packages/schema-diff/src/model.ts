import type { DefaultPrivilege, EventTrigger, Publication } from './model-database.js';

export type { DefaultPrivilege, EventTrigger, Publication, PublicationTable } from './model-database.js';

/**
 * The schema model: a JSON-serialisable picture of a database's user objects, read from pg_catalog by
 * `introspect` and rendered back to DDL by `@mbsync/dump`. It is stored in the dump manifest and diffed
 * later, so it never holds OIDs: objects are identified by schema-qualified names (and argument lists for
 * routines), and every list is sorted by those names. SQL fragments (types, defaults, definitions) are the
 * server's own deparser output taken with an empty `search_path`, hence schema-qualified.
 */

import type { CatalogObjects } from './catalog-objects.js';

/** Who owns an object and its ACL (`aclitem[]` text, null = the built-in default). */
export interface Ownership {
  owner: string;
  acl: string[] | null;
}

export interface SchemaInfo extends Ownership {
  name: string;
  comment?: string | null;
}

export interface ExtensionInfo {
  name: string;
  version: string;
  schema: string;
}

export interface EnumType extends Ownership {
  schema: string;
  name: string;
  /** In `enumsortorder` order, whatever order they were added in. */
  labels: string[];
  comment?: string;
}

export interface DomainConstraint {
  name: string;
  /** `pg_get_constraintdef` output, e.g. `CHECK ((VALUE > 0))`. */
  definition: string;
  validated: boolean;
  comment?: string;
}

export interface DomainType extends Ownership {
  schema: string;
  name: string;
  /** `format_type` of the base type, with typmod. */
  baseType: string;
  notNull: boolean;
  default?: string;
  /** Qualified collation name when it differs from the base type's. */
  collation?: string;
  constraints: DomainConstraint[];
  comment?: string;
}

export interface CompositeAttribute {
  name: string;
  position: number;
  type: string;
  collation?: string;
  comment?: string;
}

export interface CompositeType extends Ownership {
  schema: string;
  name: string;
  attributes: CompositeAttribute[];
  comment?: string;
}

export interface RangeType extends Ownership {
  schema: string;
  name: string;
  subtype: string;
  /** Only when not the subtype's default btree opclass. */
  subtypeOpclass?: string;
  collation?: string;
  canonical?: string;
  subtypeDiff?: string;
  multirangeName: string;
  comment?: string;
}

export type RoutineKind = 'function' | 'procedure' | 'aggregate' | 'window';

export interface Routine extends Ownership {
  schema: string;
  name: string;
  kind: RoutineKind;
  /** `pg_get_function_identity_arguments`: with schema and name, the routine's identity. */
  identityArguments: string;
  /** `pg_get_function_arguments` (with defaults and modes). */
  arguments: string;
  result: string | null;
  language: string;
  /** sha256 of the body (`prosrc`), to compare routines cheaply. */
  bodyHash: string;
  /** A complete statement without the trailing `;` (pg_get_functiondef, or built for aggregates). */
  definition: string;
  comment?: string;
}

export interface SequenceOptions {
  dataType: string;
  start: string;
  increment: string;
  minValue: string;
  maxValue: string;
  cache: string;
  cycle: boolean;
}

export interface SequenceInfo extends Ownership, SequenceOptions {
  schema: string;
  name: string;
  persistence: 'permanent' | 'unlogged';
  /** Set by `ALTER SEQUENCE … OWNED BY` (serial columns and the like); not set for identity sequences. */
  ownedBy?: { schema: string; table: string; column: string };
  comment?: string;
}

export interface IdentitySpec extends SequenceOptions {
  sequenceSchema: string;
  sequenceName: string;
  /** The identity sequence's own privileges (aclitem[] text), when not the default. */
  acl?: string[] | null;
}

export interface Column {
  name: string;
  /** attnum; kept for rendering order, not for identity. */
  position: number;
  type: string;
  notNull: boolean;
  default?: string;
  identity?: 'always' | 'by default';
  identitySequence?: IdentitySpec;
  /** Expression of a STORED generated column. */
  generated?: string;
  collation?: string;
  /** False when the column only comes from a parent (inheritance/partition). */
  isLocal: boolean;
  inheritCount: number;
  /** attstattarget when not -1 (default). */
  statistics?: number;
  /** attstorage when it differs from the type's default. */
  storage?: 'plain' | 'external' | 'extended' | 'main';
  comment?: string;
  acl?: string[] | null;
  /** attcompression when set (SET COMPRESSION). */
  compression?: 'pglz' | 'lz4';
  /** attoptions (`n_distinct=5`), the server's own `pg_*` options left out. */
  options?: string[];
}

export type ConstraintType = 'primary key' | 'unique' | 'check' | 'foreign key' | 'exclusion' | 'trigger';

export interface TableConstraint {
  name: string;
  type: ConstraintType;
  /** `pg_get_constraintdef` output. */
  definition: string;
  validated: boolean;
  isLocal: boolean;
  inheritCount: number;
  /** Name of the backing index (primary key, unique, exclusion). */
  index?: string;
  /** True for constraints the server clones from a parent (partition foreign keys): not dumped. */
  cloned: boolean;
  /** Referenced table of a foreign key. */
  references?: { schema: string; name: string };
  comment?: string;
}

export interface IndexInfo {
  name: string;
  /** `pg_get_indexdef` output (says `ON ONLY` for partitioned tables). */
  definition: string;
  /** The constraint this index implements (created by ADD CONSTRAINT, not CREATE INDEX). */
  constraint?: string;
  /** Set when the index is attached to a partitioned table's index. */
  parentIndex?: { schema: string; name: string };
  clustered: boolean;
  replicaIdentity: boolean;
  comment?: string;
}

export interface Trigger {
  name: string;
  /** `pg_get_triggerdef` output. */
  definition: string;
  /** O = origin (default), D = disabled, R = replica, A = always. */
  enabled: 'O' | 'D' | 'R' | 'A';
  comment?: string;
}

export interface Policy {
  name: string;
  permissive: boolean;
  command: 'ALL' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
  /** Role names; 'PUBLIC' for the public pseudo-role. */
  roles: string[];
  using?: string;
  withCheck?: string;
  comment?: string;
}

export interface Rule {
  name: string;
  /** `pg_get_ruledef` output. */
  definition: string;
  comment?: string;
}

export type TableKind = 'table' | 'partitioned' | 'foreign';

export interface Table extends Ownership {
  schema: string;
  name: string;
  kind: TableKind;
  persistence: 'permanent' | 'unlogged';
  /** Parent of a partition. */
  partitionOf?: { schema: string; name: string };
  /** `FOR VALUES …` or `DEFAULT`. */
  partitionBound?: string;
  /** `pg_get_partkeydef`, e.g. `RANGE (created_at)`. */
  partitionKey?: string;
  /** Parents by plain inheritance, in inhseqno order. */
  inherits: { schema: string; name: string }[];
  /** A typed table's composite type (CREATE TABLE … OF type), format_type spelling. */
  ofType?: string;
  columns: Column[];
  constraints: TableConstraint[];
  indexes: IndexInfo[];
  triggers: Trigger[];
  rules: Rule[];
  policies: Policy[];
  rlsEnabled: boolean;
  rlsForced: boolean;
  /** 'd' default, 'n' nothing, 'f' full, 'i' index (see IndexInfo.replicaIdentity). */
  replicaIdentity: 'd' | 'n' | 'f' | 'i';
  reloptions: string[];
  comment?: string;
  /** pg_table_size (heap and TOAST): for progress, and to copy the largest tables first. */
  estimatedBytes: number;
}

export interface ViewColumn {
  name: string;
  position: number;
  type: string;
  collation?: string;
  comment?: string;
}

export interface View extends Ownership {
  schema: string;
  name: string;
  materialized: boolean;
  /** `pg_get_viewdef` output without the trailing `;`. */
  definition: string;
  columns: ViewColumn[];
  reloptions: string[];
  /** Materialized views only: whether it held data (REFRESH after load). */
  populated: boolean;
  indexes: IndexInfo[];
  triggers: Trigger[];
  rules: Rule[];
  comment?: string;
}

/** Node kinds of the dependency graph; keys are built by `objectKey`. */
export type ObjectKind = 'schema' | 'extension' | 'type' | 'function' | 'relation' | 'constraint' | CatalogObjectKind;

/** Node kinds of the catalog objects (catalog-objects.ts); a cast's key is its two types, an operator's its operands. */
export type CatalogObjectKind = 'collation' | 'ts-parser' | 'ts-template' | 'ts-dictionary' | 'ts-configuration' | 'cast' | 'operator'
  | 'operator-family' | 'operator-class' | 'conversion';

/** `from` needs `to` to exist first. Keys come from `objectKey`. */
export interface DependencyEdge {
  from: string;
  to: string;
}

/** The catalog object lists (collations, casts, operators, …) are optional: absent in older manifests, read as empty. */
export interface SchemaModel extends Partial<CatalogObjects> {
  formatVersion: 1;
  serverVersionNum: number;
  schemas: SchemaInfo[];
  extensions: ExtensionInfo[];
  enums: EnumType[];
  domains: DomainType[];
  compositeTypes: CompositeType[];
  rangeTypes: RangeType[];
  routines: Routine[];
  sequences: SequenceInfo[];
  tables: Table[];
  views: View[];
  /** From pg_depend (plus inheritance), between dumpable objects only, sorted. */
  dependencies: DependencyEdge[];
  /** Database-wide: default privileges (those of the copied schemas; global ones in a whole-database copy). */
  defaultPrivileges?: DefaultPrivilege[];
  /** Database-wide: publications with the copy's tables (all of them in a whole-database copy). */
  publications?: Publication[];
  /** Database-wide: event triggers (a whole-database copy only). */
  eventTriggers?: EventTrigger[];
}

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Stable identity of a model object in the dependency graph, e.g. `relation:"public"."film"` or
 * `function:"public"."f"(integer)`. Tables, views and sequences share `relation` like they share pg_class;
 * enums, domains, composite and range types share `type`.
 */
export function objectKey(kind: ObjectKind, schema: string, name?: string, args?: string): string {
  const base = name === undefined ? quoted(schema) : `${quoted(schema)}.${quoted(name)}`;
  return `${kind}:${base}${args === undefined ? '' : `(${args})`}`;
}

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** Every schema the model puts objects in (what a replace drops and recreates), sorted. */
export function modelSchemas(model: SchemaModel): string[] {
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

/**
 * The part of a model in the schemas `keep` accepts: every object of another schema left out, publications narrowed
 * to those schemas' tables, default privileges to those schemas (and the global ones). Objects of no schema stay.
 */
export function narrowModel(model: SchemaModel, keep: (schema: string) => boolean): SchemaModel {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(model)) {
    out[field] = Array.isArray(value) && field !== 'dependencies'
      ? (value as { schema?: unknown }[]).filter((item) => typeof item?.schema !== 'string' || keep(item.schema))
      : value;
  }
  const narrowed = out as unknown as SchemaModel;
  narrowed.schemas = model.schemas.filter((s) => keep(s.name));
  if (model.publications) {
    narrowed.publications = model.publications.map((p) => ({ ...p, tables: p.tables.filter((t) => keep(t.schema)), schemas: p.schemas.filter(keep) }));
  }
  return narrowed;
}
