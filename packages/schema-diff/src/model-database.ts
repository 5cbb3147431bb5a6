/**
 * Database-wide parts of the schema model: objects that belong to no schema but that a whole-database copy carries,
 * as pg_dump does without -n. Like the rest of the model: names, never OIDs; lists sorted by name.
 */

/** ALTER DEFAULT PRIVILEGES: what `role` grants on objects it creates later (in `schema`, or anywhere when null). */
export interface DefaultPrivilege {
  role: string;
  /** null: the role's global defaults (they replace the built-in ones) */
  schema: string | null;
  objectType: 'tables' | 'sequences' | 'functions' | 'types' | 'schemas';
  /** aclitem[] text */
  acl: string[];
}

export interface PublicationTable {
  schema: string;
  name: string;
  /** a column list, when the publication publishes only some columns */
  columns?: string[];
  /** a row filter (WHERE), deparsed */
  rowFilter?: string;
}

export interface Publication {
  name: string;
  owner: string;
  allTables: boolean;
  publish: { insert: boolean; update: boolean; delete: boolean; truncate: boolean };
  viaRoot: boolean;
  /** member tables that belong to the copy */
  tables: PublicationTable[];
  /** FOR TABLES IN SCHEMA, schemas of the copy */
  schemas: string[];
  comment?: string;
}

export interface EventTrigger {
  name: string;
  owner: string;
  event: string;
  /** WHEN TAG IN (…), null for every tag */
  tags: string[] | null;
  function: { schema: string; name: string };
  /** O = origin (default), D = disabled, R = replica, A = always */
  enabled: 'O' | 'D' | 'R' | 'A';
  comment?: string;
}
