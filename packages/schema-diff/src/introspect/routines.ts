import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Routine, RoutineKind } from '../model.js';
import { byName, optional } from './rows.js';

interface RoutineRow {
  schema: string; name: string; prokind: 'f' | 'p' | 'a' | 'w'; identity_arguments: string; arguments: string;
  result: string | null; language: string; body: string | null; definition: string | null; owner: string;
  acl: string[] | null; comment: string | null;
  agg: { sfunc: string; stype: string; sspace: number; finalfunc: string | null; finalextra: boolean; finalmodify: string;
    combinefunc: string | null; serialfunc: string | null; deserialfunc: string | null; initcond: string | null;
    kind: string; parallel: string } | null;
}

const KINDS: Record<RoutineRow['prokind'], RoutineKind> = { f: 'function', p: 'procedure', a: 'aggregate', w: 'window' };

/** Functions, procedures and aggregates of the selected schemas; extension members and implicit ones excluded. */
export async function readRoutines(tx: postgres.TransactionSql, schemas: string[]): Promise<Routine[]> {
  const rows = await tx.unsafe<RoutineRow[]>(`
    SELECT n.nspname AS schema, p.proname AS name, p.prokind,
      pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_arguments,
      pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
      pg_catalog.pg_get_function_result(p.oid) AS result, l.lanname AS language, p.prosrc AS body,
      CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS definition,
      pg_catalog.pg_get_userbyid(p.proowner) AS owner, p.proacl::text[] AS acl, d.description AS comment,
      CASE WHEN p.prokind = 'a' THEN json_build_object(
        'sfunc', a.aggtransfn::pg_catalog.regproc::text, 'stype', pg_catalog.format_type(a.aggtranstype, NULL),
        'sspace', a.aggtransspace,
        'finalfunc', CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::pg_catalog.regproc::text END,
        'finalextra', a.aggfinalextra, 'finalmodify', a.aggfinalmodify,
        'combinefunc', CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::pg_catalog.regproc::text END,
        'serialfunc', CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::pg_catalog.regproc::text END,
        'deserialfunc', CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::pg_catalog.regproc::text END,
        'initcond', a.agginitval, 'kind', a.aggkind, 'parallel', p.proparallel) END AS agg
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
    LEFT JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
    LEFT JOIN pg_catalog.pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objsubid = 0
    WHERE n.nspname = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
        -- 'i': implicitly created with another object (range and multirange constructors)
        WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype IN ('e', 'i'))`, [schemas]);

  return rows.map((r): Routine => ({
    schema: r.schema,
    name: r.name,
    kind: KINDS[r.prokind],
    identityArguments: r.identity_arguments,
    arguments: r.arguments,
    result: r.result,
    language: r.language,
    bodyHash: createHash('sha256').update(r.body ?? '').digest('hex'),
    definition: r.agg ? aggregateDefinition(r) : (r.definition ?? '').trimEnd(),
    owner: r.owner,
    acl: r.acl,
    ...optional('comment', r.comment),
  })).sort(byName);
}

const FINAL_MODIFY: Record<string, string> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };
const PARALLEL: Record<string, string> = { s: 'SAFE', r: 'RESTRICTED' };

// pg_get_functiondef refuses aggregates, so CREATE AGGREGATE is built from pg_aggregate (moving-aggregate
// and SORTOP options are not carried; see the package notes).
function aggregateDefinition(r: RoutineRow): string {
  const a = r.agg!;
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const parts = [`SFUNC = ${a.sfunc}`, `STYPE = ${a.stype}`];
  if (a.sspace > 0) parts.push(`SSPACE = ${a.sspace}`);
  if (a.finalfunc) {
    parts.push(`FINALFUNC = ${a.finalfunc}`);
    if (a.finalextra) parts.push('FINALFUNC_EXTRA');
    parts.push(`FINALFUNC_MODIFY = ${FINAL_MODIFY[a.finalmodify] ?? 'READ_ONLY'}`);
  }
  if (a.combinefunc) parts.push(`COMBINEFUNC = ${a.combinefunc}`);
  if (a.serialfunc) parts.push(`SERIALFUNC = ${a.serialfunc}`);
  if (a.deserialfunc) parts.push(`DESERIALFUNC = ${a.deserialfunc}`);
  if (a.initcond !== null) parts.push(`INITCOND = ${quote(a.initcond)}`);
  if (a.kind === 'h') parts.push('HYPOTHETICAL');
  const parallel = PARALLEL[a.parallel];
  if (parallel) parts.push(`PARALLEL = ${parallel}`);
  const name = `${quoted(r.schema)}.${quoted(r.name)}`;
  return `CREATE AGGREGATE ${name}(${r.arguments || '*'}) (\n    ${parts.join(',\n    ')}\n)`;
}

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
