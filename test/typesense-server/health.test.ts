// Contract §1.1: GET /health, and its 503 `{"ok":false}` when the node is not alive.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localOnly, targetServer, type ContractTarget } from './target-server.js';

describe('GET /health (§1.1)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  test('answers 200 {"ok":true} without a key', async () => {
    const res = await target.request('GET', '/health', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    assert.equal(res.text, '{"ok":true}');
  });

  test('answers 503 {"ok":false} while faulted', localOnly, async () => {
    target.local?.faults.inject({ kind: '503', count: 1, match: { pathPrefix: '/health' } });
    const res = await target.request('GET', '/health', { key: null });
    assert.equal(res.status, 503);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    assert.equal(res.text, '{"ok":false}');
    assert.equal((await target.request('GET', '/health')).status, 200, 'only one request was faulted');
  });

  test('can say ok while writes get 503 Not Ready or Lagging (#833)', localOnly, async () => {
    target.local?.faults.inject({ kind: '503', count: 1 });
    assert.equal((await target.request('GET', '/health')).text, '{"ok":true}', 'health is exempt from the readiness check');
    const write = await target.request('POST', '/collections', { body: { name: target.name('x'), fields: [] } });
    assert.equal(write.status, 503);
    assert.equal(write.text, '{ "message": "Not Ready or Lagging"}');
  });
});
