import type postgres from 'postgres';
import { readDependents, type Dependent, type DependentsOptions, type SchemaModel } from '@mbsync/schema-diff';
import { quoteIdent, quoteLiteral } from '../ddl/quote.js';
import { DumpError } from '../errors.js';
import { renderDependent } from './dependents-ddl.js';
import { readSchemaStates, restoreSchemaState, type SchemaState } from './schema-state.js';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);
/** duplicate_table, duplicate_object, duplicate_function: the object exists already */
const DUPLICATE_OBJECT = new Set(['42P07', '42710', '42723']);

/** How a replace treats what the dump does not carry. */
export interface ReplaceOptions {
  /** the dump sets owners (ALTER … OWNER TO): otherwise a recreated schema keeps its previous owner */
  owners?: boolean;
  /** the dump sets privileges: otherwise a recreated schema keeps its privileges and default privileges */
  privileges?: boolean;
  /** the operator accepted that objects outside the replaced schemas which cannot be recreated are dropped */
  acceptDependentLoss?: boolean;
  /** the dump's model, when known: the schemas' comments are set from it */
  model?: SchemaModel | null;
}

/** The target's state a replace must carry over, read under the import lock before anything is dropped. */
export interface ReplacePlan {
  schemas: string[];
  states: SchemaState[];
  /** objects outside the replaced schemas that depend on them, with their definitions */
  dependents: Dependent[];
  options: ReplaceOptions;
}

/** What became of the dependents. */
export interface ReplaceReport {
  /** pg_describe_object text of each dependent recreated after the replace */
  recreated: string[];
  /** … and of each one lost (only with acceptDependentLoss), with why */
  lost: { object: string; reason: string }[];
}

/** Reads what the replace of `schemas` must keep or recreate (`walk`: see readDependents). */
export async function planReplace(tx: postgres.TransactionSql, schemas: string[], options: ReplaceOptions, walk: DependentsOptions = {}): Promise<ReplacePlan> {
  const replaced = schemas.filter((s) => !SYSTEM_SCHEMAS.has(s));
  return { schemas: replaced, states: await readSchemaStates(tx, replaced), dependents: await readDependents(tx, replaced, walk), options };
}

/**
 * Drops the replaced schemas with everything in them (DROP SCHEMA … CASCADE, which takes the dependents listed in
 * the plan too); `public` is recreated at once because dumps, like pg_dump's, assume it exists.
 */
export async function dropReplacedSchemas(tx: postgres.TransactionSql, plan: ReplacePlan): Promise<void> {
  for (const schema of plan.schemas) await tx.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  if (!plan.schemas.includes('public')) return;
  await tx.unsafe('CREATE SCHEMA public');
  // Without a model (pg_dump's files, which say themselves what they set), public gets its previous owner,
  // privileges and comment back at once, as before the drop: the file's own statements come after.
  const previous = plan.states.find((s) => s.name === 'public');
  if (plan.options.model || !previous) return;
  for (const statement of restoreSchemaState(previous, { owner: false, privileges: false })) await tx.unsafe(statement);
  if (previous.comment !== null) await tx.unsafe(`COMMENT ON SCHEMA public IS ${quoteLiteral(previous.comment)}`);
}

/**
 * After the dump's objects exist again: each replaced schema gets back what the dump does not carry, its comment
 * from the dump, and the dependents are recreated — in rounds, each in a savepoint, so one that needs another
 * comes after it. A dependent that cannot be recreated fails the import (nothing is committed) unless the
 * operator accepted the loss.
 */
export async function completeReplace(tx: postgres.TransactionSql, plan: ReplacePlan): Promise<ReplaceReport> {
  const { options } = plan;
  // (without a model, dropReplacedSchemas restored public before the dump ran)
  for (const state of options.model ? plan.states : []) {
    // the renderer states public's owner itself when the source's differs from the stock one
    const dumpSetsOwner = options.owners === true || (state.name === 'public' && (options.model?.schemas.find((s) => s.name === 'public')?.owner ?? 'pg_database_owner') !== 'pg_database_owner');
    for (const statement of restoreSchemaState(state, { owner: dumpSetsOwner, privileges: options.privileges === true })) await tx.unsafe(statement);
  }
  if (options.model) {
    for (const schema of plan.schemas) {
      const info = options.model.schemas.find((s) => s.name === schema);
      if (!info) continue;
      await tx.unsafe(`COMMENT ON SCHEMA ${quoteIdent(schema)} IS ${info.comment === null || info.comment === undefined ? 'NULL' : quoteLiteral(info.comment)}`);
    }
  }
  const report: ReplaceReport = { recreated: [], lost: [] };
  let pending = plan.dependents.map((dependent) => ({ dependent, statements: renderDependent(dependent), error: '' }));
  for (const p of pending.filter((x) => x.statements.length === 0)) {
    report.lost.push({ object: p.dependent.description, reason: p.dependent.holdsRows ? 'it holds rows' : 'it cannot be recreated' });
  }
  pending = pending.filter((p) => p.statements.length > 0);
  while (pending.length > 0) {
    const failed: typeof pending = [];
    for (const p of pending) {
      try {
        await tx.savepoint(async (sp) => {
          for (const statement of p.statements) await sp.unsafe(statement);
        });
        report.recreated.push(p.dependent.description);
      } catch (error) {
        // the dump itself created it (a backup restored, which carries the dependents of its time)
        if (DUPLICATE_OBJECT.has((error as { code?: string }).code ?? '')) {
          report.recreated.push(p.dependent.description);
          continue;
        }
        p.error = (error as Error).message;
        failed.push(p);
      }
    }
    if (failed.length === pending.length) {
      for (const p of failed) report.lost.push({ object: p.dependent.description, reason: p.error });
      break;
    }
    pending = failed;
  }
  if (report.lost.length > 0 && !options.acceptDependentLoss) {
    const list = report.lost.slice(0, 5).map((l) => `${l.object} (${l.reason})`).join('; ');
    throw new DumpError('DUMP_DEPENDENTS_LOST', `the replace would drop objects outside the replaced schemas: ${list}${report.lost.length > 5 ? '; …' : ''}; nothing was changed (accept the loss with --yes)`, { details: { lost: report.lost } });
  }
  return report;
}
