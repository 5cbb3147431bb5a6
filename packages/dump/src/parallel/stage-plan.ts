import type { Column, SchemaModel, Table } from '@mbsync/schema-diff';
import type { StagedTableRendering } from '../ddl.js';
import { renderTable } from '../ddl/pre-data.js';
import { qualify, quoteIdent } from '../ddl/quote.js';
import { isCatalogCollation, isCatalogType, mayReferToUserObjects } from './expression-check.js';

/** One statement (or two) that builds an index or constraint on a staged table, run in a lane. */
export interface BuildStep {
  /** 'schema.table' (unquoted) of every table the statement locks */
  tables: string[];
  /** true when the statement takes a lock that conflicts with itself (ALTER TABLE … ADD CONSTRAINT) */
  exclusive: boolean;
  sql: string;
  /** weight for scheduling, in bytes of the tables it reads */
  cost: number;
  label: string;
}

/** A table loaded and indexed in a staging schema, then moved into its real schema by the final transaction. */
export interface StagedTable {
  schema: string;
  name: string;
  key: string;
  stageSchema: string;
  /** estimated size on disk (heap and TOAST), for scheduling */
  bytes: number;
  /** CREATE TABLE in the staging schema (no defaults), plus its storage and statistics settings */
  create: string[];
  /** the COPY column list (generated columns are never staged, so every column) */
  columns: string[];
  /** the COPY runs in binary format (every column of a type whose binary form is exact and portable) */
  binary: boolean;
  /** `COPY … TO STDOUT` on the source */
  copyOut: string;
  /** `COPY … FROM STDIN WITH (FREEZE)` into the staging table */
  copyIn: string;
  /** indexes, then constraints that use them (each step after the ones it names in `after`) */
  builds: (BuildStep & { id: string; after: string[] })[];
  /** foreign keys to other staged tables: built once both tables have their keys */
  foreignKeys: (BuildStep & { id: string; references: string })[];
  rendering: StagedTableRendering;
}

export interface StagePlan {
  tables: StagedTable[];
  /** for renderSchema: staged tables keyed 'schema.table' */
  rendering: Map<string, StagedTableRendering>;
  /** staging schema of every real schema that has staged tables */
  stageSchemas: Map<string, string>;
  /** why each data table of the model is not staged, for messages and tests */
  notStaged: Map<string, string>;
}

/**
 * Decides which tables of `model` are loaded in parallel into staging schemas (one per real schema, so names
 * never clash), and which go through the final transaction as before. A table is staged only when nothing in
 * its definition can depend on an object of the schemas the import replaces: its columns have pg_catalog types
 * and collations, no generated column, no inheritance or partitioning, identity sequences in its own schema,
 * CHECKs without qualified names. Defaults wait for the final transaction (they may call nextval on a
 * sequence that does not exist yet). Indexes and constraints are staged under the same test, each on its own.
 */
export function planStaging(model: SchemaModel, options: { stagePrefix: string; excludeTableData?: string[]; sizes: Map<string, number>; binary?: boolean }): StagePlan {
  const noData = new Set(options.excludeTableData ?? []);
  const parents = new Set<string>();
  for (const t of model.tables) {
    for (const p of t.inherits) parents.add(`${p.schema}.${p.name}`);
    if (t.partitionOf) parents.add(`${t.partitionOf.schema}.${t.partitionOf.name}`);
  }
  const stageSchemas = new Map<string, string>();
  const notStaged = new Map<string, string>();
  const candidates: Table[] = [];
  for (const t of model.tables) {
    const key = `${t.schema}.${t.name}`;
    if (t.kind !== 'table') continue;
    const reason = noData.has(key) ? 'rows excluded' : parents.has(key) ? 'has children' : whyNotStageable(t);
    if (reason) notStaged.set(key, reason);
    else candidates.push(t);
  }
  for (const t of candidates) {
    if (!stageSchemas.has(t.schema)) stageSchemas.set(t.schema, `${options.stagePrefix}_${stageSchemas.size + 1}`);
  }

  const tables = candidates.map((t) => stageTable(t, stageSchemas.get(t.schema)!, options.sizes.get(`${t.schema}.${t.name}`) ?? t.estimatedBytes, options.binary === true));
  const byKey = new Map(tables.map((s) => [s.key, s]));
  // foreign keys between staged tables whose referenced keys are all staged too
  for (const s of tables) {
    const t = model.tables.find((x) => x.schema === s.schema && x.name === s.name)!;
    for (const c of t.constraints) {
      if (c.type !== 'foreign key' || c.cloned || !c.references) continue;
      const refKey = `${c.references.schema}.${c.references.name}`;
      const ref = byKey.get(refKey);
      if (!ref || !allKeysStaged(model, ref)) continue;
      const refText = ` REFERENCES ${qualify(c.references.schema, c.references.name)}(`;
      const at = c.definition.indexOf(refText);
      if (!c.definition.startsWith('FOREIGN KEY (') || at === -1 || c.definition.indexOf(refText, at + 1) !== -1) continue;
      if (mayReferToUserObjects(c.definition.slice(0, at) + ' REFERENCES x(' + c.definition.slice(at + refText.length))) continue;
      const definition = `${c.definition.slice(0, at)} REFERENCES ${qualify(ref.stageSchema, ref.name)}(${c.definition.slice(at + refText.length)}`;
      s.foreignKeys.push({
        id: `fk:${s.key}:${c.name}`, references: refKey, tables: [...new Set([s.key, refKey])], exclusive: true, cost: s.bytes / 4,
        sql: `ALTER TABLE ONLY ${qualify(s.stageSchema, s.name)}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${definition};`,
        label: `${s.key} ${c.name}`,
      });
      (s.rendering.builtConstraints as Set<string>).add(c.name);
    }
  }
  return { tables, rendering: new Map(tables.map((s) => [s.key, s.rendering])), stageSchemas, notStaged };
}

function whyNotStageable(t: Table): string | null {
  if (t.partitionOf || t.inherits.length > 0) return 'partition or inheritance child';
  for (const c of t.columns) {
    if (c.generated !== undefined) return `generated column ${c.name}`;
    if (!isCatalogType(c.type)) return `column ${c.name} of type ${c.type}`;
    if (c.collation !== undefined && !isCatalogCollation(c.collation)) return `column ${c.name} with collation ${c.collation}`;
    if (c.identity && (!c.identitySequence || c.identitySequence.sequenceSchema !== t.schema)) return `identity column ${c.name} with its sequence elsewhere`;
  }
  for (const c of t.constraints) {
    if (c.type === 'check' && c.validated && c.isLocal && mayReferToUserObjects(c.definition)) return `check ${c.name}`;
  }
  return null;
}

/** Primary keys, unique constraints and unique indexes of a staged table are all built in staging. */
function allKeysStaged(model: SchemaModel, ref: StagedTable): boolean {
  const t = model.tables.find((x) => x.schema === ref.schema && x.name === ref.name)!;
  const keysOk = t.constraints.every((c) => (c.type !== 'primary key' && c.type !== 'unique') || ref.rendering.builtConstraints.has(c.name));
  const indexesOk = t.indexes.every((i) => i.constraint !== undefined || !/^CREATE UNIQUE /.test(i.definition) || ref.rendering.builtIndexes.has(i.name));
  return keysOk && indexesOk;
}

function withoutDefault(c: Column, stageSchema: string): Column {
  const { default: _default, ...rest } = c;
  return rest.identitySequence ? { ...rest, identitySequence: { ...rest.identitySequence, sequenceSchema: stageSchema } } : rest;
}

const SIMPLE_KEY = /^(PRIMARY KEY|UNIQUE) \([^()"]*\)$/;

/**
 * Types (format_type spelling, arrays included) whose binary COPY form is exact and the same on every server
 * version since 12, and whose binary input checks what text input checks. Binary COPY skips formatting and
 * parsing (timestamps, numerics, bytea as hex), which is most of a COPY's CPU.
 */
const BINARY_SAFE_TYPE = new RegExp(String.raw`^(?:smallint|integer|bigint|real|double precision|boolean|text|bytea|date|uuid|json|jsonb|oid|inet|cidr|macaddr`
  + String.raw`|numeric(?:\(\d+(?:,\d+)?\))?|character varying(?:\(\d+\))?|character(?:\(\d+\))?`
  + String.raw`|time(?:\(\d\))? (?:with|without) time zone|timestamp(?:\(\d\))? (?:with|without) time zone)(?:\[\])*$`);

function stageTable(t: Table, stageSchema: string, bytes: number, binaryAllowed: boolean): StagedTable {
  const key = `${t.schema}.${t.name}`;
  const real = qualify(t.schema, t.name);
  const staged = qualify(stageSchema, t.name);
  const create = renderTable({ ...t, schema: stageSchema, columns: t.columns.map((c) => withoutDefault(c, stageSchema)) });
  const columns = [...t.columns].sort((a, b) => a.position - b.position).map((c) => quoteIdent(c.name));
  const list = columns.length ? ` (${columns.join(', ')})` : '';
  const builtConstraints = new Set<string>();
  const builtIndexes = new Set<string>();
  const builds: StagedTable['builds'] = [];
  // pg_get_indexdef output starts exactly like this; anything else is left to the final transaction
  const indexPrefix = (name: string, unique: boolean) => `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${real} USING `;
  const stagedIndex = (definition: string, name: string): string | null => {
    for (const unique of [false, true]) {
      const prefix = indexPrefix(name, unique);
      if (definition.startsWith(prefix) && !mayReferToUserObjects(definition.slice(prefix.length))) {
        return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${staged} USING ${definition.slice(prefix.length)};`;
      }
    }
    return null;
  };
  const indexCost = bytes / 2;
  for (const i of t.indexes) {
    if (i.constraint || i.parentIndex) continue;
    const sql = stagedIndex(i.definition, i.name);
    if (!sql) continue;
    builds.push({ id: `index:${key}:${i.name}`, after: [], tables: [key], exclusive: false, sql, cost: indexCost, label: `${t.schema}.${i.name}` });
    builtIndexes.add(i.name);
  }
  for (const c of t.constraints) {
    if (c.cloned || !(c.type === 'primary key' || c.type === 'unique' || c.type === 'exclusion')) continue;
    if (mayReferToUserObjects(c.definition)) continue;
    const index = t.indexes.find((i) => i.constraint === c.name);
    const simple = SIMPLE_KEY.exec(c.definition);
    const indexSql = index && index.name === c.name && simple && /^btree \([^()]*\)$/.test(index.definition.slice(indexPrefix(index.name, true).length))
      ? stagedIndex(index.definition, index.name) : null;
    if (indexSql && simple) {
      // built as a plain unique index (which other indexes of the table can be built alongside: SHARE lock),
      // then promoted to the constraint, which is instant
      const indexId = `index:${key}:${c.name}`;
      builds.push({ id: indexId, after: [], tables: [key], exclusive: false, sql: indexSql, cost: indexCost, label: `${t.schema}.${c.name}` });
      builds.push({
        id: `constraint:${key}:${c.name}`, after: [indexId], tables: [key], exclusive: true, cost: 1, label: `${key} ${c.name}`,
        sql: `ALTER TABLE ONLY ${staged}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${simple[1]} USING INDEX ${quoteIdent(c.name)};`,
      });
    } else {
      builds.push({
        id: `constraint:${key}:${c.name}`, after: [], tables: [key], exclusive: true, cost: indexCost, label: `${key} ${c.name}`,
        sql: `ALTER TABLE ONLY ${staged}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition};`,
      });
    }
    builtConstraints.add(c.name);
  }
  const binary = binaryAllowed && t.columns.length > 0 && t.columns.every((c) => BINARY_SAFE_TYPE.test(c.type));
  const defaults = t.columns.filter((c) => c.default !== undefined)
    .map((c) => `ALTER TABLE ONLY ${real} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default};`);
  return {
    schema: t.schema, name: t.name, key, stageSchema, bytes, create, columns,
    binary,
    copyOut: `COPY ${real}${list} TO STDOUT${binary ? ' WITH (FORMAT binary)' : ''}`,
    copyIn: `COPY ${staged}${list} FROM STDIN WITH (${binary ? 'FORMAT binary, ' : ''}FREEZE)`,
    builds, foreignKeys: [],
    rendering: { statements: [`ALTER TABLE ${staged} SET SCHEMA ${quoteIdent(t.schema)};`, ...defaults], builtConstraints, builtIndexes },
  };
}
