import type { TransferProgress } from '@mbsync/dump';

/** The phases a job goes through, in order. A sync uses all of them; other jobs a subset. */
export type Phase = 'export' | 'validate' | 'backup' | 'import' | 'verify' | 'reindex';

/** The progress object of DESIGN.md: a phase plus the transfer counters of that phase. */
export interface JobProgress extends TransferProgress {
  phase: Phase;
  /** the phases this job will run, in order */
  phases: Phase[];
}

export type PhaseProgressCallback = (progress: JobProgress) => void;

/** Adapts a job-level callback to the per-transfer callback the packages take. */
export function phaseReporter(onProgress: PhaseProgressCallback | undefined, phases: Phase[]): (phase: Phase) => ((p: TransferProgress) => void) | undefined {
  return (phase) => (onProgress ? (p) => onProgress({ ...p, phase, phases }) : undefined);
}

/** A progress event for a phase that has no byte counters (validate, verify). */
export function phaseEvent(phase: Phase, phases: Phase[], message: string, percent = 0): JobProgress {
  return { phase, phases, table: null, tablesDone: 0, tablesTotal: 0, rowsDone: 0, bytesDone: 0, bytesTotal: 0, percent, etaSeconds: null, bytesPerSecond: 0, message };
}
