import type { ImportResult, ParallelSyncLogger } from '@mbsync/dump';
import type { ReindexLogger } from '@mbsync/search-index';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { type CommitInfo, type CoreConfig, type Environment, type Phase, type PhaseProgressCallback, phaseReporter } from '@mbsync/jobs';
import type { DatabaseScope } from '../database.js';
import { runReindex } from './reindex.js';

/** The import part of a CommitInfo, from the importer's result. */
export function commitSummary(result: ImportResult): CommitInfo['import'] {
  return { mode: result.mode, tables: result.tables.length, rows: result.rows, bytesRead: result.bytesRead, durationMs: result.durationMs };
}

/** Called by a runner right after its import committed; awaited before the runner goes on. */
export type CommitCallback = (commit: CommitInfo) => Promise<void> | void;

/** How the reindex after a committed write went. It never fails the write: the data is in. */
export interface ReindexOutcome {
  status: 'completed' | 'failed' | 'cancelled';
  /** the collections rebuilt (completed) */
  collections: string[];
  documents: number;
  /** why it failed or stopped: a package code (SEARCH_INDEX_UNAVAILABLE, JOBS_STALLED…) or CANCELLED */
  error?: { code: string; message: string };
}

/** A pino-compatible logger (`logger.warn({ … }, 'message')`): the job's, handed down to dump and search-index. */
export type JobLogger = ReindexLogger & ParallelSyncLogger;

export interface ReindexAfterCommitInput {
  target: Environment;
  logger?: JobLogger | undefined;
  config: Pick<CoreConfig, 'searchSpecs' | 'typesenseRetryMs'>;
  phases: Phase[];
  signal?: AbortSignal | undefined;
  scope?: DatabaseScope | undefined;
  onProgress?: PhaseProgressCallback | undefined;
}

/**
 * The last phase of a write: the target's Typesense rebuilt from the data just committed. A failure or a cancel
 * is reported in the outcome, not thrown: the copy stands, and a reindex can run on its own later (the worker
 * queues one). Aliases move together or not at all, so a failed reindex leaves searches on the old collections.
 */
export async function reindexAfterCommit(input: ReindexAfterCommitInput): Promise<ReindexOutcome> {
  try {
    const result = await runReindex({
      environment: input.target,
      ...(input.config.searchSpecs ? { specs: input.config.searchSpecs } : {}),
      retry: { maxElapsedMs: input.config.typesenseRetryMs },
      signal: input.signal,
      scope: input.scope,
      ...(input.logger ? { logger: input.logger } : {}),
      onProgress: phaseReporter(input.onProgress, input.phases)('reindex'),
    });
    return { status: 'completed', collections: result.collections.map((c) => c.name), documents: result.collections.reduce((n, c) => n + c.documents, 0) };
  } catch (error) {
    const reason: unknown = input.signal?.aborted ? input.signal.reason : undefined;
    const stalled = (reason as { code?: unknown } | undefined)?.code === 'JOBS_STALLED';
    if (input.signal?.aborted && !stalled) {
      return { status: 'cancelled', collections: [], documents: 0, error: { code: 'CANCELLED', message: `reindex stopped: ${describe(reason)}` } };
    }
    const cause = stalled ? reason : error;
    const code = (cause as { code?: unknown }).code;
    return { status: 'failed', collections: [], documents: 0, error: { code: typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : 'JOBS_INTERNAL', message: describe(cause) } };
  }
}

/** The specs a write's reindex will use: TYPESENSE_SPECS_FILE's, else the built-in ones (loaded on demand). */
export async function reindexSpecs(config: Pick<CoreConfig, 'searchSpecs'>): Promise<readonly CollectionSpec[]> {
  if (config.searchSpecs) return config.searchSpecs;
  const { DEFAULT_COLLECTION_SPECS } = await import('@mbsync/search-index/specs');
  return DEFAULT_COLLECTION_SPECS;
}

function describe(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value ?? 'cancelled');
  return text.split('\n')[0] ?? '';
}
