/** Typesense field types a spec may use: the scalar types and their arrays (no objects, geo or auto). */
export const FIELD_TYPES = ['string', 'string[]', 'int32', 'int32[]', 'int64', 'int64[]', 'float', 'float[]', 'bool', 'bool[]'] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

/** One Typesense field and the result column its value comes from. */
export interface FieldSpec {
  /** Typesense field name; `id` is reserved (the document id comes from the spec's `idColumn`). */
  name: string;
  type: FieldType;
  /** Result column of the spec query holding the value; defaults to `name`. */
  column?: string;
  /** NULL values are left out of the document; without it a NULL is a conversion error (arrays become `[]`). */
  optional?: boolean;
  facet?: boolean;
  sort?: boolean;
  index?: boolean;
  infix?: boolean;
  locale?: string;
}

/**
 * A collection: the Typesense schema plus the SQL query whose rows become its documents, one per row.
 * Plain data, so a user can supply it as JSON (checked by `parseCollectionSpecs`, spec-schema.ts).
 */
export interface CollectionSpec {
  /** The alias searches use, e.g. `components`; each reindex builds `<name>_<timestamp>` behind it. */
  name: string;
  /** A single SELECT (schema-qualified names: the session search_path is not assumed). */
  query: string;
  /** Result column holding the document id (default `id`): a non-empty string or an integer. */
  idColumn?: string;
  fields: FieldSpec[];
  /** A non-optional numeric (or sortable string) field. */
  defaultSortingField?: string;
  tokenSeparators?: string[];
  symbolsToIndex?: string[];
}

/** The JSON document `--specs file.json` holds. */
export interface CollectionSpecsFile {
  collections: CollectionSpec[];
}

/** The query as it is wrapped in `SELECT … FROM (<query>) AS q`: without trailing semicolons. */
export function specQuery(spec: CollectionSpec): string {
  return stripTrailingSemicolons(spec.query);
}

/** The column a field reads. */
export function fieldColumn(field: FieldSpec): string {
  return field.column ?? field.name;
}

/** The column the document id comes from. */
export function idColumn(spec: CollectionSpec): string {
  return spec.idColumn ?? 'id';
}

function stripTrailingSemicolons(query: string): string {
  return query.replace(/[\s;]+$/, '');
}
