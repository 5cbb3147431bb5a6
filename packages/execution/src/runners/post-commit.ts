import type { ImportResult, ParallelSyncLogger } from '@mbsync/dump';
import type { DocumentChanges, ReindexLogger } from '@mbsync/search-index';
import type { CollectionSpec } from '@mbsync/search-index/specs';
import { type CommitInfo, type CoreConfig, type Environment, type Phase, type PhaseProgressCallback, phaseEvent, phaseReporter } from '@mbsync/jobs';
import { openDatabase, type DatabaseScope } from '../database.js';
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
  /** what happened to each collection done: updated by id in place, or rebuilt behind its alias */
  byCollection?: CollectionOutcome[];
}

/** One collection after a write: `updated` by id (its alias unchanged), or `rebuilt` (and why not updated). */
export interface CollectionOutcome {
  name: string;
  mode: 'updated' | 'rebuilt';
  upserted: number;
  deleted: number;
  /** documents in the collection afterwards */
  documents: number;
  /** rebuilt: why it was not updated by id (absent after a full copy, which always rebuilds) */
  reason?: string;
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
  /** the collections to rebuild (default: every spec) */
  collections?: string[] | undefined;
  /** record in the target (mbsync_meta) what each rebuilt collection was built from, for the next sync's by-id update */
  record?: boolean | undefined;
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
      ...(input.collections ? { collections: input.collections } : {}),
      ...(input.record ? { fingerprint: true } : {}),
    });
    if (input.record) await recordRebuilt(input, result.collections).catch((error: unknown) => input.logger?.warn({ error: describe(error) }, 'could not record what the collections hold'));
    return {
      status: 'completed', collections: result.collections.map((c) => c.name), documents: result.collections.reduce((n, c) => n + c.documents, 0),
      byCollection: result.collections.map((c) => ({ name: c.name, mode: 'rebuilt', upserted: c.documents, deleted: 0, documents: c.documents })),
    };
  } catch (error) {
    return stoppedOutcome(input, error);
  }
}

/** A reindex that failed, or stopped (cancelled, or stalled: then the watchdog's reason is the failure). */
function stoppedOutcome(input: Pick<ReindexAfterCommitInput, 'signal'>, error: unknown): ReindexOutcome {
  const reason: unknown = input.signal?.aborted ? input.signal.reason : undefined;
  const stalled = (reason as { code?: unknown } | undefined)?.code === 'JOBS_STALLED';
  if (input.signal?.aborted && !stalled) {
    return { status: 'cancelled', collections: [], documents: 0, error: { code: 'CANCELLED', message: `reindex stopped: ${describe(reason)}` } };
  }
  const cause = stalled ? reason : error;
  const code = (cause as { code?: unknown }).code;
  return { status: 'failed', collections: [], documents: 0, error: { code: typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : 'JOBS_INTERNAL', message: describe(cause) } };
}

/**
 * After an incremental sync: each collection whose changes the sync found (see trackDocumentChanges) is updated by id
 * in the collection its alias points at; the others, and any whose update is refused or fails, are rebuilt as
 * reindexAfterCommit does. Like it, never throws: the outcome says what happened to each collection.
 */
export async function updateSearchAfterCommit(input: ReindexAfterCommitInput & { changes: readonly DocumentChanges[] }): Promise<ReindexOutcome> {
  const { updateCollectionDocuments, openTypesense } = await import('@mbsync/search-index');
  const done: CollectionOutcome[] = [];
  const rebuild = new Map<string, string>();
  for (const change of input.changes) {
    if (change.mode !== 'rebuild') continue;
    rebuild.set(change.name, change.reason);
    input.logger?.info({ collection: change.name, reason: change.reason }, 'the collection is rebuilt, not updated by id');
  }
  const updates = input.changes.filter((c) => c.mode === 'update');
  // (without a URL and key the rebuild below says what is missing, as a reindex does)
  if (!input.target.typesense?.url || !input.target.typesense.apiKey) for (const update of updates.splice(0)) rebuild.set(update.name, 'Typesense is not configured');
  if (updates.length > 0) {
    const sql = openDatabase(input.target, { role: 'target', applicationName: 'mbsync search update', scope: input.scope });
    const typesense = openTypesense(input.target.typesense!);
    try {
      for (const update of updates) {
        input.onProgress?.(phaseEvent('reindex', input.phases, `${update.name}: updating ${update.upserts.length} and deleting ${update.deletes.length} documents by id`));
        try {
          const result = await updateCollectionDocuments({
            sql, client: typesense.client, update, retry: { maxElapsedMs: input.config.typesenseRetryMs }, signal: input.signal, logger: input.logger,
            onProgress: (message) => input.onProgress?.(phaseEvent('reindex', input.phases, message)),
          });
          done.push({ name: result.name, mode: 'updated', upserted: result.upserted, deleted: result.deleted, documents: result.documents });
        } catch (error) {
          if (input.signal?.aborted) break;
          const reason = describe(error);
          input.logger?.warn({ collection: update.name, error: reason }, 'could not update the collection by id: rebuilding it');
          rebuild.set(update.name, reason);
        }
      }
    } finally {
      typesense.close();
      await sql.end({ timeout: 1 });
    }
  }
  if (input.signal?.aborted) return { ...stoppedOutcome(input, input.signal.reason), byCollection: done };
  const rebuilt = rebuild.size === 0
    ? null
    : await reindexAfterCommit({ ...input, collections: input.changes.map((c) => c.name).filter((n) => rebuild.has(n)), record: true });
  if (rebuilt && rebuilt.status !== 'completed') return { ...rebuilt, byCollection: done };
  const order = input.changes.map((c) => c.name);
  const byCollection = [...done, ...(rebuilt?.byCollection ?? []).map((c) => ({ ...c, reason: rebuild.get(c.name)! }))]
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return { status: 'completed', collections: byCollection.map((c) => c.name), documents: byCollection.reduce((n, c) => n + c.documents, 0), byCollection };
}

/** Records what each rebuilt collection holds (best effort: without a record the next sync rebuilds again). */
async function recordRebuilt(input: ReindexAfterCommitInput, collections: readonly { name: string; collection: string; fingerprint?: { rows: number; checksum: string }; specHash?: string; failedCount: number }[]): Promise<void> {
  const { writeCollectionRecord } = await import('@mbsync/search-index');
  const sql = openDatabase(input.target, { role: 'target', applicationName: 'mbsync search record', scope: input.scope });
  try {
    for (const c of collections) {
      // a collection missing failed documents is not what its rows make: no record, the next sync rebuilds it
      if (!c.fingerprint || !c.specHash || c.failedCount > 0) continue;
      const written = await writeCollectionRecord(sql, { name: c.name, collection: c.collection, specHash: c.specHash, ...c.fingerprint });
      if (!written) input.logger?.warn({ collection: c.name }, 'could not record what the collection holds; the next sync rebuilds it');
    }
  } finally {
    await sql.end({ timeout: 1 });
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
