import type {
  Column, CompositeType, DomainType, EnumType, RangeType, SequenceInfo, SequenceOptions, Table, View,
} from '@mbsync/schema-diff';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';

/** CREATE TYPE … AS ENUM with the labels in sort order (the order ADD VALUE BEFORE/AFTER produced). */
export function renderEnum(t: EnumType): string {
  return `CREATE TYPE ${qualify(t.schema, t.name)} AS ENUM (\n${t.labels.map((l) => `    ${quoteLiteral(l)}`).join(',\n')}\n);`;
}

/** CREATE DOMAIN with its validated CHECKs inline; NOT VALID ones are added after the data (post-data). */
export function renderDomain(d: DomainType): string {
  let text = `CREATE DOMAIN ${qualify(d.schema, d.name)} AS ${d.baseType}`;
  if (d.collation) text += ` COLLATE ${d.collation}`;
  if (d.default !== undefined) text += ` DEFAULT ${d.default}`;
  if (d.notNull) text += ' NOT NULL';
  for (const c of d.constraints) {
    if (c.validated) text += `\n\tCONSTRAINT ${quoteIdent(c.name)} ${c.definition}`;
  }
  return `${text};`;
}

export function renderComposite(t: CompositeType): string {
  const attrs = t.attributes.map((a) => `    ${quoteIdent(a.name)} ${a.type}${a.collation ? ` COLLATE ${a.collation}` : ''}`);
  return `CREATE TYPE ${qualify(t.schema, t.name)} AS (\n${attrs.join(',\n')}\n);`;
}

export function renderRange(t: RangeType): string {
  const opts = [`subtype = ${t.subtype}`, `multirange_type_name = ${t.multirangeName}`];
  if (t.subtypeOpclass) opts.push(`subtype_opclass = ${t.subtypeOpclass}`);
  if (t.collation) opts.push(`collation = ${t.collation}`);
  if (t.canonical) opts.push(`canonical = ${t.canonical}`);
  if (t.subtypeDiff) opts.push(`subtype_diff = ${t.subtypeDiff}`);
  return `CREATE TYPE ${qualify(t.schema, t.name)} AS RANGE (\n    ${opts.join(',\n    ')}\n);`;
}

/** Sequence options in CREATE SEQUENCE / identity syntax; every value explicit so the catalog row matches. */
function sequenceClauses(s: SequenceOptions, withType: boolean): string[] {
  return [
    ...(withType ? [`AS ${s.dataType}`] : []),
    `START WITH ${s.start}`, `INCREMENT BY ${s.increment}`, `MINVALUE ${s.minValue}`, `MAXVALUE ${s.maxValue}`,
    `CACHE ${s.cache}`, ...(s.cycle ? ['CYCLE'] : []),
  ];
}

export function renderSequence(s: SequenceInfo): string {
  const unlogged = s.persistence === 'unlogged' ? 'UNLOGGED ' : '';
  return `CREATE ${unlogged}SEQUENCE ${qualify(s.schema, s.name)}\n    ${sequenceClauses(s, true).join('\n    ')};`;
}

function renderColumn(c: Column): string {
  return `    ${quoteIdent(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}${columnClauses(c)}`;
}

/** A typed table's column takes its type and collation from the type: only its own default, NOT NULL, … are stated. */
function typedColumn(c: Column): string | null {
  const clauses = columnClauses(c);
  return clauses === '' ? null : `    ${quoteIdent(c.name)} WITH OPTIONS${clauses}`;
}

/** What follows a column's type: generation, default, identity, NOT NULL. */
function columnClauses(c: Column): string {
  let text = '';
  if (c.generated !== undefined) text += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
  else if (c.default !== undefined) text += ` DEFAULT ${c.default}`;
  if (c.identity && c.identitySequence) {
    const seq = c.identitySequence;
    const opts = [`SEQUENCE NAME ${qualify(seq.sequenceSchema, seq.sequenceName)}`, ...sequenceClauses(seq, false)];
    text += ` GENERATED ${c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY (\n        ${opts.join('\n        ')}\n    )`;
  }
  if (c.notNull) text += ' NOT NULL';
  return text;
}

/**
 * Statements that create a table the way pg_dump does: partitions list every column and their CHECKs, then
 * ATTACH PARTITION (the server then marks them inherited); inheritance children list only local columns and
 * local CHECKs, with INHERITS; a typed table (OF type) only what its columns add to the type. NOT VALID checks
 * wait for post-data. Column compression and attribute options follow as ALTER TABLE, as pg_dump writes them.
 */
export function renderTable(t: Table): string[] {
  const name = qualify(t.schema, t.name);
  const isPartition = t.partitionOf !== undefined;
  const columns = t.columns.filter((c) => isPartition || c.isLocal);
  const checks = t.constraints.filter((c) => c.type === 'check' && isInlineCheck(t, c));
  const lines = [
    ...(t.ofType === undefined ? columns.map(renderColumn) : columns.flatMap((c) => typedColumn(c) ?? [])),
    ...checks.map((c) => `    CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`),
  ];
  const elements = lines.length ? `\n${lines.join(',\n')}\n` : '';
  let text = `CREATE ${t.persistence === 'unlogged' ? 'UNLOGGED ' : ''}TABLE ${name}${t.ofType === undefined ? ` (${elements})` : ` OF ${t.ofType}${elements ? ` (${elements})` : ''}`}`;
  if (!isPartition && t.inherits.length > 0) text += `\nINHERITS (${t.inherits.map((p) => qualify(p.schema, p.name)).join(', ')})`;
  if (t.partitionKey) text += `\nPARTITION BY ${t.partitionKey}`;
  if (t.reloptions.length > 0) text += `\nWITH (${t.reloptions.join(', ')})`;
  const statements = [`${text};`];

  if (t.partitionOf && t.partitionBound) {
    statements.push(`ALTER TABLE ONLY ${qualify(t.partitionOf.schema, t.partitionOf.name)} ATTACH PARTITION ${name} ${t.partitionBound};`);
  }
  for (const c of t.columns) {
    const col = quoteIdent(c.name);
    // Inherited columns take the parent's default and NOT NULL; restate the child's own (harmless when equal).
    if (!isPartition && !c.isLocal) {
      if (c.default !== undefined) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET DEFAULT ${c.default};`);
      if (c.notNull) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET NOT NULL;`);
    }
    if (c.statistics !== undefined) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET STATISTICS ${c.statistics};`);
    if (c.storage) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET STORAGE ${c.storage.toUpperCase()};`);
    if (c.compression) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET COMPRESSION ${c.compression};`);
    if (c.options && c.options.length > 0) statements.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${col} SET (${c.options.join(', ')});`);
  }
  if (t.replicaIdentity === 'n') statements.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY NOTHING;`);
  if (t.replicaIdentity === 'f') statements.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY FULL;`);
  return statements;
}

/** A CHECK goes inside CREATE TABLE when valid and either local or (for a partition) inherited from the parent. */
export function isInlineCheck(t: Table, c: Table['constraints'][number]): boolean {
  return c.validated && (c.isLocal || t.partitionOf !== undefined);
}

function viewOptions(v: View): string {
  return v.reloptions.length > 0 ? ` WITH (${v.reloptions.join(', ')})` : '';
}

/** CREATE VIEW, or CREATE MATERIALIZED VIEW … WITH NO DATA (REFRESH runs after the data). */
export function renderView(v: View, replace = false): string {
  const name = qualify(v.schema, v.name);
  if (v.materialized) return `CREATE MATERIALIZED VIEW ${name}${viewOptions(v)} AS\n${v.definition}\n  WITH NO DATA;`;
  return `CREATE ${replace ? 'OR REPLACE ' : ''}VIEW ${name}${viewOptions(v)} AS\n${v.definition};`;
}

/** A placeholder view with the real one's column names and types, replaced later (pg_dump's cycle breaker). */
export function renderViewStub(v: View): string {
  const cols = v.columns.map((c) => `NULL::${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''} AS ${quoteIdent(c.name)}`);
  return `CREATE VIEW ${qualify(v.schema, v.name)} AS\n SELECT ${cols.join(',\n    ')};`;
}
