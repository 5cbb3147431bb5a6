import { existsSync } from 'node:fs';
import type { CliContext } from './cli-context.js';

interface CommandModule {
  run: (context: CliContext, argv: string[]) => Promise<void>;
  help: string;
}
/** A command's module is loaded when the command runs (or shows its help): `mbsync --help` loads none of them. */
type Command = { summary: string; load: () => Promise<CommandModule> };

const commands: Record<string, Command> = {
  export: { summary: 'dump a database to a plain SQL file by streaming', load: async () => import('./commands/export.js').then((m) => ({ run: m.exportCommand, help: m.exportHelp })) },
  import: { summary: 'load a dump into a database in one transaction (backup first)', load: async () => import('./commands/import.js').then((m) => ({ run: m.importCommand, help: m.importHelp })) },
  sync: { summary: 'copy a database: export, validate, backup, import, verify', load: async () => import('./commands/sync.js').then((m) => ({ run: m.syncCommand, help: m.syncHelp })) },
  reindex: { summary: 'rebuild the Typesense collections with zero downtime', load: async () => import('./commands/reindex.js').then((m) => ({ run: m.reindexCommand, help: m.reindexHelp })) },
  diff: { summary: 'compare two schemas (databases or dumps) and judge each import mode', load: async () => import('./commands/diff.js').then((m) => ({ run: m.diffCommand, help: m.diffHelp })) },
  backups: { summary: 'list the backups taken before imports', load: async () => import('./commands/backups.js').then((m) => ({ run: m.backupsCommand, help: m.backupsHelp })) },
  restore: { summary: 'put a backup back', load: async () => import('./commands/backups.js').then((m) => ({ run: m.restoreCommand, help: m.restoreHelp })) },
  doctor: { summary: 'check config, Redis, databases, Typesense and disk before starting', load: async () => import('./commands/doctor.js').then((m) => ({ run: m.doctorCommand, help: m.doctorHelp })) },
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
  const known = commands[name];
  if (!known) {
    process.stderr.write(`mbsync: unknown command "${name}"\n${mainHelp()}\n`);
    return 2;
  }
  const command = await known.load();
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
  const [{ loadCliSettings }, { configInvalid, DEFAULT_STALL_TIMEOUT_SECONDS }, { watchForStalls }, { UsageError }] = await Promise.all([
    import('./settings.js'), import('@mbsync/jobs'), import('@mbsync/execution'), import('./cli-context.js'),
  ]);
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
