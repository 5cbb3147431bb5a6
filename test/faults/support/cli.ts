// Runs the mbsync CLI as a child process without blocking this process (the fault proxies live here).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../apps/cli/src/main.ts', import.meta.url));
// absolute, because the CLI runs in a scratch directory where `tsx` would not resolve
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `mbsync <args>` in `cwd` (no .env there) with only `env`'s environments; killed after `timeoutMs`. */
export function runCli(args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_DATABASE_URL$|_TYPESENSE_URL$|^STALL_TIMEOUT_SECONDS$/.test(k)));
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=source', '--import', TSX, MAIN, ...args], { cwd: options.cwd, env: { ...clean, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve) => {
    child.once('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}
