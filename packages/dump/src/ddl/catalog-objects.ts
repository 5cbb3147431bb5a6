import type {
  Cast, Collation, Conversion, Operator, OperatorClass, OperatorFamily, OperatorMember, SchemaModel, StatisticsObject, SupportFunction,
  TextSearchConfiguration, TextSearchDictionary, TextSearchParser, TextSearchTemplate,
} from '@mbsync/schema-diff';
import { castKey, catalogObjects, objectKey, operatorArguments, operatorKey } from '@mbsync/schema-diff';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';

/**
 * Creation priorities of the catalog objects when dependencies leave a choice, between the renderer's own
 * (schema 1, extension 2, type 3, function 4, aggregate 5, sequence 6, table 7): pg_dump's order, collations before
 * the types that use them, casts right after their types and functions, operators and their classes, conversions
 * and text search objects after the functions they name. Casts made WITHOUT FUNCTION or WITH INOUT, which a view or
 * a default may use without any pg_depend entry, are still created before every table and view this way.
 */
const PRIORITY = {
  collation: 2.5, cast: 4.5, operator: 5.1, operatorFamily: 5.2, operatorClass: 5.3, conversion: 5.4,
  textSearchParser: 5.5, textSearchTemplate: 5.6, textSearchDictionary: 5.7, textSearchConfiguration: 5.8,
};

/** One object to create before the data, as the renderer orders them. */
export interface CatalogRenderer {
  key: string;
  priority: number;
  schema: string;
  name: string;
  render: () => string[];
}

/** CREATE COLLATION with pg_dump's options: provider, determinism, the locale (or LC_COLLATE and LC_CTYPE), ICU rules. */
export function renderCollation(c: Collation): string {
  const options = [`provider = ${c.provider}`];
  if (!c.deterministic) options.push('deterministic = false');
  if (c.locale !== undefined) options.push(`locale = ${quoteLiteral(c.locale)}`);
  else if (c.lcCollate !== undefined && c.lcCollate === c.lcCtype) options.push(`locale = ${quoteLiteral(c.lcCollate)}`);
  else {
    if (c.lcCollate !== undefined) options.push(`lc_collate = ${quoteLiteral(c.lcCollate)}`);
    if (c.lcCtype !== undefined) options.push(`lc_ctype = ${quoteLiteral(c.lcCtype)}`);
  }
  if (c.rules !== undefined) options.push(`rules = ${quoteLiteral(c.rules)}`);
  return `CREATE COLLATION ${qualify(c.schema, c.name)} (${options.join(', ')});`;
}

/** CREATE TEXT SEARCH PARSER naming its functions. */
export function renderTextSearchParser(p: TextSearchParser): string {
  const options = [`START = ${p.start}`, `GETTOKEN = ${p.getToken}`, `END = ${p.end}`, ...(p.headline ? [`HEADLINE = ${p.headline}`] : []), `LEXTYPES = ${p.lexTypes}`];
  return `CREATE TEXT SEARCH PARSER ${qualify(p.schema, p.name)} (\n    ${options.join(',\n    ')}\n);`;
}

/** CREATE TEXT SEARCH TEMPLATE naming its functions. */
export function renderTextSearchTemplate(t: TextSearchTemplate): string {
  const options = [...(t.init ? [`INIT = ${t.init}`] : []), `LEXIZE = ${t.lexize}`];
  return `CREATE TEXT SEARCH TEMPLATE ${qualify(t.schema, t.name)} (\n    ${options.join(',\n    ')}\n);`;
}

/** CREATE TEXT SEARCH DICTIONARY on its template, with the template's options as the server keeps them. */
export function renderTextSearchDictionary(d: TextSearchDictionary): string {
  return `CREATE TEXT SEARCH DICTIONARY ${qualify(d.schema, d.name)} (\n    TEMPLATE = ${d.template}${d.options ? `,\n    ${d.options}` : ''}\n);`;
}

/** CREATE TEXT SEARCH CONFIGURATION on its parser (no mappings), then one ADD MAPPING per token type. */
export function renderTextSearchConfiguration(c: TextSearchConfiguration): string[] {
  const name = qualify(c.schema, c.name);
  return [
    `CREATE TEXT SEARCH CONFIGURATION ${name} (\n    PARSER = ${c.parser}\n);`,
    ...c.mappings.map((m) => `ALTER TEXT SEARCH CONFIGURATION ${name}\n    ADD MAPPING FOR ${quoteIdent(m.token)} WITH ${m.dictionaries.join(', ')};`),
  ];
}

const CAST_CONTEXT: Record<Cast['context'], string> = { explicit: '', assignment: ' AS ASSIGNMENT', implicit: ' AS IMPLICIT' };

/**
 * CREATE CAST. A cast is database-wide, but the ones the model carries depend on a copied function or type, which a
 * replace drops (DROP SCHEMA … CASCADE takes the cast along): the plain statement is right, and a target that kept
 * such a cast some other way fails loudly instead of keeping a different one.
 */
export function renderCast(c: Cast): string {
  const how = c.method === 'binary' ? 'WITHOUT FUNCTION' : c.method === 'inout' ? 'WITH INOUT' : `WITH FUNCTION ${c.function ?? ''}`;
  return `CREATE CAST (${c.source} AS ${c.target}) ${how}${CAST_CONTEXT[c.context]};`;
}

/** `schema.op`: an operator's symbol is never quoted. */
function operatorName(o: { schema: string; name: string }): string {
  return `${quoteIdent(o.schema)}.${o.name}`;
}

/** CREATE OPERATOR; naming a commutator or negator not created yet makes a shell the later CREATE completes. */
export function renderOperator(o: Operator): string {
  const options = [`FUNCTION = ${o.function}`, ...(o.left !== null ? [`LEFTARG = ${o.left}`] : []), `RIGHTARG = ${o.right}`];
  if (o.commutator) options.push(`COMMUTATOR = OPERATOR(${o.commutator})`);
  if (o.negator) options.push(`NEGATOR = OPERATOR(${o.negator})`);
  if (o.merges) options.push('MERGES');
  if (o.hashes) options.push('HASHES');
  if (o.restrict) options.push(`RESTRICT = ${o.restrict}`);
  if (o.join) options.push(`JOIN = ${o.join}`);
  return `CREATE OPERATOR ${operatorName(o)} (\n    ${options.join(',\n    ')}\n);`;
}

function memberItems(operators: OperatorMember[], functions: SupportFunction[]): string[] {
  return [
    ...operators.map((m) => `OPERATOR ${m.strategy} ${m.operator}${m.orderBy ? ` FOR ORDER BY ${m.orderBy}` : ''}`),
    ...functions.map((f) => `FUNCTION ${f.number} (${f.leftType}, ${f.rightType}) ${f.function}`),
  ];
}

const usingMethod = (o: { method: string }) => `USING ${quoteIdent(o.method)}`;

/** CREATE OPERATOR FAMILY, then its loose members (those that belong to no class of it). */
export function renderOperatorFamily(f: OperatorFamily): string[] {
  const name = `${qualify(f.schema, f.name)} ${usingMethod(f)}`;
  const items = memberItems(f.operators, f.functions);
  return [
    `CREATE OPERATOR FAMILY ${name};`,
    ...(items.length > 0 ? [`ALTER OPERATOR FAMILY ${name} ADD\n    ${items.join(',\n    ')};`] : []),
  ];
}

/**
 * CREATE OPERATOR CLASS in its family (created first, by its own node), with the members that belong to the class.
 * A class whose members all belong to the family still needs one item: STORAGE of its own type changes nothing
 * (pg_dump's way).
 */
export function renderOperatorClass(c: OperatorClass): string {
  const items = [...(c.storage ? [`STORAGE ${c.storage}`] : []), ...memberItems(c.operators, c.functions)];
  if (items.length === 0) items.push(`STORAGE ${c.type}`);
  return `CREATE OPERATOR CLASS ${qualify(c.schema, c.name)}\n    ${c.default ? 'DEFAULT ' : ''}FOR TYPE ${c.type} ${usingMethod(c)} FAMILY ${c.family} AS\n    ${items.join(',\n    ')};`;
}

/** CREATE [DEFAULT] CONVERSION. */
export function renderConversion(c: Conversion): string {
  return `CREATE ${c.default ? 'DEFAULT ' : ''}CONVERSION ${qualify(c.schema, c.name)} FOR ${quoteLiteral(c.from)} TO ${quoteLiteral(c.to)} FROM ${c.function};`;
}

/** CREATE STATISTICS, and its statistics target when set: after the data, like an index. */
export function renderStatistics(s: StatisticsObject): string[] {
  return [`${s.definition};`, ...(s.target !== undefined ? [`ALTER STATISTICS ${qualify(s.schema, s.name)} SET STATISTICS ${s.target};`] : [])];
}

/** The model's catalog objects created before the data, with their dependency keys and priorities. */
export function catalogRenderers(model: SchemaModel): CatalogRenderer[] {
  const c = catalogObjects(model);
  const out: CatalogRenderer[] = [];
  const add = (key: string, priority: number, o: { schema: string; name: string }, render: () => string[]) => {
    out.push({ key, priority, schema: o.schema, name: o.name, render });
  };
  for (const o of c.collations) add(objectKey('collation', o.schema, o.name), PRIORITY.collation, o, () => [renderCollation(o)]);
  for (const o of c.casts) add(castKey(o), PRIORITY.cast, { schema: '', name: `${o.source}\u0000${o.target}` }, () => [renderCast(o)]);
  for (const o of c.operators) add(operatorKey(o), PRIORITY.operator, { schema: o.schema, name: `${o.name}(${operatorArguments(o)})` }, () => [renderOperator(o)]);
  for (const o of c.operatorFamilies) {
    add(objectKey('operator-family', o.schema, o.name, o.method), PRIORITY.operatorFamily, { schema: o.schema, name: `${o.name} ${o.method}` }, () => renderOperatorFamily(o));
  }
  for (const o of c.operatorClasses) {
    add(objectKey('operator-class', o.schema, o.name, o.method), PRIORITY.operatorClass, { schema: o.schema, name: `${o.name} ${o.method}` }, () => [renderOperatorClass(o)]);
  }
  for (const o of c.conversions) add(objectKey('conversion', o.schema, o.name), PRIORITY.conversion, o, () => [renderConversion(o)]);
  for (const o of c.textSearchParsers) add(objectKey('ts-parser', o.schema, o.name), PRIORITY.textSearchParser, o, () => [renderTextSearchParser(o)]);
  for (const o of c.textSearchTemplates) add(objectKey('ts-template', o.schema, o.name), PRIORITY.textSearchTemplate, o, () => [renderTextSearchTemplate(o)]);
  for (const o of c.textSearchDictionaries) {
    add(objectKey('ts-dictionary', o.schema, o.name), PRIORITY.textSearchDictionary, o, () => [renderTextSearchDictionary(o)]);
  }
  for (const o of c.textSearchConfigurations) {
    add(objectKey('ts-configuration', o.schema, o.name), PRIORITY.textSearchConfiguration, o, () => renderTextSearchConfiguration(o));
  }
  return out;
}

/** How COMMENT ON and ALTER … OWNER TO name an operator: `OPERATOR s.op (left, right)`. */
function operatorTarget(o: Operator): string {
  return `OPERATOR ${operatorName(o)} (${operatorArguments(o)})`;
}

/** The statistics objects on relations the model creates (not on a foreign table, which is not). */
function createdStatistics(model: SchemaModel): StatisticsObject[] {
  const relations = new Set([...model.tables, ...model.views].map((r) => `${r.schema}.${r.name}`));
  return catalogObjects(model).statistics.filter((s) => relations.has(`${s.table.schema}.${s.table.name}`));
}

/** CREATE STATISTICS of the model (post-data: the tables exist and hold their rows). */
export function renderCatalogPostData(model: SchemaModel): string[] {
  return createdStatistics(model).flatMap(renderStatistics);
}

/** COMMENT ON for every catalog object that carries one. */
export function renderCatalogComments(model: SchemaModel): string[] {
  const c = catalogObjects(model);
  const out: string[] = [];
  const add = (target: string, comment: string | undefined) => {
    if (comment !== undefined) out.push(`COMMENT ON ${target} IS ${quoteLiteral(comment)};`);
  };
  for (const o of c.collations) add(`COLLATION ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of c.textSearchParsers) add(`TEXT SEARCH PARSER ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of c.textSearchTemplates) add(`TEXT SEARCH TEMPLATE ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of c.textSearchDictionaries) add(`TEXT SEARCH DICTIONARY ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of c.textSearchConfigurations) add(`TEXT SEARCH CONFIGURATION ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of c.casts) add(`CAST (${o.source} AS ${o.target})`, o.comment);
  for (const o of c.operators) add(operatorTarget(o), o.comment);
  for (const o of c.operatorFamilies) add(`OPERATOR FAMILY ${qualify(o.schema, o.name)} ${usingMethod(o)}`, o.comment);
  for (const o of c.operatorClasses) add(`OPERATOR CLASS ${qualify(o.schema, o.name)} ${usingMethod(o)}`, o.comment);
  for (const o of c.conversions) add(`CONVERSION ${qualify(o.schema, o.name)}`, o.comment);
  for (const o of createdStatistics(model)) add(`STATISTICS ${qualify(o.schema, o.name)}`, o.comment);
  return out;
}

/**
 * ALTER … OWNER TO for the catalog objects that have an owner (text search parsers and templates and casts have
 * none). None of these kinds has privileges to grant.
 */
export function renderCatalogOwners(model: SchemaModel): string[] {
  const c = catalogObjects(model);
  const out: string[] = [];
  const add = (target: string, owner: string) => out.push(`ALTER ${target} OWNER TO ${quoteIdent(owner)};`);
  for (const o of c.collations) add(`COLLATION ${qualify(o.schema, o.name)}`, o.owner);
  for (const o of c.textSearchDictionaries) add(`TEXT SEARCH DICTIONARY ${qualify(o.schema, o.name)}`, o.owner);
  for (const o of c.textSearchConfigurations) add(`TEXT SEARCH CONFIGURATION ${qualify(o.schema, o.name)}`, o.owner);
  for (const o of c.operators) add(operatorTarget(o), o.owner);
  for (const o of c.operatorFamilies) add(`OPERATOR FAMILY ${qualify(o.schema, o.name)} ${usingMethod(o)}`, o.owner);
  for (const o of c.operatorClasses) add(`OPERATOR CLASS ${qualify(o.schema, o.name)} ${usingMethod(o)}`, o.owner);
  for (const o of c.conversions) add(`CONVERSION ${qualify(o.schema, o.name)}`, o.owner);
  for (const o of createdStatistics(model)) add(`STATISTICS ${qualify(o.schema, o.name)}`, o.owner);
  return out;
}
