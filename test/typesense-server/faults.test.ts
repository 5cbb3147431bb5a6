// Fault injection and down/up, for the reindexer's retry tests (contract §3 "Common complaints").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createParts, importLines, localOnly, targetServer, type ContractTarget } from './target-server.js';
import type { TypesenseServer } from './server.js';

describe('fault injection', localOnly, () => {
  let target: ContractTarget;
  let server: TypesenseServer;
  before(async () => {
    target = await targetServer();
    assert.ok(target.local);
    server = target.local;
  });
  after(() => target.close());

  test('503 for the next N matching requests, then normal service; nothing is applied', async () => {
    const name = await createParts(target, 'f503');
    server.faults.inject({ kind: '503', count: 2, match: { method: 'post', pathPrefix: `/collections/${name}/documents/import` } });
    assert.equal((await target.request('GET', `/collections/${name}`)).status, 200, 'other requests are not matched');
    for (let i = 0; i < 2; i++) {
      const res = await importLines(target, name, '{"id":"1","title":"a","rank":1}');
      assert.equal(res.status, 503);
      assert.equal(res.text, '{ "message": "Not Ready or Lagging"}');
    }
    assert.equal(server.state.collections.get(name)?.documents.size, 0);
    assert.equal(server.faults.pending, 0);
    assert.equal((await importLines(target, name, '{"id":"1","title":"a","rank":1}')).text, '{"success":true}');
    assert.deepEqual(server.requests.slice(-3).map((r) => [r.status, r.fault]), [[503, '503'], [503, '503'], [200, undefined]]);
  });

  test('drop destroys the connection before the body is read: the write is not applied', async () => {
    const name = await createParts(target, 'fdrop');
    server.faults.inject({ kind: 'drop', match: { pathPrefix: `/collections/${name}/documents/import` } });
    await assert.rejects(importLines(target, name, '{"id":"1","title":"a","rank":1}'), TypeError);
    assert.equal(server.state.collections.get(name)?.documents.size, 0);
  });

  test('reset applies the write, then resets the connection instead of answering', async () => {
    const name = await createParts(target, 'freset');
    server.faults.inject({ kind: 'reset', match: { pathPrefix: `/collections/${name}/documents/import` } });
    await assert.rejects(importLines(target, name, '{"id":"1","title":"a","rank":1}'), TypeError);
    assert.equal(server.state.collections.get(name)?.documents.size, 1, 'a retried create would now get 409');
    const retry = await importLines(target, name, '{"id":"1","title":"a","rank":1}');
    assert.equal(retry.text, '{"code":409,"error":"A document with id 1 already exists.","success":false}');
  });

  test('latency delays matching requests by ms', async () => {
    server.faults.inject({ kind: 'latency', ms: 150, count: 1, match: { pathPrefix: '/health' } });
    const started = Date.now();
    assert.equal((await target.request('GET', '/health')).status, 200);
    assert.ok(Date.now() - started >= 140, `took ${Date.now() - started} ms`);
  });

  test('down refuses connections on the same port until up; data survives', async () => {
    const name = await createParts(target, 'fdown');
    const { port } = server;
    await server.down();
    assert.equal(server.listening, false);
    const cause = async (): Promise<string | undefined> => {
      const error = await target.request('GET', '/health').then(() => undefined, (e: unknown) => e as Error);
      assert.ok(error instanceof TypeError, 'fetch fails');
      return (error.cause as { code?: string }).code;
    };
    // A keep-alive socket pooled before down() may fail once with a socket error; then connections are refused.
    await cause();
    assert.equal(await cause(), 'ECONNREFUSED');
    await server.up();
    assert.equal(server.port, port);
    assert.equal((await target.request('GET', `/collections/${name}`)).status, 200);
  });

  test('clear removes queued faults; invalid counts are refused', async () => {
    server.faults.inject({ kind: '503', count: Infinity });
    assert.equal(server.faults.pending, Infinity);
    server.faults.clear();
    assert.equal((await target.request('GET', '/collections')).status, 200);
    assert.throws(() => server.faults.inject({ kind: 'drop', count: 0 }), RangeError);
  });

  test('close cancels a pending latency fault', async () => {
    const local = await import('./server.js').then((m) => m.createTypesenseServer());
    local.faults.inject({ kind: 'latency', ms: 60_000 });
    const pending = fetch(`${local.url}/health`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await local.close();
    assert.ok(Date.now() - started < 1000);
    assert.ok((await pending) instanceof Error);
  });
});
