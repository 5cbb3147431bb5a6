import { exportDatabase, type DumpSelection, type ExportResult, type ProgressCallback } from '@mbsync/dump';
import { openDatabase } from '../database.js';
import type { Environment } from '../environments.js';

export interface ExportJobInput extends DumpSelection {
  source: Environment;
  out: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** Exports an environment's database to a file, owning the connection for the duration. */
export async function runExport(input: ExportJobInput): Promise<ExportResult> {
  const sql = openDatabase(input.source, { applicationName: 'mbsync export' });
  try {
    return await exportDatabase({ ...input, sql, sourceName: input.source.name });
  } finally {
    await sql.end({ timeout: 1 });
  }
}
