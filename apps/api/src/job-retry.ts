import { findBackup } from '@mbsync/dump';
import { isJobType, type JobPayloads, type JobType, updateCancelledJobRecord, updateJobRecord } from '@mbsync/jobs';
import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import type { ApiConfig } from './config.js';
import { resolveDumpFile } from './dump-files.js';
import { assertWritable, resolveEnvironment } from './environment-access.js';
import { ApiError } from './http-errors.js';
import { loadJobView, type JobStore } from './job-view.js';
import { startJob } from './routes/sync.js';
import type { RetryAccepted } from './schemas/jobs.js';

/** How long a retry holds the old job, so that a double click starts one job, not two. */
const RETRY_LOCK_SECONDS = 60;

/**
 * Re-runs a failed or cancelled job (one cancelled before it started included) with the same payload, as a new
 * job: the checks a new request gets run again first (the environments still exist, the destination guard, the
 * dump or backup is still there), and both jobs' records link to each other (retryOf / retriedBy). A job that was
 * already retried, or is not failed or cancelled, answers 409 API_JOB_NOT_RETRYABLE. `confirm` stands in for a
 * payload that has none (a reindex of a protected environment).
 */
export async function retryJob(app: FastifyInstance, config: Readonly<ApiConfig>, id: string, confirm: string | undefined): Promise<Static<typeof RetryAccepted>> {
  const store: JobStore = { queue: app.jobQueue.queue, redis: app.jobQueue.redis };
  const view = await loadJobView(store, id);
  if (!view) throw new ApiError('API_JOB_NOT_FOUND', `no job "${id}"`);
  if (view.state !== 'failed' && view.state !== 'cancelled') {
    throw new ApiError('API_JOB_NOT_RETRYABLE', `job "${id}" is ${view.state}: only a failed or cancelled job can be retried`, { details: { state: view.state } });
  }
  if (view.related.retriedBy) {
    throw new ApiError('API_JOB_NOT_RETRYABLE', `job "${id}" was already retried by job "${view.related.retriedBy}"`, { details: { retriedBy: view.related.retriedBy } });
  }
  if (!isJobType(view.type)) throw new ApiError('API_JOB_NOT_RETRYABLE', `job "${id}" has an unknown type "${view.type}"`);
  const type: JobType = view.type;
  const payload = await checkedPayload(config, type, view.payload, confirm);
  const lock = app.jobQueue.queue.toKey(`mbsync:retry-lock:${id}`);
  if ((await app.jobQueue.redis.set(lock, '1', 'EX', RETRY_LOCK_SECONDS, 'NX')) !== 'OK') {
    throw new ApiError('API_JOB_NOT_RETRYABLE', `job "${id}" is being retried already`);
  }
  const accepted = await startJob(app, type, payload);
  await updateJobRecord(app.jobQueue.redis, app.jobQueue.queue, accepted.id, { retryOf: id });
  const linked = await updateJobRecord(app.jobQueue.redis, app.jobQueue.queue, id, { retriedBy: accepted.id });
  if (!linked) await updateCancelledJobRecord(app.jobQueue.redis, app.jobQueue.queue, id, { retriedBy: accepted.id });
  return { ...accepted, retryOf: id };
}

/** The old payload, through the checks a new request of its type gets. */
async function checkedPayload(config: Readonly<ApiConfig>, type: JobType, stored: Record<string, unknown>, confirm: string | undefined): Promise<JobPayloads[JobType]> {
  const payload = { ...stored } as Record<string, unknown>;
  const text = (key: string) => (typeof payload[key] === 'string' ? (payload[key] as string) : undefined);
  const guard = (target: string) => assertWritable(resolveEnvironment(config.environments, target), config.core, text('confirm') ?? confirm);
  switch (type) {
    case 'export':
      resolveEnvironment(config.environments, text('source') ?? '');
      break;
    case 'sync':
      resolveEnvironment(config.environments, text('source') ?? '');
      guard(text('target') ?? '');
      break;
    case 'import':
      guard(text('target') ?? '');
      await resolveDumpFile(config.core.dumpDirectory, text('file') ?? '');
      break;
    case 'backup':
      resolveEnvironment(config.environments, text('target') ?? '');
      break;
    case 'restore': {
      const backup = await findBackup(config.core.backupDirectory, text('backupId') ?? '');
      guard(text('target') ?? backup.target);
      break;
    }
    case 'reindex': {
      const environment = resolveEnvironment(config.environments, text('environment') ?? '');
      if (!environment.typesense) throw new ApiError('API_TYPESENSE_NOT_CONFIGURED', `environment "${environment.name}" has no Typesense server (set ${environment.name.toUpperCase()}_TYPESENSE_URL)`);
      assertWritable(environment, config.core, confirm);
      break;
    }
  }
  return payload as JobPayloads[JobType];
}
