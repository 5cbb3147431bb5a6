import type { SchemaModel, Table } from '@mbsync/schema-diff';
import { renderSchema, type BuiltParts, type RenderedSchema } from '../ddl.js';
import { loadThroughRoot } from '../ddl/partitions.js';
import { qualify, quoteIdent } from '../ddl/quote.js';
import { schemasOfModel } from '../replace/schemas.js';
import { binaryCopyable, byteaTyped, packedRendering, type PackedRendering } from './copy-format.js';
import { PACK_MIN_BYTES, packedCopyOut, type SourcePacking } from './packed-copy.js';
import { rewriteSchemas, type SchemaResolver } from './schema-rewrite.js';
import { foreignKeyCost, indexCost, weightOf, type TableWeight } from './task-costs.js';
import type { TargetExtension } from './target-extensions.js';

/** One statement that builds an index, key or foreign key on a loaded table, run in a lane. */
export interface BuildStep {
  id: string;
  /** ids of the steps (or copies, `copy:<table>`) it runs after */
  after: string[];
  /** 'schema.table' (unquoted) of every table the statement locks */
  tables: string[];
  /** true when the statement takes a lock that conflicts with itself (ALTER TABLE … ADD CONSTRAINT) */
  exclusive: boolean;
  sql: string;
  /** weight for scheduling, in bytes of COPY (task-costs.ts) */
  cost: number;
  label: string;
}

/** A table whose rows a lane copies into the schema being built under a temporary name. */
export interface ShadowTable {
  schema: string;
  name: string;
  key: string;
  /** its size on disk (heap and TOAST), heap and rows, for the lanes' order (task-costs.ts) */
  weight: TableWeight;
  binary: boolean;
  /** `COPY … TO STDOUT` on the source */
  copyOut: string;
  /** the packed COPY that replaces copyOut when the source can pack (packedCopyOut) */
  packed: { copyOut: string } | null;
  /**
   * The table's CREATE TABLE and the statements of prep about it alone (ALTER TABLE ONLY on it, OWNED BY it), run
   * first in the copy's transaction instead of before the lanes (empty: created in prep). Only for a table that needs
   * no other table and that nothing else in prep names (tablesCreatedByCopy).
   */
  create: string[];
  /** run before the COPY in its transaction: TRUNCATE, so the rows can be loaded frozen (null: through the root, small, or created there) */
  prepare: string | null;
  /** `COPY … FROM STDIN` into the built table (or its partition root) */
  copyIn: string;
  /** the built table whose inserted rows are checked against the rows sent (null: loaded through the root) */
  loadedInto: string | null;
  /** 'schema.table' of the partition root the rows go through, when they do: its tree's rows are checked as a whole */
  viaRoot: string | null;
  builds: BuildStep[];
}

/** How the replacement is built beside the live schemas, then swapped in by renaming. */
export interface ShadowPlan {
  /** every replaced schema → the temporary name it is built under */
  shadows: Map<string, string>;
  resolve: SchemaResolver;
  /**
   * schemas, extensions, types, functions, sequences, tables, views: committed before the lanes load (but for the
   * tables their copies create: ShadowTable.create)
   */
  prep: string[];
  /**
   * Per statement of `prep`: a CREATE TABLE of a table that needs no other table to exist (tablesStandingAlone). A run
   * of them may be split over several sessions.
   */
  prepAlone: boolean[];
  tables: ShadowTable[];
  /** foreign keys between lane-built keys, after both tables' builds */
  foreignKeys: BuildStep[];
  /** the rest of post-data (partitioned tables' keys, attachments, triggers, policies, grants, …) and setval */
  finishing: string[];
  /** REFRESH MATERIALIZED VIEW, real names: run after the swap, on the new data */
  refresh: string[];
  /** extensions the target has where the dump wants them: moved into the new schema by the swap */
  relocate: { extension: string; schema: string }[];
  /** foreign keys into tables the final transaction reloads, real names: after those tables' rows */
  deferred: string[];
  /**
   * 'schema.table' of the tables built empty beside the others and loaded in the final transaction, after the swap:
   * their reg* columns' values are looked up by name as they load, and must name the new objects
   */
  late: string[];
}

export interface ShadowPlanOptions {
  prefix: string;
  owners?: boolean;
  privileges?: boolean;
  excludeTableData?: string[];
  sizes: Map<string, number>;
  /** heap bytes and rows of the tables, as the source's catalog has them, for the lanes' order (task-costs.ts) */
  weights?: Map<string, TableWeight>;
  /** binary COPY for tables whose column types all allow it (binaryCopyable) */
  binary: boolean;
  /** 'schema.table' of binary-safe tables that go as text all the same: smaller on the wire (chooseCopyFormats) */
  textTables?: ReadonlySet<string>;
  /**
   * how the source packs (probePacking: pgcrypto's `pgp_sym_encrypt`), when tables are to go packed: every text-COPY
   * table from PACK_MIN_BYTES on without a bytea column (bytea as hex text only deflates back to about its binary size)
   */
  packWith?: SourcePacking | null;
  /** the dump's extensions as the target has them (readTargetExtensions) */
  targetExtensions: Map<string, TargetExtension>;
  /**
   * Tables ('schema.table') outside the replaced schemas whose rows the final transaction reloads (a platform's): a
   * foreign key into one is added there, after them, not checked beside the live schemas against their old rows.
   */
  deferForeignKeysTo?: ReadonlySet<string>;
}

/**
 * Tables from this size on are loaded frozen (TRUNCATE, then COPY FREEZE: the first scan after the swap does not
 * rewrite every page to set hint bits). The TRUNCATE costs ~4 ms (a new file); on 500 small tables that is seconds,
 * more than the rewrite it spares them.
 */
const FREEZE_MIN_BYTES = 8 * 1024 * 1024;

// the one format rule (copy-format.ts), as the incremental sync imports it
export { binaryCopyable } from './copy-format.js';

const SIMPLE_KEY = /^(PRIMARY KEY|UNIQUE) \([^()"]*\)$/;
/** Types whose values are OIDs read from names (regclass, regproc, …). */
const NAME_TYPE = /^reg(?:class|type|proc|procedure|oper|operator|config|dictionary|namespace|collation|role)(?:\[\])*$/;

/**
 * Whether values of a type (format_type spelling) hold a reg* value: the type itself or its arrays, or a domain over
 * one, a row type (a composite type's or a table's) with such a field, a range over one, at any depth.
 */
function typeNamesObjects(model: SchemaModel): (type: string) => boolean {
  const parts = new Map<string, string[]>();
  for (const d of model.domains) parts.set(qualify(d.schema, d.name), [d.baseType]);
  for (const c of model.compositeTypes) parts.set(qualify(c.schema, c.name), c.attributes.map((a) => a.type));
  for (const t of model.tables) parts.set(qualify(t.schema, t.name), t.columns.map((c) => c.type));
  for (const r of model.rangeTypes) parts.set(qualify(r.schema, r.name), [r.subtype]);
  const known = new Map<string, boolean>();
  const test = (type: string, depth: number): boolean => {
    const bare = type.replace(/(?:\[\])+$/, '');
    if (NAME_TYPE.test(bare)) return true;
    const cached = known.get(bare);
    if (cached !== undefined) return cached;
    // a type cannot contain itself; the depth only bounds a model that says otherwise
    known.set(bare, false);
    const holds = depth < 16 && (parts.get(bare) ?? []).some((p) => test(p, depth + 1));
    known.set(bare, holds);
    return holds;
  };
  return (type) => test(type, 0);
}

/**
 * Plans a parallel replace that builds every replaced schema under a temporary name (`<prefix>_<n>`): types,
 * functions, sequences, tables and views first (`prep`), then each table loaded by a lane (created there when nothing
 * in prep names it, else TRUNCATEd; COPY FREEZE from 8 MB on) and its indexes and keys built there, then the rest of
 * post-data; the final transaction renames the live schemas away, the new ones into their names, and drops the old.
 * Every statement is the sequential import's own, its schema-qualified names pointed at the temporary schemas (see
 * rewriteSchemas), so nothing a table uses — enums, domains, operator classes of an extension, collations — can bind
 * to the live schemas' objects, which the swap drops. Returns a reason instead when the target's extensions cannot
 * follow a rename.
 */
export function planShadow(model: SchemaModel, options: ShadowPlanOptions): ShadowPlan | { fallback: string } {
  const schemas = schemasOfModel(model);
  const shadows = new Map(schemas.map((s, i) => [s, `${options.prefix}_${i + 1}`]));
  // names of extension members the target already has in a replaced schema: they stay where they are until the swap
  const kept = new Map<string, Set<string>>();
  const relocate: ShadowPlan['relocate'] = [];
  const created = new Set<string>();
  for (const x of model.extensions) {
    const there = options.targetExtensions.get(x.name);
    if (!there) {
      created.add(x.name);
      continue;
    }
    if (there.schema !== x.schema) return { fallback: `extension ${x.name} is installed in schema ${there.schema} of the target, the dump has it in ${x.schema}` };
    if (!there.relocatable) return { fallback: `extension ${x.name} is installed in ${x.schema} of the target and cannot be moved to the new schema` };
    const names = kept.get(x.schema) ?? new Set<string>();
    for (const m of there.members) names.add(m);
    kept.set(x.schema, names);
    relocate.push({ extension: x.name, schema: x.schema });
  }
  const resolve: SchemaResolver = (schema, name) => {
    const shadow = shadows.get(schema);
    if (shadow === undefined) return null;
    if (name !== '' && kept.get(schema)?.has(name)) return null;
    return shadow;
  };
  const rewrite = (statement: string) => rewriteSchemas(statement, resolve);

  const noData = new Set(options.excludeTableData ?? []);
  const byKey = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const loaded = model.tables.filter((t) => t.kind === 'table' && !noData.has(`${t.schema}.${t.name}`));
  const copyable = binaryCopyable(model);
  const holdsBytea = byteaTyped(model);
  const rendering = packedRendering(model, options.packWith?.castsToText ?? new Set());
  // a reg* value is an OID looked up by name as it is loaded: beside the live schemas it would name their objects.
  // Such a table is built beside the others, empty, and loaded after the swap, in the final transaction (`late`),
  // where the names it holds resolve to the new objects (Supabase's realtime.subscription has one)
  const late = new Set<string>();
  const namesObjects = typeNamesObjects(model);
  for (const t of loaded) {
    const column = t.columns.find((c) => namesObjects(c.type));
    if (!column) continue;
    if (t.partitionOf) return { fallback: `column ${t.schema}.${t.name}.${column.name} is of type ${column.type}, whose values name objects, in a partition` };
    late.add(`${t.schema}.${t.name}`);
  }
  const deferTo = new Set([...(options.deferForeignKeysTo ?? []), ...late]);

  const loadVia = loadThroughRoot(model);
  const built = new Map<string, BuiltParts>();
  const tables: ShadowTable[] = [];
  for (const t of loaded.filter((l) => !late.has(`${l.schema}.${l.name}`))) {
    const shadowTable = tableShadow(t, byKey, loadVia, { copyable, holdsBytea, rendering }, options, shadows, rewrite);
    tables.push(shadowTable.table);
    built.set(shadowTable.table.key, shadowTable.built);
  }
  const foreignKeys = planForeignKeys(model, tables, built, rewrite);
  const deferred: string[] = [];
  for (const t of model.tables) {
    for (const c of t.constraints) {
      if (c.type !== 'foreign key' || c.cloned || !c.references || !deferTo.has(`${c.references.schema}.${c.references.name}`)) continue;
      const key = `${t.schema}.${t.name}`;
      const parts = built.get(key) ?? { builtConstraints: new Set<string>(), builtIndexes: new Set<string>() };
      (parts.builtConstraints as Set<string>).add(c.name);
      built.set(key, parts);
      deferred.push(`ALTER TABLE ${t.kind === 'partitioned' ? '' : 'ONLY '}${qualify(t.schema, t.name)}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`);
    }
  }
  const rendered: RenderedSchema = renderSchema(model, { owners: options.owners, privileges: options.privileges, excludeTableData: options.excludeTableData, built });

  const schemaPrep = [...shadows.values()].map((s) => `CREATE SCHEMA ${quoteIdent(s)};`);
  const statements: PrepStatement[] = schemaPrep.map((sql) => ({ sql, original: sql, creates: null }));
  const standsAlone = tablesStandingAlone(model);
  for (const statement of rendered.preData) {
    if (/^CREATE SCHEMA /.test(statement)) continue;
    const extension = /^CREATE EXTENSION IF NOT EXISTS ("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*) /.exec(statement);
    if (extension) {
      const name = extension[1]!.startsWith('"') ? extension[1]!.slice(1, -1).replace(/""/g, '"') : extension[1]!;
      if (!created.has(name)) continue;
    }
    const table = /^CREATE (?:UNLOGGED )?TABLE (\S+) \(/.exec(statement);
    statements.push({ sql: rewrite(statement), original: statement, creates: table !== null && standsAlone.has(table[1]!) ? table[1]! : null });
  }
  const moved = tablesCreatedByCopy(statements, tables);
  const prep: string[] = [];
  const prepAlone: boolean[] = [];
  for (const [i, statement] of statements.entries()) {
    if (moved.has(i)) continue;
    prep.push(statement.sql);
    prepAlone.push(statement.creates !== null);
  }
  return {
    shadows, resolve, prep, prepAlone, tables, foreignKeys,
    finishing: rendered.postData.map(rewrite),
    refresh: rendered.refreshMaterializedViews,
    relocate,
    deferred,
    late: [...late],
  };
}

/** 'schema.table' of every leaf (plain table) under a partitioned table. */
function treeLeaves(root: Table, byKey: Map<string, Table>): string[] {
  const children = new Map<string, Table[]>();
  for (const t of byKey.values()) {
    if (!t.partitionOf) continue;
    const parent = `${t.partitionOf.schema}.${t.partitionOf.name}`;
    children.set(parent, [...(children.get(parent) ?? []), t]);
  }
  const out: string[] = [];
  const visit = (t: Table) => {
    const key = `${t.schema}.${t.name}`;
    if (t.kind === 'table') out.push(key);
    for (const c of children.get(key) ?? []) visit(c);
  };
  visit(root);
  return out;
}

function tableShadow(
  t: Table, byKey: Map<string, Table>, loadVia: Map<string, { schema: string; name: string }>,
  types: { copyable: (types: string[]) => boolean; holdsBytea: (types: string[]) => boolean; rendering: (type: string) => PackedRendering }, options: ShadowPlanOptions,
  shadows: Map<string, string>, rewrite: (s: string) => string,
): { table: ShadowTable; built: BuiltParts } {
  const key = `${t.schema}.${t.name}`;
  const real = qualify(t.schema, t.name);
  const shadow = qualify(shadows.get(t.schema)!, t.name);
  const bytes = options.sizes.get(key) ?? t.estimatedBytes;
  const weight = weightOf(bytes, options.weights?.get(key));
  const columns = t.columns.filter((c) => c.generated === undefined).sort((a, b) => a.position - b.position);
  const list = columns.length > 0 ? ` (${columns.map((c) => quoteIdent(c.name)).join(', ')})` : '';
  const via = loadVia.get(key);
  const viaRoot = via !== undefined;
  const root = via ? byKey.get(`${via.schema}.${via.name}`)! : t;
  const columnTypes = columns.map((c) => c.type);
  const packWith = options.packWith && !viaRoot && bytes >= PACK_MIN_BYTES && columns.length > 0 && !types.holdsBytea(columnTypes) ? options.packWith : null;
  const binary = !packWith && !viaRoot && options.binary && types.copyable(columnTypes) && !options.textTables?.has(key);
  const freeze = bytes >= FREEZE_MIN_BYTES;
  const builtConstraints = new Set<string>();
  const builtIndexes = new Set<string>();
  const builds: BuildStep[] = [];
  const copyId = `copy:${key}`;
  // rows loaded through the root land in any partition of the tree: builds wait for every copy of the tree
  const copies = viaRoot ? treeLeaves(root, byKey).map((leaf) => `copy:${leaf}`) : [copyId];
  for (const i of t.indexes) {
    if (i.constraint) continue;
    builds.push({ id: `index:${key}:${i.name}`, after: copies, tables: [key], exclusive: false, sql: rewrite(`${i.definition.trimEnd().replace(/;$/, '')};`), cost: indexCost(weight, i.definition), label: `${t.schema}.${i.name}` });
    builtIndexes.add(i.name);
  }
  for (const c of t.constraints) {
    if (c.cloned || !(c.type === 'primary key' || c.type === 'unique' || c.type === 'exclusion')) continue;
    const index = t.indexes.find((i) => i.constraint === c.name);
    const simple = SIMPLE_KEY.exec(c.definition);
    const plainIndex = index && index.name === c.name && simple && /^CREATE UNIQUE INDEX \S+ ON \S+ USING btree \([^()]*\)$/.test(index.definition);
    if (plainIndex && simple) {
      // built as a plain unique index (other indexes of the table can be built alongside: SHARE lock), then
      // promoted to the constraint, which is instant
      const indexId = `index:${key}:${c.name}`;
      builds.push({ id: indexId, after: copies, tables: [key], exclusive: false, sql: rewrite(`${index.definition};`), cost: indexCost(weight, index.definition), label: `${t.schema}.${c.name}` });
      builds.push({
        id: `constraint:${key}:${c.name}`, after: [indexId], tables: [key], exclusive: true, cost: 1, label: `${key} ${c.name}`,
        sql: `ALTER TABLE ONLY ${shadow}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${simple[1]} USING INDEX ${quoteIdent(c.name)};`,
      });
    } else {
      builds.push({
        id: `constraint:${key}:${c.name}`, after: copies, tables: [key], exclusive: true, cost: indexCost(weight, c.definition), label: `${key} ${c.name}`,
        sql: rewrite(`ALTER TABLE ONLY ${real}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`),
      });
    }
    builtConstraints.add(c.name);
  }
  const into = viaRoot ? qualify(shadows.get(root.schema)!, root.name) : shadow;
  return {
    table: {
      schema: t.schema, name: t.name, key, weight, binary,
      copyOut: `COPY ${real}${list} TO STDOUT${binary ? ' WITH (FORMAT binary)' : ''}`,
      packed: packWith ? { copyOut: packedCopyOut(packWith.fn, t.schema, t.name, columns.map((c) => ({ name: c.name, render: types.rendering(c.type) }))) } : null,
      create: [],
      prepare: viaRoot || !freeze ? null : `TRUNCATE ONLY ${shadow}`,
      copyIn: viaRoot ? `COPY ${into}${list} FROM STDIN`
        : `COPY ${shadow}${list} FROM STDIN${binary || freeze ? ` WITH (${[...(binary ? ['FORMAT binary'] : []), ...(freeze ? ['FREEZE'] : [])].join(', ')})` : ''}`,
      loadedInto: viaRoot ? null : shadow,
      viaRoot: viaRoot ? `${root.schema}.${root.name}` : null,
      builds,
    },
    built: { builtConstraints, builtIndexes },
  };
}

/** A statement of prep: as run (its names pointed at the temporary schemas) and as rendered. */
interface PrepStatement {
  sql: string;
  original: string;
  /** the qualified name (as rendered) of the table it creates, when that table stands alone (tablesStandingAlone) */
  creates: string | null;
}

/** Identifiers a statement holds, as the server folds them (quoted ones as written); words of strings too. */
function identifiersOf(statement: string): Set<string> {
  const out = new Set<string>();
  for (const m of statement.matchAll(/"((?:[^"]|"")+)"|([A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)/g)) {
    out.add(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
  }
  return out;
}

/**
 * Moves the creation of tables out of prep into their copies' transactions (ShadowTable.create), so that the lanes
 * load the first tables while the others are still to be created, and a large table is loaded frozen without a
 * TRUNCATE. 500 CREATE TABLEs cost the server 1–7 ms each (a file per relation, its TOAST table and index, its
 * identity sequence): before the lanes, that held every COPY back by seconds. A table qualifies when it stands alone
 * (tablesStandingAlone), a lane loads it on its own (not through a partition root), and no other statement of prep
 * names it or its array type: by any identifier equal to its name, a conservative test. Its followers go with it:
 * the `ALTER TABLE ONLY` statements about it alone and `ALTER SEQUENCE … OWNED BY` it, which nothing in prep needs.
 * Returns the indexes of the statements moved.
 */
function tablesCreatedByCopy(statements: PrepStatement[], tables: ShadowTable[]): Set<number> {
  const moved = new Set<number>();
  const at = new Map<string, number>();
  for (const [i, s] of statements.entries()) if (s.creates !== null) at.set(s.creates, i);
  const identifiers = statements.map((s) => identifiersOf(s.sql));
  for (const t of tables) {
    const real = qualify(t.schema, t.name);
    const index = at.get(real);
    if (t.viaRoot || index === undefined) continue;
    const followers: number[] = [];
    let named = false;
    for (let i = 0; i < statements.length && !named; i++) {
      if (i === index || (!identifiers[i]!.has(t.name) && !identifiers[i]!.has(`_${t.name}`))) continue;
      const original = statements[i]!.original;
      const follows = i > index && (
        (original.startsWith(`ALTER TABLE ONLY ${real} `) && !/ ATTACH PARTITION /.test(original))
        || (/^ALTER SEQUENCE \S+ OWNED BY /.test(original) && original.includes(` OWNED BY ${real}.`)));
      if (follows) followers.push(i);
      else named = true;
    }
    if (named) continue;
    t.create = [statements[index]!.sql, ...followers.map((i) => statements[i]!.sql)];
    // created in the copy's transaction: a COPY FREEZE needs no TRUNCATE
    t.prepare = null;
    moved.add(index);
    for (const i of followers) moved.add(i);
  }
  return moved;
}

/**
 * The qualified names of the ordinary tables whose CREATE TABLE needs no other table: no parent, no partition, not
 * typed, and no column whose type is a relation's row type (or an array of one). Anything else stays in order, and so
 * does a table whose name starts with an underscore: its row type could take the name another table's array type
 * (`_name`) is given, which the server settles only when the two are created one after the other.
 */
export function tablesStandingAlone(model: SchemaModel): Set<string> {
  const rowTypes = new Set([...model.tables, ...model.views].map((r) => qualify(r.schema, r.name)));
  const out = new Set<string>();
  for (const t of model.tables) {
    if (t.kind !== 'table' || t.partitionOf || t.inherits.length > 0 || t.ofType !== undefined || t.name.startsWith('_')) continue;
    if (t.columns.some((c) => rowTypes.has(c.type.replace(/(\[\])+$/, '')))) continue;
    out.add(qualify(t.schema, t.name));
  }
  return out;
}

/** Foreign keys between loaded tables whose referenced table's keys are all built by the lanes. */
function planForeignKeys(model: SchemaModel, tables: ShadowTable[], built: Map<string, BuiltParts>, rewrite: (s: string) => string): BuildStep[] {
  const byKey = new Map(tables.map((t) => [t.key, t]));
  const modelTables = new Map(model.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const keysBuilt = (key: string) => {
    const t = modelTables.get(key)!;
    const parts = built.get(key);
    if (!parts) return false;
    return t.constraints.every((c) => (c.type !== 'primary key' && c.type !== 'unique') || parts.builtConstraints.has(c.name))
      && t.indexes.every((i) => i.constraint !== undefined || !/^CREATE UNIQUE /.test(i.definition) || parts.builtIndexes.has(i.name));
  };
  const out: BuildStep[] = [];
  for (const s of tables) {
    const t = modelTables.get(s.key)!;
    for (const c of t.constraints) {
      if (c.type !== 'foreign key' || c.cloned || !c.references) continue;
      const refKey = `${c.references.schema}.${c.references.name}`;
      const ref = byKey.get(refKey);
      if (!ref || !keysBuilt(refKey)) continue;
      out.push({
        id: `fk:${s.key}:${c.name}`,
        after: [`copy:${s.key}`, `copy:${refKey}`, ...s.builds.map((b) => b.id), ...ref.builds.map((b) => b.id)],
        tables: [...new Set([s.key, refKey])], exclusive: true, cost: foreignKeyCost(s.weight, ref.weight), label: `${s.key} ${c.name}`,
        sql: rewrite(`ALTER TABLE ONLY ${qualify(t.schema, t.name)}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`),
      });
      (built.get(s.key)!.builtConstraints as Set<string>).add(c.name);
    }
  }
  return out;
}

