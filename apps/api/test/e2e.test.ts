import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createItemsDatabase, createReplaceableTarget, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { API_KEY, TEST_REDIS_URL, dropPrefix, testDirectories, testPrefix, type TestDirectories } from './support/app.js';
import { freePort, startService, type ChildService } from './support/processes.js';
import { connectWs, type Message, type WsClient } from './support/ws-client.js';

const AUTH = { authorization: `Bearer ${API_KEY}` };

/** A source with a few column types, a foreign key and a sequence (100 items, 10 kinds); a target holding something a sync replaces. */
function createDatabases(): Promise<[TestDatabase, TestDatabase]> {
  return Promise.all([createItemsDatabase('api_e2e_src', 100), createReplaceableTarget('api_e2e_tgt')]);
}

describe('end to end: real api and worker processes', { timeout: 120_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dirs: TestDirectories;
  let api: ChildService;
  let worker: ChildService;
  let base: string;
  const prefix = testPrefix('e2e');
  const clients: WsClient[] = [];

  before(async () => {
    [source, target] = await createDatabases();
    dirs = await testDirectories();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const shared = {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      DUMP_DIRECTORY: dirs.dumps,
      BACKUP_DIRECTORY: dirs.backups,
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: target.url,
      LOG_LEVEL: 'info',
    };
    worker = startService('apps/worker/src/main.ts', {
      ...shared,
      WORKER_SHUTDOWN_GRACE_MS: '1000',
      WORKER_CANCEL_POLL_MS: '300',
      WORKER_LOCK_DURATION_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_PROGRESS_INTERVAL_MS: '50',
    });
    api = startService('apps/api/src/main.ts', { ...shared, API_KEYS: API_KEY, PORT: String(port), HOST: '127.0.0.1', API_SHUTDOWN_GRACE_MS: '5000' });
    await Promise.all([worker.waitForLog((l) => l.msg === 'worker ready'), api.waitForLog((l) => /^Server listening at/.test(l.msg ?? ''))]);
  });

  after(async () => {
    for (const c of clients) c.socket.terminate();
    await Promise.all([api?.kill(), worker?.kill()]);
    await dropPrefix(prefix);
    await Promise.all([source?.drop(), target?.drop(), dirs?.remove()]);
  });

  async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: Message }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Message };
  }

  test('a sync started over HTTP is followed on the WebSocket from queued to completed; a late client gets the current state first', async () => {
    assert.equal((await fetch(`${base}/health`)).status, 200);
    assert.equal((await http('GET', '/ready')).status, 200);

    // hold the source table so the job stays active (its export waits for the lock) while the second client joins
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    const lock = source.sql.begin(async (tx) => {
      await tx`LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE`;
      locked();
      await held;
    });
    await lockTaken;

    const first = await connectWs(`${base.replace('http', 'ws')}/ws`, AUTH);
    clients.push(first);
    first.send({ type: 'subscribe', all: true });
    await first.next((m) => m.type === 'snapshot');

    const started = await http('POST', '/api/sync/sync', { from: 'source', to: 'local', acceptDataLoss: true });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const id = started.json.id as string;
    const mine = (m: Message) => m.jobId === id;

    await first.next((m) => mine(m) && m.type === 'state' && m.state === 'waiting');
    await first.next((m) => mine(m) && m.type === 'state' && m.state === 'active');

    // the second client joins mid-job through a ticket, as a browser would
    const { json: ticket } = await http('POST', '/api/ws-ticket');
    const second = await connectWs(`${base.replace('http', 'ws')}/ws?ticket=${ticket.ticket}`);
    clients.push(second);
    second.send({ type: 'subscribe', jobId: id });
    const snapshot = await second.next(() => true);
    assert.equal(snapshot.type, 'snapshot', 'the first message is the snapshot');
    assert.equal(snapshot.jobs[0].id, id);
    assert.equal(snapshot.jobs[0].state, 'active');
    assert.equal(snapshot.jobs[0].type, 'sync');

    release();
    await lock;
    const done = await first.next((m) => mine(m) && m.type === 'state' && ['completed', 'failed', 'cancelled'].includes(m.state), 60_000);
    assert.equal(done.state, 'completed', JSON.stringify(done));
    assert.equal(done.percent, 100);
    assert.equal(done.result.type, 'sync');
    const late = await second.next((m) => m.type === 'state' && m.state === 'completed', 10_000);
    assert.equal(late.percent, 100);

    // what the first client saw of this job: queued → active → progress rising → completed, in order
    const seen = first.messages.filter(mine);
    const states = seen.filter((m) => m.type === 'state').map((m) => m.state);
    assert.deepEqual(states, ['waiting', 'active', 'completed']);
    const progress = seen.filter((m) => m.type === 'progress');
    assert.ok(progress.length >= 3, `only ${progress.length} progress messages`);
    const percents = [...progress.map((m) => m.percent as number), done.percent as number];
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, `percent went back: ${percents.join(', ')}`);
    assert.ok(percents[0]! < 100);
    assert.ok(seen.indexOf(done) > seen.indexOf(progress.at(-1)!), 'completed comes after the last progress');
    assert.deepEqual(new Set(progress.map((m) => m.progress.phase)), new Set(['export', 'validate', 'backup', 'import', 'verify']));
    // the second client's messages after its snapshot are as ordered
    const secondPercents = second.messages.filter((m) => m.type === 'progress').map((m) => m.percent as number);
    for (let i = 1; i < secondPercents.length; i++) assert.ok(secondPercents[i]! >= secondPercents[i - 1]!);

    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));

    const view = await http('GET', `/api/jobs/${id}`);
    assert.equal(view.json.state, 'completed');
    assert.equal(view.json.percent, 100);
    assert.equal(view.json.result.import.rows, 110);
    assert.equal((await http('DELETE', `/api/jobs/${id}`)).status, 409);
  });

  test('SIGTERM: the api closes sockets with 1001 and exits 0; nothing secret was logged', async () => {
    const client = await connectWs(`${base.replace('http', 'ws')}/ws`, { 'x-api-key': API_KEY });
    clients.push(client);
    api.child.kill('SIGTERM');
    assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    assert.equal((await api.exited).code, 0);
    const log = JSON.stringify(api.logs) + api.stderr();
    assert.ok(!log.includes(API_KEY), 'the API key is not in the log');
    assert.ok(!log.includes(source.url) && !log.includes(target.url), 'no connection string in the log');
    assert.ok(api.logs.some((l) => l.msg === 'api stopped'));
  });
});
