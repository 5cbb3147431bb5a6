import { parseArgs } from 'node:util';
import { runImport } from '@mbsync/execution';
import { commandConfig, resolveDatabase, UsageError, writeNotes, type CliContext } from '../cli-context.js';
import { createProgressOutput } from '../progress-bar.js';
import { WRITE_OPTIONS, writeSettings } from '../write-options.js';

export const importHelp = `Usage: pnpm mbsync import --to <environment|postgres-url> --in <file> [options]

Imports a dump (ours, or pg_dump's plain output) in ONE transaction: the target changes completely or not
at all. Our dumps are checked against their manifest (size, sha256) before the target is touched, and the
target's affected schemas are backed up to BACKUP_DIRECTORY first. When the target has Typesense, its
collections are rebuilt afterwards. A missing target database on this machine is created first.

Options:
  --to <name|url>        target environment or postgres:// URL
  --in <file>            dump file (.sql or .sql.gz)
  --mode <mode>          replace (default: the dumped schemas are dropped and recreated) or data-only
                         (tables truncated and reloaded, sequences set; the schema stays)
  --confirm <name>       the target's name again: needed for protected (production, staging, Supabase) and
                         non-local targets; protected ones also need ALLOW_PROTECTED_TARGETS=true
  --no-backup            skip the backup of the target
  --yes                  accept a replace that drops tables or columns holding rows, or objects outside the
                         replaced schemas that depend on them and cannot be recreated
  --create-roles         create the roles the dump needs that the target lacks (NOLOGIN, no password, no
                         membership); refused for protected targets
  --skip-reindex         do not rebuild the target's Typesense collections afterwards (done when
                         <TARGET>_TYPESENSE_URL is set)
  --json                 progress and result as JSON lines on stdout
  -h, --help             show this help`;

export async function importCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...WRITE_OPTIONS,
      to: { type: 'string' },
      in: { type: 'string' },
      'skip-reindex': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.to) throw new UsageError('import needs --to <environment|postgres-url>');
  if (!values.in) throw new UsageError('import needs --in <file>');
  const settings = writeSettings(values);
  const config = commandConfig(context);
  const target = resolveDatabase(context, values.to);
  const output = createProgressOutput(values.json, context.onActivity);
  try {
    const result = await runImport({
      target,
      file: values.in,
      ...settings,
      skipReindex: values['skip-reindex'],
      config,
      signal: context.signal,
      scope: context.scope,
      onProgress: (p) => output.update(p.phase, p),
    });
    output.done('import', {
      target: target.name,
      tables: result.import.tables.length,
      rows: result.import.rows,
      seconds: Math.round(result.import.durationMs / 100) / 10,
      backup: result.backup?.id ?? 'none',
      verified: result.verify ? `${result.verify.tables} tables` : 'no manifest',
      ...writeNotes(result, target.name),
    });
  } finally {
    output.clear();
  }
}
