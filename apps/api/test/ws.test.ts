import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AUTH, API_KEY, createTestApp, dropPrefix, testDirectories, testEnv, testPrefix, type TestDirectories } from './support/app.js';
import { wrapSocket, type RawSocket, type WsClient } from './support/ws-client.js';

describe('WebSocket /ws (injectWS)', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let dirs: TestDirectories;
  const prefix = testPrefix('ws');
  const clients: WsClient[] = [];

  before(async () => {
    dirs = await testDirectories();
    app = await createTestApp(testEnv({ prefix, ...dirs }, {
      LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/api_ws_local',
      OTHER_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/api_ws_other',
      WS_MAX_MESSAGE_BYTES: '1024',
      WS_TICKET_TTL_SECONDS: '1',
    }));
  });

  after(async () => {
    for (const c of clients) c.socket.terminate();
    await app?.close();
    await dropPrefix(prefix);
    await dirs?.remove();
  });

  async function open(url = '/ws', headers: Record<string, string> = AUTH): Promise<WsClient> {
    const client = wrapSocket((await app.injectWS(url, { headers })) as unknown as RawSocket);
    clients.push(client);
    return client;
  }

  async function startSync(): Promise<string> {
    const res = await app.inject({ method: 'POST', url: '/api/sync/sync', headers: AUTH, payload: { from: 'local', to: 'other' } });
    assert.equal(res.statusCode, 202, res.body);
    return res.json().id as string;
  }

  test('the upgrade is refused without a key, with a wrong key, and with a bad ticket', async () => {
    await assert.rejects(app.injectWS('/ws', {}), /401/);
    await assert.rejects(app.injectWS('/ws', { headers: { authorization: 'Bearer wrong' } }), /401/);
    await assert.rejects(app.injectWS('/ws?ticket=not-a-ticket-at-all-0000', {}), /401/);
  });

  test('a ticket from POST /api/ws-ticket opens one socket, once, and expires', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/ws-ticket', headers: AUTH });
    assert.equal(res.statusCode, 200);
    const { ticket, expiresAt } = res.json();
    assert.ok(Date.parse(expiresAt) > Date.now());
    const client = await open(`/ws?ticket=${ticket}`, {});
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    await assert.rejects(app.injectWS(`/ws?ticket=${ticket}`, {}), /401/, 'single use');
    const late = (await app.inject({ method: 'POST', url: '/api/ws-ticket', headers: { 'x-api-key': API_KEY } })).json().ticket;
    await new Promise((r) => setTimeout(r, 1_200));
    await assert.rejects(app.injectWS(`/ws?ticket=${late}`, {}), /401/, 'expired');
    // a ticket is only for /ws
    const other = (await app.inject({ method: 'POST', url: '/api/ws-ticket', headers: AUTH })).json().ticket;
    assert.equal((await app.inject({ url: `/api/jobs?ticket=${other}` })).statusCode, 401);
  });

  test('malformed messages get an error message and the socket stays usable', async () => {
    const client = await open();
    for (const bad of ['not json', '{"type":"subscribe"}', '{"type":"subscribe","jobId":"a b"}', '{"type":"subscribe","all":false}', '[1,2]', '{"type":"hack","jobId":"1"}']) {
      const from = client.messages.length;
      client.send(bad);
      const m = await client.next((x) => x.type === 'error', 5_000, from);
      assert.equal(m.error.code, 'WS_MESSAGE_INVALID');
    }
    client.send({ type: 'subscribe', jobId: 'no-such-job' });
    const notFound = await client.next((m) => m.type === 'error' && m.jobId === 'no-such-job');
    assert.equal(notFound.error.code, 'API_JOB_NOT_FOUND');
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
  });

  test('a frame above WS_MAX_MESSAGE_BYTES closes the socket with 1009', async () => {
    const client = await open();
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2_000) }));
    const { code } = await client.closed;
    assert.equal(code, 1009);
  });

  test('subscribe to one job: snapshot first, then its state changes; subscribe to all: every unfinished job', async () => {
    const id = await startSync();
    const one = await open();
    one.send({ type: 'subscribe', jobId: id });
    const snapshot = await one.next((m) => m.type === 'snapshot');
    assert.deepEqual(snapshot.subscription, { jobId: id });
    assert.equal(snapshot.jobs.length, 1);
    assert.equal(snapshot.jobs[0].id, id);
    assert.equal(snapshot.jobs[0].state, 'waiting');
    assert.equal(snapshot.jobs[0].type, 'sync');

    const all = await open();
    all.send({ type: 'subscribe', all: true });
    const allSnapshot = await all.next((m) => m.type === 'snapshot');
    assert.deepEqual(allSnapshot.subscription, { all: true });
    assert.ok(allSnapshot.jobs.some((j: { id: string }) => j.id === id));

    const second = await startSync();
    const added = await all.next((m) => m.type === 'state' && m.jobId === second);
    assert.equal(added.state, 'waiting');
    assert.equal(added.jobType, 'sync');
    assert.equal(one.messages.filter((m) => m.jobId === second).length, 0, 'a one-job subscription sees only its job');

    const res = await app.inject({ method: 'DELETE', url: `/api/jobs/${id}`, headers: AUTH });
    assert.equal(res.statusCode, 200);
    const cancelled = await one.next((m) => m.type === 'state' && m.jobId === id);
    assert.equal(cancelled.state, 'cancelled');
    await all.next((m) => m.type === 'state' && m.jobId === id && m.state === 'cancelled');

    one.send({ type: 'unsubscribe', jobId: id });
    await one.next((m) => m.type === 'unsubscribed');
    all.send({ type: 'unsubscribe', all: true });
    await all.next((m) => m.type === 'unsubscribed');
    await app.inject({ method: 'DELETE', url: `/api/jobs/${second}`, headers: AUTH });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(all.messages.filter((m) => m.jobId === second && m.state === 'cancelled').length, 0, 'no events after unsubscribe');
  });

  test('one QueueEvents feeds every socket', async () => {
    const sockets = await Promise.all([open(), open(), open()]);
    for (const s of sockets) s.send({ type: 'subscribe', all: true });
    await Promise.all(sockets.map((s) => s.next((m) => m.type === 'snapshot')));
    assert.ok(app.jobFeed.listenerCount >= 3);
    assert.equal(app.jobQueue.events?.listenerCount('progress'), 1, 'one progress listener on the single QueueEvents');
  });
});

describe('WebSocket shutdown', () => {
  test('closing the app closes sockets with 1001 and a reason', async (t) => {
    const dirs = await testDirectories();
    const prefix = testPrefix('ws-close');
    t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
    const app = await createTestApp(testEnv({ prefix, ...dirs }));
    const client = wrapSocket((await app.injectWS('/ws', { headers: AUTH })) as unknown as RawSocket);
    await app.close();
    assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
  });
});
