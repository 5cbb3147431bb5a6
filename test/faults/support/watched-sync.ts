// A sync run in this process the way the worker and the CLI run it: under the stall watchdog.
import { classifyError, runSync, type SyncJobResult, watchForStalls } from '@mbsync/execution';
import { type ClassifiedError, describeEnvironment, type JobProgress, loadCoreConfig } from '@mbsync/jobs';

export interface WatchedSyncInput {
  sourceUrl: string;
  targetUrl: string;
  dumps: string;
  backups: string;
  /** STALL_TIMEOUT_SECONDS (default 2) */
  stallSeconds?: number;
  noBackup?: boolean;
  keepDump?: boolean;
  /** connections per side (default: the config's, 2) */
  jobs?: number;
  mode?: 'replace' | 'data-only';
  /** `--full`: copy everything even over an earlier copy (and so rebuild the collections) */
  full?: boolean;
  /** `--yes` (default true) */
  acceptDataLoss?: boolean;
  target?: { typesenseUrl: string; typesenseKey: string };
  onProgress?: (p: JobProgress) => void;
}

export interface WatchedSync {
  result: SyncJobResult | null;
  error: unknown;
  /** what the worker would make of the error (retry or fail, and the code) */
  failure: ClassifiedError | null;
  ms: number;
  phases: string[];
}

export async function watchedSync(input: WatchedSyncInput): Promise<WatchedSync> {
  const config = loadCoreConfig({
    DUMP_DIRECTORY: input.dumps,
    BACKUP_DIRECTORY: input.backups,
    STALL_TIMEOUT_SECONDS: String(input.stallSeconds ?? 2),
    DISK_RESERVE_MB: '0',
  });
  const phases: string[] = [];
  const started = Date.now();
  try {
    const result = await watchForStalls({ timeoutMs: config.stallTimeoutMs, label: 'fault test' }, (watch) =>
      runSync({
        source: describeEnvironment('fsrc', input.sourceUrl),
        target: describeEnvironment('ftgt', input.targetUrl, input.target?.typesenseUrl, input.target?.typesenseKey),
        config,
        noBackup: input.noBackup,
        keepDump: input.keepDump,
        jobs: input.jobs,
        mode: input.mode,
        full: input.full,
        acceptDataLoss: input.acceptDataLoss ?? true,
        signal: watch.signal,
        scope: watch.scope,
        onProgress: (p) => {
          watch.progress(p.phase);
          if (phases.at(-1) !== p.phase) phases.push(p.phase);
          input.onProgress?.(p);
        },
      }),
    );
    return { result, error: null, failure: null, ms: Date.now() - started, phases };
  } catch (error) {
    return { result: null, error, failure: classifyError(error), ms: Date.now() - started, phases };
  }
}
