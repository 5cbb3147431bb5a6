/**
 * Model types of the catalog objects besides relations, types and routines: collations, text search objects, casts,
 * operators with their classes and families, conversions and extended statistics. Like the rest of the model they
 * hold no OIDs; every name or type in them is the server's own spelling under an empty search_path (qualified
 * outside pg_catalog). Owners are kept where the kind has one; none of these kinds has an ACL.
 */

/** CREATE COLLATION. */
export interface Collation {
  schema: string;
  name: string;
  owner: string;
  provider: 'libc' | 'icu' | 'builtin';
  deterministic: boolean;
  /** The ICU (or builtin) locale; absent for libc, whose locale is lcCollate/lcCtype. */
  locale?: string;
  lcCollate?: string;
  lcCtype?: string;
  /** ICU tailoring rules (PostgreSQL 16+). */
  rules?: string;
  comment?: string;
}

/** CREATE TEXT SEARCH PARSER: its functions as `regproc` text. No owner in the catalog. */
export interface TextSearchParser {
  schema: string;
  name: string;
  start: string;
  getToken: string;
  end: string;
  headline?: string;
  lexTypes: string;
  comment?: string;
}

/** CREATE TEXT SEARCH TEMPLATE: its functions as `regproc` text. No owner in the catalog. */
export interface TextSearchTemplate {
  schema: string;
  name: string;
  init?: string;
  lexize: string;
  comment?: string;
}

/** CREATE TEXT SEARCH DICTIONARY. */
export interface TextSearchDictionary {
  schema: string;
  name: string;
  owner: string;
  /** The template, always qualified (`pg_catalog.simple`). */
  template: string;
  /** `dictinitoption`: the template's options as the server keeps them (`stopwords = 'english'`). */
  options?: string;
  comment?: string;
}

/** One token type of a text search configuration and the dictionaries it goes through, in order. */
export interface TextSearchMapping {
  /** The parser's alias of the token type (`asciiword`). */
  token: string;
  /** `regdictionary` text: unqualified for pg_catalog's. */
  dictionaries: string[];
}

/** CREATE TEXT SEARCH CONFIGURATION with its mappings (ADD MAPPING). */
export interface TextSearchConfiguration {
  schema: string;
  name: string;
  owner: string;
  /** The parser, always qualified (`pg_catalog."default"`). */
  parser: string;
  /** In token type order. */
  mappings: TextSearchMapping[];
  comment?: string;
}

/**
 * CREATE CAST, user-defined (not made with a type, not an extension's): carried when its function, its source type
 * or its target type belongs to the copied schemas. Database-wide: identified by its two types.
 */
export interface Cast {
  /** format_type of castsource / casttarget. */
  source: string;
  target: string;
  method: 'function' | 'binary' | 'inout';
  /** `regprocedure` text of the function (method 'function'). */
  function?: string;
  context: 'explicit' | 'assignment' | 'implicit';
  /** The copied schemas its function and types live in: a replace of any of them drops the cast. */
  schemas: string[];
  comment?: string;
}

/** CREATE OPERATOR (shell operators, never completed, are left out as pg_dump does). */
export interface Operator {
  schema: string;
  /** The operator's symbol, e.g. `===`. */
  name: string;
  owner: string;
  /** format_type of the left operand; null for a prefix operator. */
  left: string | null;
  right: string;
  /** `regproc` text of the implementing function. */
  function: string;
  /** `schema.op` of the commutator and negator (always qualified, for OPERATOR(…)). */
  commutator?: string;
  negator?: string;
  /** `regproc` text of the selectivity estimators. */
  restrict?: string;
  join?: string;
  merges: boolean;
  hashes: boolean;
  comment?: string;
}

/** An operator of an operator class or family (pg_amop). */
export interface OperatorMember {
  strategy: number;
  /** `regoperator` text: name and operand types. */
  operator: string;
  /** FOR ORDER BY this sort operator family (qualified); absent for a search operator. */
  orderBy?: string;
}

/** A support function of an operator class or family (pg_amproc). */
export interface SupportFunction {
  number: number;
  leftType: string;
  rightType: string;
  /** `regprocedure` text. */
  function: string;
}

/**
 * CREATE OPERATOR FAMILY with its loose members: those that belong to the family itself (ALTER OPERATOR FAMILY …
 * ADD), not to one of its classes.
 */
export interface OperatorFamily {
  schema: string;
  name: string;
  /** Index access method. */
  method: string;
  owner: string;
  operators: OperatorMember[];
  functions: SupportFunction[];
  comment?: string;
}

/** CREATE OPERATOR CLASS with the members that belong to the class. */
export interface OperatorClass {
  schema: string;
  name: string;
  method: string;
  owner: string;
  /** format_type of the indexed type. */
  type: string;
  default: boolean;
  /** Its family, qualified. */
  family: string;
  /** STORAGE type, when the index stores another type than the indexed one. */
  storage?: string;
  operators: OperatorMember[];
  functions: SupportFunction[];
  comment?: string;
}

/** CREATE CONVERSION. */
export interface Conversion {
  schema: string;
  name: string;
  owner: string;
  /** Encoding names, e.g. `LATIN1`. */
  from: string;
  to: string;
  /** `regproc` text. */
  function: string;
  default: boolean;
  comment?: string;
}

/** CREATE STATISTICS (extended statistics), created after the data like an index. */
export interface StatisticsObject {
  schema: string;
  name: string;
  owner: string;
  /** The table (or materialized view) it is on. */
  table: { schema: string; name: string };
  /** `pg_get_statisticsobjdef` output. */
  definition: string;
  /** ALTER STATISTICS … SET STATISTICS, when set. */
  target?: number;
  comment?: string;
}

/**
 * The catalog objects of a model. Optional in `SchemaModel` (a manifest written before they were carried has none):
 * read them through `catalogObjects`.
 */
export interface CatalogObjects {
  collations: Collation[];
  textSearchParsers: TextSearchParser[];
  textSearchTemplates: TextSearchTemplate[];
  textSearchDictionaries: TextSearchDictionary[];
  textSearchConfigurations: TextSearchConfiguration[];
  casts: Cast[];
  operators: Operator[];
  operatorFamilies: OperatorFamily[];
  operatorClasses: OperatorClass[];
  conversions: Conversion[];
  statistics: StatisticsObject[];
}

/** A model's catalog objects, absent lists (an older manifest) read as empty. */
export function catalogObjects(model: Partial<CatalogObjects>): CatalogObjects {
  return {
    collations: model.collations ?? [],
    textSearchParsers: model.textSearchParsers ?? [],
    textSearchTemplates: model.textSearchTemplates ?? [],
    textSearchDictionaries: model.textSearchDictionaries ?? [],
    textSearchConfigurations: model.textSearchConfigurations ?? [],
    casts: model.casts ?? [],
    operators: model.operators ?? [],
    operatorFamilies: model.operatorFamilies ?? [],
    operatorClasses: model.operatorClasses ?? [],
    conversions: model.conversions ?? [],
    statistics: model.statistics ?? [],
  };
}

/** `left, right` of an operator's identity, NONE for a prefix operator's missing left operand. */
export function operatorArguments(o: { left: string | null; right: string }): string {
  return `${o.left ?? 'NONE'}, ${o.right}`;
}
