import type postgres from 'postgres';
import { diffSchemas, introspect, type SchemaModel } from '@mbsync/schema-diff';
import { qualify } from './ddl.js';
import { DumpError } from './errors.js';

export interface RowCountCheck {
  tables: number;
  rows: number;
}

/**
 * Counts the rows of every table in the target and compares them with what the dump said it held.
 * Runs after COMMIT, so a mismatch means something outside the import changed the target (or a bug).
 */
export async function verifyRowCounts(sql: postgres.Sql, expected: { schema: string; name: string; rows: number; via?: string }[], targetName: string): Promise<RowCountCheck> {
  // rows loaded through a partition root land in whichever leaf the target's hash picks: counted per tree
  const groups = new Map<string, { from: string; rows: number }>();
  for (const t of expected) {
    const key = t.via ?? `${t.schema}.${t.name}`;
    const [schema, ...rest] = key.split('.');
    const from = t.via ? qualify(schema!, rest.join('.')) : `ONLY ${qualify(t.schema, t.name)}`;
    const group = groups.get(key) ?? { from, rows: 0 };
    group.rows += t.rows;
    groups.set(key, group);
  }
  const entries = [...groups];
  const mismatches: string[] = [];
  let rows = 0;
  for (let i = 0; i < entries.length; i += 200) {
    const batch = entries.slice(i, i + 200);
    const query = batch.map(([, g], j) => `SELECT ${j} AS i, count(*)::bigint::text AS n FROM ${g.from}`).join(' UNION ALL ');
    const counted = await sql.unsafe<{ i: number; n: string }[]>(query);
    for (const row of counted) {
      const [key, g] = batch[row.i]!;
      const actual = Number(row.n);
      rows += actual;
      if (actual !== g.rows) mismatches.push(`${key}: expected ${g.rows}, found ${actual}`);
    }
  }
  if (mismatches.length > 0) {
    throw new DumpError('DUMP_VERIFY_FAILED', `row counts in "${targetName}" differ from the dump: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? '; …' : ''}`, { details: { mismatches } });
  }
  return { tables: expected.length, rows };
}

/** What the catalog check compares besides the objects themselves. */
export interface ModelCheckOptions {
  /** owners were copied: compare them */
  owners?: boolean;
  /** privileges were copied: compare them */
  privileges?: boolean;
}

const OF_NO_SCHEMA: ReadonlySet<string> = new Set(['default privileges', 'publication', 'event trigger']);

/** Object kinds whose text is the server's deparser output, which changes between major versions. */
const DEPARSED: ReadonlySet<string> = new Set(['view', 'materialized view', 'function', 'procedure', 'aggregate', 'trigger', 'rule', 'policy', 'index', 'constraint', 'domain', 'statistics']);

/**
 * The model as renderSchema creates it: a foreign table is skipped whole (only a backup, which runs without the
 * census, holds one), and a sequence it owned stays unowned.
 */
function emittedModel(model: SchemaModel): SchemaModel {
  const foreign = new Set(model.tables.filter((t) => t.kind === 'foreign').map((t) => `${t.schema}.${t.name}`));
  if (foreign.size === 0) return model;
  return {
    ...model,
    tables: model.tables.filter((t) => t.kind !== 'foreign'),
    sequences: model.sequences.map(({ ownedBy, ...s }) => (ownedBy && !foreign.has(`${ownedBy.schema}.${ownedBy.table}`) ? { ...s, ownedBy } : s)),
  };
}

/**
 * Reads the target's catalog of the replaced schemas inside the importing transaction and compares it with the
 * dump's model: every table, column, constraint, index, trigger, rule, policy, type, routine, sequence and view (and
 * owners and privileges where they were copied) must be there and equal. Any difference throws
 * DUMP_VERIFY_FAILED naming the objects, so the caller rolls back instead of committing a wrong copy.
 *
 * Tolerated: an extension's version (the target installs the version its server has), and, between different major
 * versions, the deparsed text of definitions (their presence is still checked).
 */
export async function verifySchemaModel(tx: postgres.TransactionSql, model: SchemaModel, schemas: string[], targetName: string, options: ModelCheckOptions = {}): Promise<void> {
  const target = await introspect(tx, { schemas, databaseWide: true });
  const sameMajor = Math.floor(target.serverVersionNum / 10000) === Math.floor(model.serverVersionNum / 10000);
  const changes = diffSchemas(emittedModel(model), target, { owners: options.owners === true, privileges: options.privileges === true })
    .filter((c) => !(c.objectType === 'extension' && c.kind === 'changed' && /^version /.test(c.detail ?? '') && !(c.detail ?? '').includes('; ')))
    .filter((c) => sameMajor || c.kind !== 'changed' || !DEPARSED.has(c.objectType))
    // the target may have objects of no schema the dump does not: they are its own, left alone
    .filter((c) => !(c.kind === 'added' && OF_NO_SCHEMA.has(c.objectType)));
  if (changes.length === 0) return;
  const named = changes.map((c) => `${c.objectType} ${c.name} ${c.kind === 'removed' ? 'missing' : c.kind === 'added' ? 'not in the dump' : `differs (${c.detail ?? ''})`}`);
  throw new DumpError('DUMP_VERIFY_FAILED', `the copy in "${targetName}" does not match the dump, nothing was committed: ${named.slice(0, 5).join('; ')}${named.length > 5 ? `; … (${named.length} in all)` : ''}`, { details: { differences: named } });
}
