import type postgres from 'postgres';
import type { Operator, OperatorClass, OperatorFamily, OperatorMember, SupportFunction } from '../catalog-objects.js';
import { fromSelected, qualifiedName } from './catalog-sql.js';
import { byName, compareText, optional } from './rows.js';

// `OPERATOR(schema.op)` needs the operator qualified even in pg_catalog, and an operator's symbol is never quoted
const OPERATOR_NAME = (oid: string) => `(SELECT pg_catalog.quote_ident(xn.nspname) || '.' || x.oprname FROM pg_catalog.pg_operator x
  JOIN pg_catalog.pg_namespace xn ON xn.oid = x.oprnamespace WHERE x.oid = ${oid})`;

/**
 * The members tied to an owner (operator class or family) by their pg_depend entry, as pg_dump reads them: members
 * of a class depend on it; loose members of a family (ALTER OPERATOR FAMILY … ADD) depend on the family. Ordered by
 * number and text, never by OID (which differs between databases).
 */
function members(ownerCatalog: string): string {
  const owned = (catalog: string, alias: string) => `JOIN pg_catalog.pg_depend od ON od.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass
    AND od.objid = ${alias}.oid AND od.refclassid = 'pg_catalog.${ownerCatalog}'::pg_catalog.regclass AND od.refobjid = o.oid AND od.deptype IN ('a', 'i')`;
  return `COALESCE((SELECT json_agg(json_build_object('strategy', m.strategy, 'operator', m.operator, 'orderBy', m.order_by)
        ORDER BY m.strategy, m.operator COLLATE "C")
      FROM (SELECT ao.amopstrategy AS strategy, ao.amopopr::pg_catalog.regoperator::text AS operator,
          CASE WHEN ao.amoppurpose = 'o' THEN ${qualifiedName('sn.nspname', 'sf.opfname')} END AS order_by
        FROM pg_catalog.pg_amop ao ${owned('pg_amop', 'ao')}
        LEFT JOIN pg_catalog.pg_opfamily sf ON sf.oid = ao.amopsortfamily
        LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace) m), '[]') AS operators,
    COALESCE((SELECT json_agg(json_build_object('number', m.number, 'leftType', m.left_type, 'rightType', m.right_type, 'function', m.function)
        ORDER BY m.number, m.left_type COLLATE "C", m.right_type COLLATE "C")
      FROM (SELECT ap.amprocnum AS number, pg_catalog.format_type(ap.amproclefttype, NULL) AS left_type,
          pg_catalog.format_type(ap.amprocrighttype, NULL) AS right_type, ap.amproc::pg_catalog.regprocedure::text AS function
        FROM pg_catalog.pg_amproc ap ${owned('pg_amproc', 'ap')}) m), '[]') AS functions`;
}

function toMembers(operators: { strategy: number; operator: string; orderBy: string | null }[], functions: SupportFunction[]): { operators: OperatorMember[]; functions: SupportFunction[] } {
  return {
    operators: operators.map((m) => ({ strategy: m.strategy, operator: m.operator, ...optional('orderBy', m.orderBy) })),
    functions: functions.map((f) => ({ number: f.number, leftType: f.leftType, rightType: f.rightType, function: f.function })),
  };
}

const byMethod = (a: { schema: string; name: string; method: string }, b: { schema: string; name: string; method: string }) =>
  byName(a, b) || compareText(a.method, b.method);

type MemberRows = { operators: { strategy: number; operator: string; orderBy: string | null }[]; functions: SupportFunction[] };

/** Operators (shells left out), operator families with their loose members, and operator classes of the selected schemas. */
export async function readOperators(tx: postgres.TransactionSql, schemas: string[]): Promise<{
  operators: Operator[]; operatorFamilies: OperatorFamily[]; operatorClasses: OperatorClass[];
}> {
  // a shell operator (oprcode 0: only named as another's commutator or negator) comes back with the operator naming it
  const operatorsQuery = tx.unsafe<{ schema: string; name: string; owner: string; left: string | null; right: string; function: string;
    commutator: string | null; negator: string | null; restrict: string | null; join: string | null; merges: boolean; hashes: boolean; comment: string | null }[]>(`
    SELECT n.nspname AS schema, o.oprname AS name, pg_catalog.pg_get_userbyid(o.oprowner) AS owner,
      CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END AS left, pg_catalog.format_type(o.oprright, NULL) AS right,
      o.oprcode::pg_catalog.regproc::text AS function,
      CASE WHEN o.oprcom <> 0 THEN ${OPERATOR_NAME('o.oprcom')} END AS commutator,
      CASE WHEN o.oprnegate <> 0 THEN ${OPERATOR_NAME('o.oprnegate')} END AS negator,
      CASE WHEN o.oprrest <> 0 THEN o.oprrest::pg_catalog.regproc::text END AS restrict,
      CASE WHEN o.oprjoin <> 0 THEN o.oprjoin::pg_catalog.regproc::text END AS join,
      o.oprcanmerge AS merges, o.oprcanhash AS hashes, d.description AS comment
    ${fromSelected('pg_operator', 'oprnamespace')} AND o.oprcode <> 0 AND o.oprkind IN ('b', 'l')`, [schemas]);

  const familiesQuery = tx.unsafe<({ schema: string; name: string; method: string; owner: string; comment: string | null } & MemberRows)[]>(`
    SELECT n.nspname AS schema, o.opfname AS name, am.amname AS method, pg_catalog.pg_get_userbyid(o.opfowner) AS owner,
      ${members('pg_opfamily')}, d.description AS comment
    ${fromSelected('pg_opfamily', 'opfnamespace', 'JOIN pg_catalog.pg_am am ON am.oid = o.opfmethod')}`, [schemas]);

  const classesQuery = tx.unsafe<({ schema: string; name: string; method: string; owner: string; type: string; default: boolean; family: string;
    storage: string | null; comment: string | null } & MemberRows)[]>(`
    SELECT n.nspname AS schema, o.opcname AS name, am.amname AS method, pg_catalog.pg_get_userbyid(o.opcowner) AS owner,
      pg_catalog.format_type(o.opcintype, NULL) AS type, o.opcdefault AS default,
      (SELECT ${qualifiedName('fn.nspname', 'f.opfname')} FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
        WHERE f.oid = o.opcfamily) AS family,
      CASE WHEN o.opckeytype <> 0 THEN pg_catalog.format_type(o.opckeytype, NULL) END AS storage,
      ${members('pg_opclass')}, d.description AS comment
    ${fromSelected('pg_opclass', 'opcnamespace', 'JOIN pg_catalog.pg_am am ON am.oid = o.opcmethod')}`, [schemas]);
  // issued together: postgres.js pipelines them on the connection (one round trip for the lot, not one each)
  const [operators, families, classes] = await Promise.all([operatorsQuery, familiesQuery, classesQuery]);

  return {
    operators: operators.map((r): Operator => ({
      schema: r.schema, name: r.name, owner: r.owner, left: r.left, right: r.right, function: r.function,
      ...optional('commutator', r.commutator), ...optional('negator', r.negator), ...optional('restrict', r.restrict), ...optional('join', r.join),
      merges: r.merges, hashes: r.hashes, ...optional('comment', r.comment),
    })).sort((a, b) => byName(a, b) || compareText(a.left ?? '', b.left ?? '') || compareText(a.right, b.right)),
    operatorFamilies: families.map((r): OperatorFamily => ({
      schema: r.schema, name: r.name, method: r.method, owner: r.owner, ...toMembers(r.operators, r.functions), ...optional('comment', r.comment),
    })).sort(byMethod),
    operatorClasses: classes.map((r): OperatorClass => ({
      schema: r.schema, name: r.name, method: r.method, owner: r.owner, type: r.type, default: r.default, family: r.family,
      ...optional('storage', r.storage), ...toMembers(r.operators, r.functions), ...optional('comment', r.comment),
    })).sort(byMethod),
  };
}
