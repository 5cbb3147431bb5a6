import { startService, type ChildService } from '@mbsync/testkit';

export type { LogLine } from '@mbsync/testkit';
export type WorkerProcess = ChildService;

/** Starts `apps/worker/src/main.ts` as a child process with `env` on top of the current environment. */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  return startService('apps/worker/src/main.ts', { LOG_LEVEL: 'info', ...env });
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
