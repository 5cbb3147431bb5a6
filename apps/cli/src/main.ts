import { existsSync } from 'node:fs';
import { watchForStalls } from '@mbsync/execution';
import { configInvalid, DEFAULT_STALL_TIMEOUT_SECONDS } from '@mbsync/jobs';
import { UsageError, type CliContext } from './cli-context.js';
import { backupsCommand, backupsHelp, restoreCommand, restoreHelp } from './commands/backups.js';
import { diffCommand, diffHelp } from './commands/diff.js';
import { doctorCommand, doctorHelp } from './commands/doctor.js';
import { exportCommand, exportHelp } from './commands/export.js';
import { importCommand, importHelp } from './commands/import.js';
import { reindexCommand, reindexHelp } from './commands/reindex.js';
import { syncCommand, syncHelp } from './commands/sync.js';
import { loadCliSettings } from './settings.js';

type Command = { run: (context: CliContext, argv: string[]) => Promise<void>; help: string; summary: string };

const commands: Record<string, Command> = {
  export: { run: exportCommand, help: exportHelp, summary: 'dump a database to a plain SQL file by streaming' },
  import: { run: importCommand, help: importHelp, summary: 'load a dump into a database in one transaction (backup first)' },
  sync: { run: syncCommand, help: syncHelp, summary: 'copy a database: export, validate, backup, import, verify' },
  reindex: { run: reindexCommand, help: reindexHelp, summary: 'rebuild the Typesense collections with zero downtime' },
  diff: { run: diffCommand, help: diffHelp, summary: 'compare two schemas (databases or dumps) and judge each import mode' },
  backups: { run: backupsCommand, help: backupsHelp, summary: 'list the backups taken before imports' },
  restore: { run: restoreCommand, help: restoreHelp, summary: 'put a backup back' },
  doctor: { run: doctorCommand, help: doctorHelp, summary: 'check config, Redis, databases, Typesense and disk before starting' },
};

function mainHelp(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: pnpm mbsync <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'pnpm mbsync <command> --help' for a command's options.\nEnvironments come from <NAME>_DATABASE_URL variables (see .env.example).`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`mbsync: unknown command "${name}"\n${mainHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  // .env in the working directory fills in what the real environment does not set
  if (existsSync('.env')) process.loadEnvFile('.env');
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write('\nmbsync: interrupted, cleaning up (press Ctrl-C again to force)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The only place that reads the environment: the settings are read once, every problem at once (bad
  // environment URLs named and never echoed, TYPESENSE_SPECS_FILE), and commands get them, never the environment.
  const settings = await loadCliSettings(process.env);
  // doctor lists every problem in its table, with everything else it checks
  if (name !== 'doctor' && settings.problems.startup.length > 0) {
    process.stderr.write(`mbsync: invalid configuration (.env or the environment):\n  ${settings.problems.startup.join('\n  ')}\n`);
    return 1;
  }
  const context: CliContext = { settings, signal: controller.signal };
  try {
    if (name !== 'doctor' && !settings.core) throw configInvalid(settings.problems.core);
    // STALL_TIMEOUT_SECONDS: a dead network fails the command (JOBS_STALLED) instead of hanging it
    const timeoutMs = settings.core?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_SECONDS * 1000;
    await watchForStalls({ timeoutMs, signal: controller.signal }, (watch) => command.run({ ...context, signal: watch.signal, scope: watch.scope, onActivity: watch.progress }, rest));
    return 0;
  } catch (error) {
    const e = error as Error & { code?: string };
    if (error instanceof UsageError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`mbsync ${name}: ${e.message.split('\n')[0]} (see 'pnpm mbsync ${name} --help')\n`);
      return 2;
    }
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (typeof exitCode === 'number') return exitCode; // the command printed its own result (diff --exit-code)
    const code = e.code ? `[${e.code}] ` : '';
    process.stderr.write(`mbsync ${name}: ${code}${(e.message ?? String(error)).split('\n')[0]}\n`);
    if (settings.debug) process.stderr.write(`${e.stack ?? ''}\n`);
    return controller.signal.aborted ? 130 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
