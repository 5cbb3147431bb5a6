import { exportBenchCommand, exportHelp } from './export-bench.js';
import { generateCommand, generateHelp } from './generate.js';
import { importBenchCommand, importHelp } from './import-bench.js';
import { introspectBenchCommand, introspectHelp } from './introspect-bench.js';
import { progressBenchCommand, progressHelp } from './progress-bench.js';
import { reindexBenchCommand, reindexHelp } from './reindex-bench.js';
import { resyncBenchCommand, resyncHelp } from './resync-bench.js';
import { syncBenchCommand, syncHelp } from './sync-bench.js';
import { wanBenchCommand, wanHelp } from './wan-bench.js';

type Command = { run: (argv: string[], signal: AbortSignal) => Promise<void>; help: string; summary: string };

const commands: Record<string, Command> = {
  generate: { run: generateCommand, help: generateHelp, summary: 'build (or reuse) a bench database of a shape (bytea, enum-wide, many-tables, supabase) and size' },
  export: { run: exportBenchCommand, help: exportHelp, summary: 'mbsync export vs pg_dump: wall time, peak RSS, MB/s, per shape' },
  import: { run: importBenchCommand, help: importHelp, summary: 'mbsync import vs psql restoring the same dump file' },
  sync: { run: syncBenchCommand, help: syncHelp, summary: 'mbsync sync vs pg_dump | psql and pgcopydb clone into fresh databases, per shape' },
  wan: { run: wanBenchCommand, help: wanHelp, summary: 'the same, the source behind a WAN link (delay, shared cap): wall, bytes on the wire' },
  resync: { run: resyncBenchCommand, help: resyncHelp, summary: 'incremental re-sync (nothing changed, 1 % changed) against a full copy, optionally over a WAN link' },
  progress: { run: progressBenchCommand, help: progressHelp, summary: 'what progress reporting costs: export and sync with it off and on' },
  introspect: { run: introspectBenchCommand, help: introspectHelp, summary: 'introspect() on a database of many tables' },
  reindex: { run: reindexBenchCommand, help: reindexHelp, summary: 'reindex parts into the Typesense test server: documents/s, peak RSS' },
};

function mainHelp(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return `Usage: pnpm bench <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n`
    + `Run 'pnpm bench <command> --help' for a command's options. Benches run on the local server only\n`
    + `(PG_TEST_URL, default postgres://postgres@127.0.0.1:5432/postgres); bench databases are kept and reused.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`bench: unknown command "${name}"\n${mainHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  // measured children run in their own process groups: on Ctrl-C, stop them and let cleanups run
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nbench: interrupted, cleaning up (press Ctrl-C again to force)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await command.run(rest, controller.signal);
    return 0;
  } catch (error) {
    const e = error as Error & { code?: string };
    process.stderr.write(`bench ${name}: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    if (process.env.MBSYNC_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
    return controller.signal.aborted ? 130 : e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
