import { AsyncLocalStorage } from 'node:async_hooks';

/** What a running job adds to every log line logged inside it: the phase it is in now. */
export interface JobLogState {
  phase: string;
}

const storage = new AsyncLocalStorage<JobLogState>();

/**
 * Runs a job with its log state: every line logged in its async context (the processor, the progress
 * publisher, timers they set) carries the state's current `phase`, which moves on as progress arrives.
 * pino's bindings cannot change (setBindings appends a second key), so the phase comes from a mixin.
 */
export function runWithJobLogState<T>(state: JobLogState, run: () => T): T {
  return storage.run(state, run);
}

/** pino `mixin` of the worker's root logger. */
export function jobLogMixin(): Record<string, unknown> {
  const state = storage.getStore();
  return state ? { phase: state.phase } : {};
}

/** The environment a job writes to, for its log lines (`target`), from its payload. */
export function jobLogTarget(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  if (typeof d.target === 'string') return d.target;
  if (typeof d.environment === 'string') return d.environment;
  // a restore without a target goes back where the backup came from: `<target>-<time>.sql.gz`
  if (type === 'restore' && typeof d.backupId === 'string') return d.backupId.replace(/-\d{8}T\d{6}\d{3}Z\.sql\.gz$/, '');
  if (type === 'export') return 'dump-directory';
  return 'unknown';
}
