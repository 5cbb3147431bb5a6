import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface LogLine {
  msg?: string;
  level?: number;
  jobId?: string;
  [key: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  logs: LogLine[];
  stderr: () => string;
  /** resolves with the first log line matching (also one already seen) */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** resolves with the exit code (null when killed by a signal) and signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running */
  kill(): Promise<void>;
}

/**
 * Starts `node --conditions=source --import tsx apps/worker/src/main.ts` as a child process with `env` on top of
 * the current environment, and collects its pino JSON lines.
 */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'apps/worker/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const raw = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw };
      }
      logs.push(line);
      for (const w of waiters) {
        if (!w.match(line)) continue;
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  return {
    child,
    pid: child.pid ?? 0,
    logs,
    stderr: () => stderr,
    waitForLog(match, timeoutMs = 30_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (line: LogLine) => (clearTimeout(timer), resolve(line)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`worker ${child.pid}: no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    exited,
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts a worker and waits until it logged "worker ready". */
export async function startReadyWorker(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerProcess> {
  const worker = startWorkerProcess(env);
  try {
    await worker.waitForLog((l) => l.msg === 'worker ready', timeoutMs);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}

/** The env a test worker needs besides its database variables: short timings so tests stay quick. */
export function testWorkerEnv(options: { redisUrl: string; prefix: string; dumpDirectory: string; backupDirectory: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: options.prefix,
    DUMP_DIRECTORY: options.dumpDirectory,
    BACKUP_DIRECTORY: options.backupDirectory,
    WORKER_CONCURRENCY: '2',
    WORKER_SHUTDOWN_GRACE_MS: '1000',
    WORKER_CANCEL_POLL_MS: '300',
    WORKER_TARGET_BUSY_DELAY_MS: '400',
    WORKER_LOCK_DURATION_MS: '4000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_PROGRESS_INTERVAL_MS: '250',
    ...extra,
  };
}
