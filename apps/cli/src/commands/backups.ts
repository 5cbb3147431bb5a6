import { parseArgs } from 'node:util';
import { findBackup, listBackups } from '@mbsync/dump';
import { runImport } from '@mbsync/execution';
import { getEnvironment } from '@mbsync/jobs';
import { commandConfig, UsageError, writeNotes, type CliContext } from '../cli-context.js';
import { createProgressOutput } from '../progress-bar.js';

export const backupsHelp = `Usage: pnpm mbsync backups [--json]

Lists the backups in BACKUP_DIRECTORY, newest first: id, target, time, size, tables, rows.`;

export async function backupsCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, strict: true });
  const config = commandConfig(context);
  const backups = await listBackups(config.backupDirectory);
  if (values.json) {
    process.stdout.write(JSON.stringify({ backups }) + '\n');
    return;
  }
  if (backups.length === 0) {
    process.stdout.write(`no backups in ${config.backupDirectory}\n`);
    return;
  }
  const rows = backups.map((b) => [b.id, b.target, b.createdAt, `${(b.fileBytes / 1e6).toFixed(1)} MB`, String(b.tables), String(b.rows)]);
  const head = ['ID', 'TARGET', 'CREATED', 'SIZE', 'TABLES', 'ROWS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
}

export const restoreHelp = `Usage: pnpm mbsync restore <backup-id> [--to <environment>] [--confirm <name>] [--yes] [--no-backup] [--skip-reindex] [--json]

Puts a backup back: the schemas the import replaced are dropped and restored from the backup, in one
transaction. The current state is itself backed up first (unless --no-backup). --yes accepts that tables or
columns created since the backup, and their rows, are dropped. When the target has Typesense, its collections
are rebuilt afterwards (--skip-reindex: not).`;

export async function restoreCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      confirm: { type: 'string' },
      'no-backup': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'skip-reindex': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('restore takes one backup id (see pnpm mbsync backups)');
  const config = commandConfig(context);
  const backup = await findBackup(config.backupDirectory, id);
  const target = getEnvironment(context.settings.environments, values.to ?? backup.target);
  const output = createProgressOutput(values.json, context.onActivity);
  try {
    const result = await runImport({
      target,
      file: backup.file,
      mode: 'replace',
      schemas: backup.schemas,
      confirm: values.confirm,
      noBackup: values['no-backup'],
      acceptDataLoss: values.yes,
      skipReindex: values['skip-reindex'],
      config,
      signal: context.signal,
      scope: context.scope,
      onProgress: (p) => output.update(p.phase, p),
    });
    output.done('restore', { backup: backup.id, target: target.name, tables: result.import.tables.length, rows: result.import.rows, backup_of_current_state: result.backup?.id ?? 'none', ...writeNotes(result, target.name) });
  } finally {
    output.clear();
  }
}
