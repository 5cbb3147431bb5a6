import { freePort, startService, type ChildService } from './service-process.js';

/** A JSON answer of the api. */
export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** An api and a worker started as child processes against the same Redis queue, and a client for the api. */
export interface RunningServices {
  /** http://127.0.0.1:<port> */
  base: string;
  api: ChildService;
  worker: ChildService;
  /** a request with the API key; `body` is sent as JSON */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** polls GET /api/jobs/:id until `done(view)` (default: a finished state); returns that view */
  waitForJob(id: string, done?: (view: ApiAnswer['json']) => boolean, timeoutMs?: number): Promise<ApiAnswer['json']>;
  /** SIGKILLs both (the callers drop their queue prefix and databases) */
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  /** variables both processes get (REDIS_URL, QUEUE_PREFIX, the environments, the directories…) */
  env: Record<string, string>;
  /** the api's own on top (API_KEYS or API_KEY is needed) */
  apiEnv?: Record<string, string>;
  /** the worker's own on top */
  workerEnv?: Record<string, string>;
  /** the key `request` sends */
  apiKey: string;
}

const FINISHED = ['completed', 'failed', 'cancelled'];

/**
 * Starts `apps/worker/src/main.ts` and `apps/api/src/main.ts` (tsx, from the repository root) and waits until the
 * worker is ready and the api listens. Worker settings default to quick ones for tests (cancel polling, lock
 * duration, progress interval); the callers' own win.
 */
export async function startServices(options: StartServicesOptions): Promise<RunningServices> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const worker = startService('apps/worker/src/main.ts', {
    WORKER_SHUTDOWN_GRACE_MS: '1000',
    WORKER_CANCEL_POLL_MS: '300',
    WORKER_LOCK_DURATION_MS: '4000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_PROGRESS_INTERVAL_MS: '50',
    LOG_LEVEL: 'info',
    ...options.env,
    ...options.workerEnv,
  });
  const api = startService('apps/api/src/main.ts', { LOG_LEVEL: 'info', RATE_LIMIT_MAX: '1000', ...options.env, PORT: String(port), HOST: '127.0.0.1', ...options.apiEnv });
  try {
    await Promise.all([worker.waitForLog((l) => l.msg === 'worker ready', 60_000), api.waitForLog((l) => /^Server listening at/.test(l.msg ?? ''), 60_000)]);
  } catch (error) {
    await Promise.all([api.kill(), worker.kill()]);
    throw error;
  }
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${options.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: parseJson(text) };
  };
  return {
    base,
    api,
    worker,
    request,
    async waitForJob(id, done = (view) => FINISHED.includes(view.state), timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answer = await request('GET', `/api/jobs/${id}`);
        if (answer.status === 200 && done(answer.json)) return answer.json;
        if (Date.now() > deadline) throw new Error(`job ${id}: not there within ${timeoutMs} ms; last answer ${answer.status} ${JSON.stringify(answer.json).slice(0, 1500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await Promise.all([api.kill(), worker.kill()]);
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}
