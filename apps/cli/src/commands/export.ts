import { parseArgs } from 'node:util';
import { runExport } from '@mbsync/execution';
import { commandConfig, parseJobs, resolveDatabase, UsageError, type CliContext } from '../cli-context.js';
import { createProgressOutput } from '../progress-bar.js';
import { SELECTION_HELP, SELECTION_OPTIONS, selectionSettings } from '../selection-options.js';

export const exportHelp = `Usage: pnpm mbsync export --from <environment|postgres-url> --out <file.sql|file.sql.gz> [options]

Writes a plain-SQL dump of a database by streaming (one consistent snapshot), with a sidecar
<file>.manifest.json. The file appears only when complete, and never replaces an existing one (a
different --out, or remove the old dump first). Files are written mode 0600 (readable by you only).

Options:
  --from <name|url>           source environment (e.g. staging, from STAGING_DATABASE_URL) or a postgres:// URL
  --out <file>                output file; a name ending in .gz is gzipped on the fly
${SELECTION_HELP}
  --jobs <n>                  connections reading table data at once, in one snapshot (1-16; default
                              SYNC_JOBS, else 2). Above 1 a table's rows may come in several COPY blocks.
  --json                      print progress and the result as JSON lines on stdout
  -h, --help                  show this help`;

export async function exportCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      out: { type: 'string' },
      ...SELECTION_OPTIONS,
      json: { type: 'boolean', default: false },
      jobs: { type: 'string' },
    },
    strict: true,
  });
  if (!values.from) throw new UsageError('export needs --from <environment|postgres-url>');
  if (!values.out) throw new UsageError('export needs --out <file>');
  const jobs = parseJobs(values.jobs);
  const source = resolveDatabase(context, values.from);
  const output = createProgressOutput(values.json, context.onActivity);
  try {
    const result = await runExport({
      source,
      out: values.out,
      ...selectionSettings(values),
      jobs,
      // DISK_RESERVE_MB for the disk check; retention when --out is in DUMP_DIRECTORY
      config: commandConfig(context),
      signal: context.signal,
      scope: context.scope,
      onProgress: (p) => output.update('export', p),
    });
    output.done('export', {
      file: result.file,
      manifest: result.manifestFile,
      tables: result.manifest.tables.length,
      rows: result.manifest.rows,
      fileBytes: result.manifest.fileBytes,
      sha256: result.manifest.sha256,
    });
  } finally {
    output.clear();
  }
}
