/**
 * One BullMQ queue carries every job type; the type is the job's name. One queue means one QueueEvents
 * stream for the api's live progress, one ordering (FIFO across types) and one worker pool whose
 * concurrency bounds the total load on the databases; a type never starves behind another queue's backlog
 * because every type is I/O bound on the same servers anyway.
 */
export const JOB_QUEUE = 'mbsync-jobs';

/** Every job type, in the order the api lists them. */
export const JOB_TYPES = ['export', 'import', 'sync', 'backup', 'restore', 'reindex'] as const;

export type JobType = (typeof JOB_TYPES)[number];

/** True for a string that names a job type. */
export function isJobType(name: string): name is JobType {
  return (JOB_TYPES as readonly string[]).includes(name);
}
