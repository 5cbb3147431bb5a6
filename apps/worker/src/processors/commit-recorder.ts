import { basename } from 'node:path';
import { type CommitInfo, type Environments, type JobOutputs, type JobRecord, type JobType, readJobRecord, type ReindexJobSummary, updateJobRecord } from '@mbsync/jobs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Job types that write to a target and report their commit. */
const WRITES: ReadonlySet<string> = new Set(['sync', 'import', 'restore']);

/** Queues a job of the catalogue (the follow-up reindex); returns its id. */
export type FollowUpEnqueuer = (type: 'reindex', payload: { environment: string }) => Promise<string>;

export interface CommitRecorderDeps {
  redis: Redis;
  queue: { toKey(type: string): string };
  environments: Environments;
  enqueue: FollowUpEnqueuer;
  log: Logger;
}

/** The environment whose Typesense a write rebuilds after its commit, or null (none configured, or skipReindex). */
export function plannedReindex(type: string, payload: unknown, target: string, environments: Environments): string | null {
  if (!WRITES.has(type)) return null;
  if ((payload as { skipReindex?: unknown } | null)?.skipReindex === true) return null;
  return environments.get(target)?.typesense ? target : null;
}

/**
 * The job's side of the commit point. `committed` writes it into the job's record the moment the runner reports
 * it (targetWritten, backupId, what the job knew then, the reindex still to do); `followUp` queues a `reindex`
 * job when the write's own reindex did not finish, linking both records; `resume` ends an attempt that starts
 * after an earlier one committed (a job taken over after a crash) without copying again.
 */
export class CommitRecorder {
  readonly #deps: CommitRecorderDeps;
  readonly #job: { id: string; type: string; payload: unknown };
  #committed = false;

  constructor(deps: CommitRecorderDeps, job: { id: string; type: string; payload: unknown }) {
    this.#deps = deps;
    this.#job = job;
  }

  /** True once this attempt's import committed. */
  get committed(): boolean {
    return this.#committed;
  }

  /** The record of an earlier attempt (read before running). */
  async earlier(): Promise<JobRecord> {
    return readJobRecord(this.#deps.redis, this.#deps.queue, this.#job.id);
  }

  /** Called by the runner once its import committed; awaited before it goes on. */
  async onCommitted(commit: CommitInfo): Promise<void> {
    this.#committed = true;
    const pending = plannedReindex(this.#job.type, this.#job.payload, commit.target, this.#deps.environments);
    try {
      await updateJobRecord(this.#deps.redis, this.#deps.queue, this.#job.id, { targetWritten: true, committedAt: commit.committedAt, backupId: commit.backupId, committed: commit, reindexPending: pending });
    } catch (error) {
      // the job's result says it all the same; only a cancel arriving now would not be refused
      this.#deps.log.warn({ err: error }, 'could not record the commit in the job');
    }
    // logged once recorded: whoever reads the line finds the record
    this.#deps.log.info({ backupId: commit.backupId, rows: commit.import.rows }, 'import committed: the target is written');
  }

  /**
   * After a write: queues a follow-up `reindex` job when its reindex failed, or was stopped by a shutdown (not by
   * a cancel request), and clears the pending reindex. Returns the output with the follow-up's id and warning.
   */
  async followUp<T extends { reindex: ReindexJobSummary; warnings: string[]; target: string }>(output: T, shutdown: boolean): Promise<T> {
    const reindex = output.reindex;
    const again = reindex !== null && (reindex.status === 'failed' || (reindex.status === 'cancelled' && shutdown));
    let followUpJobId: string | null = null;
    if (again) followUpJobId = await this.#queueReindex(output.target);
    await updateJobRecord(this.#deps.redis, this.#deps.queue, this.#job.id, { reindexPending: null }).catch(() => false);
    if (!followUpJobId || !reindex) return output;
    return {
      ...output,
      reindex: { ...reindex, followUpJobId },
      warnings: [...output.warnings, `reindex job ${followUpJobId} was queued to rebuild the search index of "${output.target}" on its own`],
    };
  }

  /** The output of an attempt that finds the import committed by an earlier one: nothing is copied again. */
  async resume(record: JobRecord): Promise<Omit<JobOutputs[JobType], 'attempt' | 'startedAt' | 'finishedAt' | 'worker'>> {
    const commit = record.committed!;
    this.#deps.log.info({ committedAt: record.committedAt, backupId: record.backupId }, 'the import committed in an earlier attempt: not copying again');
    const payload = (this.#job.payload ?? {}) as Record<string, unknown>;
    const pending = record.reindexPending ?? null;
    const reindex: ReindexJobSummary = pending
      ? { status: 'failed', collections: [], documents: 0, error: { code: 'JOBS_ATTEMPT_INTERRUPTED', message: 'the attempt that committed ended before its reindex' }, followUpJobId: null }
      : null;
    const common = {
      target: commit.target,
      import: { ...commit.import, backupId: commit.backupId, verified: false },
      targetWritten: true,
      reindex,
      createdDatabase: null,
      warnings: [`an earlier attempt committed the import at ${commit.committedAt}; this one did not copy again (row counts not checked again)`],
      resumed: true,
    };
    const base =
      this.#job.type === 'sync'
        ? { type: 'sync' as const, source: String(payload.source ?? ''), export: commit.export ?? { tables: commit.import.tables, rows: commit.import.rows, dataBytes: 0, durationMs: 0 }, dumpFile: commit.dumpFile ? basename(commit.dumpFile) : null, ...common }
        : this.#job.type === 'restore'
          ? { type: 'restore' as const, restoredBackupId: String(payload.backupId ?? ''), ...common }
          : { type: 'import' as const, file: String(payload.file ?? ''), ...common };
    return this.followUp(base, true);
  }

  async #queueReindex(environment: string): Promise<string | null> {
    const existing = (await this.earlier().catch(() => ({}) as JobRecord)).reindexJobId;
    if (existing) return existing;
    try {
      const id = await this.#deps.enqueue('reindex', { environment });
      await updateJobRecord(this.#deps.redis, this.#deps.queue, id, { reindexFor: this.#job.id });
      await updateJobRecord(this.#deps.redis, this.#deps.queue, this.#job.id, { reindexJobId: id });
      this.#deps.log.info({ reindexJobId: id, environment }, 'follow-up reindex queued');
      return id;
    } catch (error) {
      this.#deps.log.warn({ err: error }, 'could not queue the follow-up reindex');
      return null;
    }
  }
}
