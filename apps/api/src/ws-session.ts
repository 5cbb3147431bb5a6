import type { FastifyBaseLogger } from 'fastify';
import { Value } from 'typebox/value';
import type { FeedEvent, JobFeed } from './job-feed.js';
import { isBehind, progressRank } from './job-view.js';
import type { ApiJobState, JobView } from './schemas/jobs.js';
import { ClientMessage, type Subscription } from './schemas/ws.js';

/** The part of a `ws` WebSocket a session uses (the plugin passes the real one). */
export interface SessionSocket {
  readonly readyState: number;
  /** bytes queued but not yet written to the network */
  readonly bufferedAmount: number;
  send(data: string): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** WebSocket.OPEN */
const OPEN = 1;

/** Where a session reads jobs from (the queue, or a fake in a unit test). */
export interface JobSource {
  /** null: no such job */
  load(jobId: string): Promise<JobView | null>;
  /** jobs that are not finished (active, waiting, delayed), newest first */
  unfinished(): Promise<JobView[]>;
}

/** What the server sends; see README-protocol.md. */
export type ServerMessage =
  | { type: 'snapshot'; subscription: Subscription; jobs: JobView[] }
  | FeedEvent
  | { type: 'unsubscribed'; subscription: Subscription }
  | { type: 'pong' }
  | { type: 'error'; error: { code: string; message: string }; jobId?: string };

/** Subscriptions one socket may hold. */
export const MAX_SUBSCRIPTIONS = 100;
/** Above this many unsent bytes a socket is slow: progress updates are skipped for it (states never are). */
const SLOW_SOCKET_BYTES = 1_048_576;

const TERMINAL: ReadonlySet<ApiJobState> = new Set(['completed', 'failed', 'cancelled']);
/** Order of states within an attempt, to drop events the snapshot already includes. */
const STATE_RANK: Record<ApiJobState, number> = { waiting: 0, delayed: 0, active: 1, completed: 2, failed: 2, cancelled: 2 };

interface Sent {
  state?: ApiJobState;
  rank?: [number, number, number];
}

/**
 * One socket's subscriptions. On subscribe the job's current state is read and sent as a snapshot; events that
 * arrive while it is read are held and then delivered unless the snapshot already covers them, so a client
 * (new or reconnecting) sees the current state first and every later change once, in order.
 */
export class WsSession {
  readonly #socket: SessionSocket;
  readonly #source: JobSource;
  readonly #log: FastifyBaseLogger;
  readonly #stop: () => void;
  readonly #jobs = new Set<string>();
  #all = false;
  /** events held while a snapshot is read: per job id, and '*' for the all-subscription */
  readonly #held = new Map<string, FeedEvent[]>();
  readonly #sent = new Map<string, Sent>();

  constructor(socket: SessionSocket, feed: JobFeed, source: JobSource, log: FastifyBaseLogger) {
    this.#socket = socket;
    this.#source = source;
    this.#log = log;
    this.#stop = feed.listen((event) => this.#onFeed(event));
    socket.on('message', (data, isBinary) => void this.#onMessage(data, isBinary));
    socket.on('close', () => this.#stop());
  }

  #send(message: ServerMessage): void {
    if (this.#socket.readyState === OPEN) this.#socket.send(JSON.stringify(message));
  }

  #error(code: string, message: string, jobId?: string): void {
    this.#send({ type: 'error', error: { code, message }, ...(jobId === undefined ? {} : { jobId }) });
  }

  async #onMessage(data: unknown, isBinary: boolean): Promise<void> {
    if (isBinary) return this.#error('WS_MESSAGE_INVALID', 'send JSON text frames');
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      return this.#error('WS_MESSAGE_INVALID', 'not JSON');
    }
    if (!Value.Check(ClientMessage, message)) {
      return this.#error('WS_MESSAGE_INVALID', 'expected {"type":"subscribe","jobId":"…"}, {"type":"subscribe","all":true}, the same with "unsubscribe", or {"type":"ping"}');
    }
    const m = message as ClientMessage;
    try {
      if (m.type === 'ping') return this.#send({ type: 'pong' });
      if (m.type === 'subscribe') return await ('jobId' in m ? this.#subscribeJob(m.jobId) : this.#subscribeAll());
      if ('jobId' in m) {
        this.#jobs.delete(m.jobId);
        if (!this.#all) this.#sent.delete(m.jobId);
      } else {
        this.#all = false;
        for (const id of this.#sent.keys()) if (!this.#jobs.has(id)) this.#sent.delete(id);
      }
      this.#send({ type: 'unsubscribed', subscription: 'jobId' in m ? { jobId: m.jobId } : { all: true } });
    } catch (error) {
      this.#log.warn({ err: error }, 'websocket subscription failed');
      this.#error('API_QUEUE_UNAVAILABLE', 'the job queue (Redis) is not reachable; try again later', 'jobId' in m ? m.jobId : undefined);
    }
  }

  async #subscribeJob(jobId: string): Promise<void> {
    if (!this.#jobs.has(jobId) && this.#jobs.size >= MAX_SUBSCRIPTIONS) {
      return this.#error('WS_TOO_MANY_SUBSCRIPTIONS', `at most ${MAX_SUBSCRIPTIONS} job subscriptions per socket; subscribe to all instead`, jobId);
    }
    this.#jobs.add(jobId);
    this.#held.set(jobId, []);
    let view: JobView | null;
    try {
      view = await this.#source.load(jobId);
    } catch (error) {
      this.#jobs.delete(jobId);
      this.#held.delete(jobId);
      throw error;
    }
    const held = this.#held.get(jobId) ?? [];
    this.#held.delete(jobId);
    if (!view) {
      this.#jobs.delete(jobId);
      return this.#error('API_JOB_NOT_FOUND', `no job "${jobId}"`, jobId);
    }
    this.#send({ type: 'snapshot', subscription: { jobId }, jobs: [view] });
    this.#markSnapshot(view);
    this.#flush(held, new Map([[jobId, view]]));
  }

  async #subscribeAll(): Promise<void> {
    this.#all = true;
    const held: FeedEvent[] = [];
    this.#held.set('*', held);
    let views: JobView[];
    try {
      views = await this.#source.unfinished();
    } finally {
      this.#held.delete('*');
    }
    this.#send({ type: 'snapshot', subscription: { all: true }, jobs: views });
    for (const view of views) this.#markSnapshot(view);
    this.#flush(held, new Map(views.map((v) => [v.id, v])));
  }

  #markSnapshot(view: JobView): void {
    this.#sent.set(view.id, { state: view.state, ...(view.progress ? { rank: progressRank(view.progress) } : {}) });
  }

  /** Delivers held events the snapshot does not already cover (older states are dropped, the rest deduplicated). */
  #flush(held: FeedEvent[], snapshot: Map<string, JobView>): void {
    for (const event of held) {
      const view = snapshot.get(event.jobId);
      if (view) {
        if (TERMINAL.has(view.state)) continue;
        if (event.type === 'state' && STATE_RANK[event.state] < STATE_RANK[view.state]) continue;
      }
      this.#deliver(event);
    }
  }

  #onFeed(event: FeedEvent): void {
    const mine = this.#jobs.has(event.jobId);
    if (!mine && !this.#all) return;
    const held = this.#held.get(event.jobId) ?? (!mine ? this.#held.get('*') : undefined);
    if (held) held.push(event);
    else this.#deliver(event);
  }

  #deliver(event: FeedEvent): void {
    const sent = this.#sent.get(event.jobId) ?? {};
    if (event.type === 'progress') {
      // progress trailing a finished job, or older than what the client has, is dropped
      if (sent.state && TERMINAL.has(sent.state)) return;
      const rank = progressRank(event.progress);
      if (sent.rank && isBehind(rank, sent.rank)) return;
      if (this.#socket.bufferedAmount > SLOW_SOCKET_BYTES) return;
      sent.rank = rank;
    } else if (event.type === 'state') {
      if (sent.state === event.state) return;
      sent.state = event.state;
    }
    this.#send(event);
    const finished = event.type === 'removed' || (event.type === 'state' && TERMINAL.has(event.state));
    // the all-subscription forgets finished jobs so its memory stays bounded
    if (finished && !this.#jobs.has(event.jobId)) this.#sent.delete(event.jobId);
    else this.#sent.set(event.jobId, sent);
  }
}
