/** Anything that names a queue's keys the way BullMQ does (a Queue, a Worker, a QueueEvents). */
export interface QueueKeys {
  toKey(type: string): string;
}
