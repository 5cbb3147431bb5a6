import { basename, dirname, resolve } from 'node:path';
import { describePgError, exportDatabase, type DumpSelection, type ExportResult, type ProgressCallback } from '@mbsync/dump';
import type { CoreConfig, Environment } from '@mbsync/jobs';
import { openDatabase, poolsLike, type DatabaseScope } from '../database.js';
import { assertDiskSpace, estimateDumpSize } from '../disk-space.js';
import { pruneDumps } from '../dump-retention.js';

export interface ExportJobInput extends DumpSelection {
  source: Environment;
  out: string;
  /** how long to wait for the shared locks on the source's tables (default 30 s; DUMP_LOCK_TIMEOUT past it) */
  lockTimeoutMs?: number | undefined;
  /**
   * Disk reserve and dump retention. Without it the disk check keeps no reserve and nothing is pruned; with it,
   * a dump written into `dumpDirectory` prunes that directory by DUMP_KEEP_COUNT / DUMP_KEEP_DAYS afterwards.
   */
  config?: Pick<CoreConfig, 'dumpDirectory' | 'dumpKeepCount' | 'dumpKeepDays' | 'diskReserveBytes'> & Partial<Pick<CoreConfig, 'syncJobs'>>;
  /** connections reading table data at once (default: config.syncJobs, else 1) */
  jobs?: number | undefined;
  signal?: AbortSignal;
  /** the stall watchdog's scope (WatchedRun.scope): the runner's connections are opened in it */
  scope?: DatabaseScope | undefined;
  onProgress?: ProgressCallback;
}

/**
 * Exports an environment's database to a file, owning the connection for the duration. Refuses with
 * JOBS_INSUFFICIENT_DISK_SPACE before writing anything when the estimated dump does not fit on the disk.
 */
export async function runExport(input: ExportJobInput): Promise<ExportResult> {
  const sql = openDatabase(input.source, { role: 'source', applicationName: 'mbsync export', scope: input.scope });
  try {
    // a source that cannot be reached fails here with the exporter's own codes (DUMP_CONNECTION_FAILED…)
    const estimate = await estimateDumpSize(sql, input, input.out.endsWith('.gz')).catch((error: unknown) => {
      throw describePgError(error, 'source', input.source.name);
    });
    await assertDiskSpace(dirname(input.out), estimate.dumpBytes, input.config?.diskReserveBytes ?? 0, `the export of ${input.source.name}`);
    // like pg_dump, owners and privileges unless told not to (--no-owner, --no-privileges)
    const result = await exportDatabase({
      ...input, owners: input.owners ?? true, privileges: input.privileges ?? true, sql, sourceName: input.source.name, jobs: input.jobs ?? input.config?.syncJobs ?? 1,
      openSource: poolsLike(input.source, 'source', input.scope),
    });
    const config = input.config;
    if (config && resolve(dirname(result.file)) === resolve(config.dumpDirectory)) {
      await pruneDumps(config.dumpDirectory, { keepCount: config.dumpKeepCount, keepDays: config.dumpKeepDays }, basename(result.file));
    }
    return result;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
