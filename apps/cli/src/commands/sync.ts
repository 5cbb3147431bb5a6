import { parseArgs } from 'node:util';
import { runSync } from '@mbsync/execution';
import type { SyncOptions } from '@mbsync/jobs';
import { commandConfig, parseJobs, resolveDatabase, UsageError, writeNotes, type CliContext } from '../cli-context.js';
import { createProgressOutput } from '../progress-bar.js';
import { SELECTION_HELP, SELECTION_OPTIONS, selectionSettings } from '../selection-options.js';
import { WRITE_OPTIONS, writeSettings } from '../write-options.js';

export const syncHelp = `Usage: pnpm mbsync sync --from <environment|postgres-url> --to <environment|postgres-url> [options]

Copies a database: export → validate → backup → import → verify → reindex, each a phase with progress.
A missing target database on this machine (loopback) is created first, as createdb would. By default
the dump streams from source to target without touching disk; --keep-dump writes it to DUMP_DIRECTORY.
The target ends as a copy of the source, or unchanged. In replace mode with --jobs above 1 (the default,
SYNC_JOBS), tables are copied and indexed over several connections into a staging schema (mbsync_stage_*)
of the target, then one short transaction swaps them in; the target's own schemas are untouched until
then. With --jobs 1, --keep-dump or --mode data-only the whole import is one transaction.

Options:
  --from <name|url>           source environment or postgres:// URL
  --to <name|url>             target environment or postgres:// URL
  --mode <mode>               replace (default) or data-only
  --confirm <name>            the target's name again (protected or non-local targets)
  --no-backup                 skip the backup of the target
  --keep-dump                 keep the dump file in DUMP_DIRECTORY
  --full                      copy everything even when the target holds an earlier copy from this source
                              (by default a replace into such a target compares per-table checksums inside both
                              servers and copies only the differing key ranges, verified before COMMIT)
  --jobs <n>                  connections per side (1-16; default SYNC_JOBS, else 2)
  --skip-reindex              skip the last phase: rebuilding the target's Typesense collections (run when
                              <TARGET>_TYPESENSE_URL is set; --no-reindex works too). A reindex that fails
                              after the copy committed is a warning (exit 0): rerun it with mbsync reindex
  --yes                       accept a replace that drops tables or columns holding rows
${SELECTION_HELP}
  --create-roles              create the roles the copy needs that the target lacks (NOLOGIN, no password, no
                              membership); refused for protected targets
  --json                      progress and result as JSON lines on stdout
  -h, --help                  show this help`;

export async function syncCommand(context: CliContext, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...WRITE_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      'keep-dump': { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      'no-reindex': { type: 'boolean', default: false },
      'skip-reindex': { type: 'boolean', default: false },
      ...SELECTION_OPTIONS,
    },
    strict: true,
  });
  if (!values.from) throw new UsageError('sync needs --from <environment|postgres-url>');
  if (!values.to) throw new UsageError('sync needs --to <environment|postgres-url>');
  const { onReport, ...write } = writeSettings(values);
  // the flags as the contract's sync options: the same request the api's POST /api/sync/sync body makes
  const options: SyncOptions = {
    ...write,
    keepDump: values['keep-dump'],
    ...(values.full ? { full: true } : {}),
    jobs: parseJobs(values.jobs),
    skipReindex: values['no-reindex'] || values['skip-reindex'],
    ...selectionSettings(values),
  };
  const config = commandConfig(context);
  const source = resolveDatabase(context, values.from);
  const target = resolveDatabase(context, values.to);
  const output = createProgressOutput(values.json, context.onActivity);
  try {
    const result = await runSync({
      ...options,
      source,
      target,
      onReport,
      config,
      signal: context.signal,
      scope: context.scope,
      onProgress: (p) => output.update(p.phase, p),
    });
    output.done('sync', {
      from: source.name,
      to: target.name,
      tables: result.import.tables.length,
      rows: result.import.rows,
      dataBytes: result.export.dataBytes,
      seconds: Math.round(result.import.durationMs / 100) / 10,
      ...(result.timings ? { lanesSeconds: result.timings.lanesMs / 1000, finalSeconds: result.timings.finalMs / 1000 } : {}),
      ...(result.copyFormat ? { copyFormat: result.copyFormat.chosen, ...(result.copyFormat.roundTripMs !== null ? { roundTripMs: result.copyFormat.roundTripMs } : {}), packedTables: result.copyFormat.packedTables } : {}),
      backup: result.backup?.id ?? 'none',
      ...copySummary(result.incremental),
      verified: result.verify ? `${result.verify.tables} tables` : 'no',
      ...(result.dumpFile ? { dump: result.dumpFile } : {}),
      ...writeNotes(result, target.name),
    });
  } finally {
    output.clear();
  }
}

/** The summary line's part saying whether only what differed was copied. */
function copySummary(incremental: Awaited<ReturnType<typeof runSync>>['incremental']): Record<string, unknown> {
  const t = incremental.tables;
  if (incremental.mode === 'full') return { copy: 'full', ...(incremental.reason ? { why: JSON.stringify(incremental.reason) } : {}), bytesFromSource: incremental.bytesFromSource };
  return {
    copy: 'incremental',
    compared: t.compared.length,
    // decided by what the source wrote since the last copy (the others by checksums)
    bySinceLast: t.tracked?.length ?? 0,
    skipped: t.skipped.length,
    patched: t.patched.length ? t.patched.map((p) => `${p.table}(${p.buckets} buckets, -${p.rowsDeleted}/+${p.rowsInserted} rows)`).join(',') : 0,
    copiedWhole: t.copied.length ? t.copied.join(',') : 0,
    bytesFromSource: incremental.bytesFromSource,
  };
}
