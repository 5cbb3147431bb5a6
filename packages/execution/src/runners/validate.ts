import { splitForPlatform, type ImportMode, type PlatformTarget } from '@mbsync/dump';
import { checkTarget, diffSchemas, introspect, judgeImport, narrowModel, renderReport, type CheckOptions, type SchemaModel, type Verdict } from '@mbsync/schema-diff';
import type postgres from 'postgres';
import { JobsError } from '@mbsync/jobs';

export interface SchemaCheckOptions {
  mode: ImportMode;
  /** the operator accepted that replace drops tables or columns holding rows (`--yes`, API `confirm`) */
  acceptDataLoss: boolean;
  /** receives the readable report (for a CLI to print, a job to store) */
  onReport?: (report: string, verdict: Verdict) => void;
  /** what the import copies that names roles, and whether it creates the missing ones */
  roles?: CheckOptions['roles'];
  /** the target's platform (a local Supabase stack): its schemas are not replaced, its data tables must fit the rows */
  platform?: PlatformTarget | null;
}

/**
 * The schema check every import runs inside its transaction, after the target lock and before any write:
 * data-only is refused when the target cannot hold the data; replace needs confirmation when the target
 * would lose tables or columns that hold rows, or objects outside the replaced schemas that depend on them
 * and cannot be recreated.
 */
export async function checkTargetSchema(tx: postgres.TransactionSql, dumpSchema: SchemaModel, options: SchemaCheckOptions): Promise<Verdict> {
  const split = options.platform ? splitForPlatform(dumpSchema, options.platform) : null;
  const { changes, verdict } = await checkTarget(tx, split ? split.model : dumpSchema, options.roles ? { roles: options.roles } : {});
  if (split) {
    // the platform's tables keep the platform's structure: they must be able to take the source's rows as they are
    for (const reason of await platformMisfits(tx, dumpSchema, split.dataTables)) {
      verdict.replace.allowed = false;
      verdict.replace.reasons.push(reason);
    }
  }
  const report = renderReport(changes, verdict);
  options.onReport?.(report, verdict);
  const modeVerdict = verdict[options.mode];
  if (!modeVerdict.allowed) {
    throw new JobsError('JOBS_SCHEMA_INCOMPATIBLE', `the target cannot take a ${options.mode} import: ${modeVerdict.reasons.slice(0, 3).join('; ')}${modeVerdict.reasons.length > 3 ? '; …' : ''}`, { details: { report, reasons: modeVerdict.reasons } });
  }
  if (modeVerdict.needsConfirmation && !options.acceptDataLoss) {
    throw new JobsError('JOBS_CONFIRMATION_REQUIRED', `replacing would drop data in the target: ${modeVerdict.reasons.slice(0, 3).join('; ')}${modeVerdict.reasons.length > 3 ? '; …' : ''} (confirm with --yes)`, { details: { report, reasons: modeVerdict.reasons } });
  }
  return verdict;
}

/**
 * Why the target platform's tables cannot take the source's rows (a column only the source has, a narrower type, a
 * NOT NULL column the rows cannot fill…): the data-only verdict of those tables against the target's.
 */
async function platformMisfits(tx: postgres.TransactionSql, dump: SchemaModel, tables: { schema: string; name: string }[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const wanted = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  const source = narrowModel(dump, (s) => schemas.includes(s));
  source.tables = source.tables.filter((t) => wanted.has(`${t.schema}.${t.name}`));
  const target = await introspect(tx, { schemas, databaseWide: false });
  target.tables = target.tables.filter((t) => wanted.has(`${t.schema}.${t.name}`));
  const changes = diffSchemas(source, target).filter((c) => c.table !== undefined && wanted.has(c.table));
  return judgeImport(changes)['data-only'].reasons.map((r) => `the platform's ${r} (the target's platform is older or newer than the source's: bring them to the same version)`);
}
