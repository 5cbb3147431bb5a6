import type postgres from 'postgres';
import type { CompositeType, DomainType, EnumType, RangeType } from '../model.js';
import { byName, optional } from './rows.js';

// Types that belong to an extension are recreated by CREATE EXTENSION, never dumped ('e' = DEPENDENCY_EXTENSION).
const NOT_EXTENSION_MEMBER = (alias: string) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
  WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND e.objid = ${alias}.oid AND e.deptype = 'e')`;

interface TypeRow { schema: string; name: string; owner: string; acl: string[] | null; comment: string | null }

/** Enums, domains, composite and range types of the selected schemas. */
export async function readTypes(tx: postgres.TransactionSql, schemas: string[]): Promise<{
  enums: EnumType[]; domains: DomainType[]; compositeTypes: CompositeType[]; rangeTypes: RangeType[];
}> {
  const base = `SELECT n.nspname AS schema, t.typname AS name, pg_catalog.pg_get_userbyid(t.typowner) AS owner,
      t.typacl::text[] AS acl, d.description AS comment, t.oid
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objsubid = 0
    WHERE n.nspname = ANY($1::text[]) AND ${NOT_EXTENSION_MEMBER('t')}`;

  const enumRowsQuery = tx.unsafe<(TypeRow & { labels: string[] })[]>(`
    SELECT b.*, ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = b.oid ORDER BY e.enumsortorder) AS labels
    FROM (${base} AND t.typtype = 'e') b`, [schemas]);

  const domainRowsQuery = tx.unsafe<(TypeRow & { base_type: string; not_null: boolean; default: string | null; collation: string | null;
    constraints: { name: string; definition: string; validated: boolean; comment: string | null }[] })[]>(`
    SELECT b.*, pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type, t.typnotnull AS not_null,
      pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default,
      CASE WHEN t.typcollation <> bt.typcollation THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation,
      COALESCE((SELECT json_agg(json_build_object('name', c.conname, 'definition', pg_catalog.pg_get_constraintdef(c.oid),
          'validated', c.convalidated, 'comment', cd.description) ORDER BY c.conname)
        FROM pg_catalog.pg_constraint c
        LEFT JOIN pg_catalog.pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
        WHERE c.contypid = t.oid), '[]') AS constraints
    FROM (${base} AND t.typtype = 'd') b
    JOIN pg_catalog.pg_type t ON t.oid = b.oid
    JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
    LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace`, [schemas]);

  const compositeRowsQuery = tx.unsafe<(TypeRow & { attributes: { name: string; position: number; type: string; collation: string | null; comment: string | null }[] })[]>(`
    SELECT b.*, COALESCE((SELECT json_agg(json_build_object('name', a.attname, 'position', a.attnum,
          'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
          'collation', CASE WHEN a.attcollation <> at.typcollation THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,
          'comment', ad.description) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
        LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
        LEFT JOIN pg_catalog.pg_description ad ON ad.objoid = a.attrelid AND ad.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ad.objsubid = a.attnum
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS attributes
    FROM (${base} AND t.typtype = 'c') b
    JOIN pg_catalog.pg_type t ON t.oid = b.oid
    JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'`, [schemas]);

  const rangeRowsQuery = tx.unsafe<(TypeRow & { subtype: string; subtype_opclass: string | null; collation: string | null;
    canonical: string | null; subtype_diff: string | null; multirange_name: string })[]>(`
    SELECT b.*, pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
      CASE WHEN NOT opc.opcdefault THEN pg_catalog.quote_ident(opn.nspname) || '.' || pg_catalog.quote_ident(opc.opcname) END AS subtype_opclass,
      CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation,
      CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS canonical,
      CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS subtype_diff,
      pg_catalog.format_type(r.rngmultitypid, NULL) AS multirange_name
    FROM (${base} AND t.typtype = 'r') b
    JOIN pg_catalog.pg_range r ON r.rngtypid = b.oid
    JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
    JOIN pg_catalog.pg_opclass opc ON opc.oid = r.rngsubopc
    JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation
    LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace`, [schemas]);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [enumRows, domainRows, compositeRows, rangeRows] = await Promise.all([enumRowsQuery, domainRowsQuery, compositeRowsQuery, rangeRowsQuery]);

  const common = (r: TypeRow) => ({ schema: r.schema, name: r.name, owner: r.owner, acl: r.acl, ...optional('comment', r.comment) });
  return {
    enums: enumRows.map((r) => ({ ...common(r), labels: r.labels })).sort(byName),
    domains: domainRows.map((r) => ({
      ...common(r), baseType: r.base_type, notNull: r.not_null, ...optional('default', r.default), ...optional('collation', r.collation),
      constraints: r.constraints.map((c) => ({ name: c.name, definition: c.definition, validated: c.validated, ...optional('comment', c.comment) })),
    })).sort(byName),
    compositeTypes: compositeRows.map((r) => ({
      ...common(r),
      attributes: r.attributes.map((a) => ({ name: a.name, position: a.position, type: a.type, ...optional('collation', a.collation), ...optional('comment', a.comment) })),
    })).sort(byName),
    rangeTypes: rangeRows.map((r) => ({
      ...common(r), subtype: r.subtype, ...optional('subtypeOpclass', r.subtype_opclass), ...optional('collation', r.collation),
      ...optional('canonical', r.canonical), ...optional('subtypeDiff', r.subtype_diff), multirangeName: r.multirange_name,
    })).sort(byName),
  };
}
