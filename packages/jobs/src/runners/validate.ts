import type { ImportMode } from '@mbsync/dump';
import { checkTarget, renderReport, type CheckOptions, type SchemaModel, type Verdict } from '@mbsync/schema-diff';
import type postgres from 'postgres';
import { JobsError } from '../errors.js';

export interface SchemaCheckOptions {
  mode: ImportMode;
  /** the operator accepted that replace drops tables or columns holding rows (`--yes`, API `confirm`) */
  acceptDataLoss: boolean;
  /** receives the readable report (for a CLI to print, a job to store) */
  onReport?: (report: string, verdict: Verdict) => void;
  /** what the import copies that names roles, and whether it creates the missing ones */
  roles?: CheckOptions['roles'];
}

/**
 * The schema check every import runs inside its transaction, after the target lock and before any write:
 * data-only is refused when the target cannot hold the data; replace needs confirmation when the target
 * would lose tables or columns that hold rows, or objects outside the replaced schemas that depend on them
 * and cannot be recreated.
 */
export async function checkTargetSchema(tx: postgres.TransactionSql, dumpSchema: SchemaModel, options: SchemaCheckOptions): Promise<Verdict> {
  const { changes, verdict } = await checkTarget(tx, dumpSchema, options.roles ? { roles: options.roles } : {});
  const report = renderReport(changes, verdict);
  options.onReport?.(report, verdict);
  const modeVerdict = verdict[options.mode];
  if (!modeVerdict.allowed) {
    throw new JobsError('JOBS_SCHEMA_INCOMPATIBLE', `the target cannot take a ${options.mode} import: ${modeVerdict.reasons.slice(0, 3).join('; ')}${modeVerdict.reasons.length > 3 ? '; …' : ''}`, { report, reasons: modeVerdict.reasons });
  }
  if (modeVerdict.needsConfirmation && !options.acceptDataLoss) {
    throw new JobsError('JOBS_CONFIRMATION_REQUIRED', `replacing would drop data in the target: ${modeVerdict.reasons.slice(0, 3).join('; ')}${modeVerdict.reasons.length > 3 ? '; …' : ''} (confirm with --yes)`, { report, reasons: modeVerdict.reasons });
  }
  return verdict;
}
