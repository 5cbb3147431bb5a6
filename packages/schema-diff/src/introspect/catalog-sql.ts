/**
 * SQL fragments shared by the readers of catalog objects. `$1` is always the selected schemas.
 */

/**
 * Not a member of an extension ('e': CREATE EXTENSION brings it back) nor made implicitly with another object
 * ('i': a range type's casts to its multirange).
 */
export function notMember(catalog: string, alias: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
    WHERE e.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND e.objid = ${alias}.oid AND e.deptype IN ('e', 'i'))`;
}

/** The object's own comment (objsubid 0), as `comment`. */
export function commentJoin(catalog: string, alias: string): string {
  return `LEFT JOIN pg_catalog.pg_description d ON d.objoid = ${alias}.oid AND d.classoid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND d.objsubid = 0`;
}

/** `schema.name` as the server quotes it (quote_ident on each part), for names stored qualified. */
export function qualifiedName(schemaColumn: string, nameColumn: string): string {
  return `pg_catalog.quote_ident(${schemaColumn}) || '.' || pg_catalog.quote_ident(${nameColumn})`;
}

/**
 * Rows of `catalog` (alias `o`, joined to its namespace `n` and to `joins`) in the selected schemas, not extension
 * members, with their comment (`d.description`).
 */
export function fromSelected(catalog: string, namespaceColumn: string, joins = ''): string {
  return `FROM pg_catalog.${catalog} o
    JOIN pg_catalog.pg_namespace n ON n.oid = o.${namespaceColumn}
    ${commentJoin(catalog, 'o')}${joins ? `
    ${joins}` : ''}
    WHERE n.nspname = ANY($1::text[]) AND ${notMember(catalog, 'o')}`;
}

const OPERATOR_ARGS = (alias: string) => `CASE WHEN ${alias}.oprleft <> 0 THEN pg_catalog.format_type(${alias}.oprleft, NULL) ELSE 'NONE' END
    || ', ' || pg_catalog.format_type(${alias}.oprright, NULL)`;

/** pg_amop/pg_amproc rows mapped to what owns them: their operator class, or their family (loose members). */
function memberOwner(catalog: string, alias: string, familyColumn: string): string {
  return `SELECT 'pg_catalog.${catalog}'::pg_catalog.regclass, ${alias}.oid,
    CASE WHEN od.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass THEN 'operator-class' ELSE 'operator-family' END,
    COALESCE(ocn.nspname, ofn.nspname), COALESCE(oc.opcname, ofm.opfname), am.amname::text
  FROM pg_catalog.${catalog} ${alias}
  JOIN pg_catalog.pg_depend od ON od.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND od.objid = ${alias}.oid AND od.deptype IN ('a', 'i')
    AND od.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass, 'pg_catalog.pg_opfamily'::pg_catalog.regclass)
  JOIN pg_catalog.pg_opfamily fam ON fam.oid = ${alias}.${familyColumn}
  JOIN pg_catalog.pg_am am ON am.oid = fam.opfmethod
  LEFT JOIN pg_catalog.pg_opclass oc ON od.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND oc.oid = od.refobjid
  LEFT JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
  LEFT JOIN pg_catalog.pg_opfamily ofm ON od.refclassid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND ofm.oid = od.refobjid
  LEFT JOIN pg_catalog.pg_namespace ofn ON ofn.oid = ofm.opfnamespace`;
}

/**
 * Rows of the dependency reader's OBJECTS for the catalog objects (columns: classid, objid, kind, schema, name,
 * args), keyed as catalogObjectKeys keys them. A cast's two types stand for its schema and name; an operator's
 * operands, an operator class's or family's access method for its args. The members of a class or family are
 * mapped to it, so that its operators and functions come first.
 */
export const CATALOG_OBJECT_ROWS = `
  SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, o.oid, 'collation', n.nspname, o.collname, NULL
  FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_parser'::pg_catalog.regclass, o.oid, 'ts-parser', n.nspname, o.prsname, NULL
  FROM pg_catalog.pg_ts_parser o JOIN pg_catalog.pg_namespace n ON n.oid = o.prsnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_template'::pg_catalog.regclass, o.oid, 'ts-template', n.nspname, o.tmplname, NULL
  FROM pg_catalog.pg_ts_template o JOIN pg_catalog.pg_namespace n ON n.oid = o.tmplnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, o.oid, 'ts-dictionary', n.nspname, o.dictname, NULL
  FROM pg_catalog.pg_ts_dict o JOIN pg_catalog.pg_namespace n ON n.oid = o.dictnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, o.oid, 'ts-configuration', n.nspname, o.cfgname, NULL
  FROM pg_catalog.pg_ts_config o JOIN pg_catalog.pg_namespace n ON n.oid = o.cfgnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_cast'::pg_catalog.regclass, o.oid, 'cast', pg_catalog.format_type(o.castsource, NULL), pg_catalog.format_type(o.casttarget, NULL), NULL
  FROM pg_catalog.pg_cast o WHERE o.oid >= 16384
  UNION ALL
  SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid, 'operator', n.nspname, o.oprname, ${OPERATOR_ARGS('o')}
  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname <> 'pg_catalog'
  UNION ALL
  SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, o.oid, 'operator-family', n.nspname, o.opfname, am.amname::text
  FROM pg_catalog.pg_opfamily o JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace JOIN pg_catalog.pg_am am ON am.oid = o.opfmethod
  WHERE n.nspname <> 'pg_catalog'
  UNION ALL
  SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, o.oid, 'operator-class', n.nspname, o.opcname, am.amname::text
  FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace JOIN pg_catalog.pg_am am ON am.oid = o.opcmethod
  WHERE n.nspname <> 'pg_catalog'
  UNION ALL
  ${memberOwner('pg_amop', 'ao', 'amopfamily')} WHERE fam.opfnamespace <> 'pg_catalog'::pg_catalog.regnamespace
  UNION ALL
  ${memberOwner('pg_amproc', 'ap', 'amprocfamily')} WHERE fam.opfnamespace <> 'pg_catalog'::pg_catalog.regnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, o.oid, 'conversion', n.nspname, o.conname, NULL
  FROM pg_catalog.pg_conversion o JOIN pg_catalog.pg_namespace n ON n.oid = o.connamespace WHERE n.nspname <> 'pg_catalog'`;
