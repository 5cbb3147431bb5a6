// Contract §1.0: request pipeline order, auth, error bodies, content types, key order, gzip.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FORBIDDEN_MESSAGE } from './messages.js';
import { createParts, localOnly, targetServer, type ContractTarget } from './target-server.js';

const JSON_TYPE = 'application/json; charset=utf-8';

describe('request pipeline (§1.0)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  test('an unknown route gets 404 `{ "message": "Not Found"}` before auth', async () => {
    for (const [method, path] of [['GET', '/nope'], ['PUT', '/collections'], ['GET', '/collections/x/nope']] as const) {
      const res = await target.request(method, path, { key: null });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.contentType, JSON_TYPE);
      assert.equal(res.text, '{ "message": "Not Found"}');
    }
  });

  test('a missing or wrong key gets 401 with the exact text', async () => {
    const expected = `{"message": "${FORBIDDEN_MESSAGE}"}`;
    for (const key of [null, 'wrong']) {
      const res = await target.request('GET', '/collections', { key });
      assert.equal(res.status, 401);
      assert.equal(res.contentType, JSON_TYPE);
      assert.equal(res.text, expected);
    }
  });

  test('the key header is matched case-insensitively and the query parameter is a fallback', async () => {
    const header = await target.request('GET', '/collections', { key: null, headers: { 'x-typesense-api-key': target.apiKey } });
    assert.equal(header.status, 200);
    const query = await target.request('GET', `/collections?x-typesense-api-key=${encodeURIComponent(target.apiKey)}`, { key: null });
    assert.equal(query.status, 200);
  });

  test('GET /health needs no key', async () => {
    const res = await target.request('GET', '/health', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.contentType, JSON_TYPE);
    assert.equal(res.text, '{"ok":true}');
  });

  test('JSON output has its keys in alphabetical order', async () => {
    const name = await createParts(target, 'sorted');
    const res = await target.request('GET', `/collections/${name}`);
    const keys = [...res.text.matchAll(/"([a-z_]+)":/g)].map((m) => m[1]);
    const topLevel = Object.keys(res.json() as object);
    assert.deepEqual(topLevel, [...topLevel].sort());
    const fieldKeys = keys.slice(keys.indexOf('fields') + 1, keys.indexOf('fields') + 11);
    assert.deepEqual(fieldKeys, [...fieldKeys].sort());
  });

  test('errors are `{"message": "…"}` JSON (space after the colon)', async () => {
    const res = await target.request('POST', '/collections', { body: 'not json' });
    assert.equal(res.status, 400);
    assert.equal(res.contentType, JSON_TYPE);
    assert.equal(res.text, '{"message": "Bad JSON."}');
  });

  test('path parameters are URL-decoded', async () => {
    const name = target.name('with space');
    assert.equal((await target.request('POST', '/collections', { body: { name, fields: [{ name: 'a', type: 'string' }] } })).status, 201);
    const res = await target.request('GET', `/collections/${encodeURIComponent(name)}`);
    assert.equal(res.status, 200);
    assert.equal((res.json() as { name: string }).name, name);
  });

  test('gzip request bodies are accepted on writes', async () => {
    const name = target.name('gzip');
    const created = await target.request('POST', '/collections', { body: { name, fields: [{ name: 'a', type: 'string' }] }, gzip: true });
    assert.equal(created.status, 201);
    const res = await target.request('POST', `/collections/${name}/documents/import`, { body: '{"a":"x"}\n{"a":"y"}', gzip: true });
    assert.equal(res.text, '{"success":true}\n{"success":true}');
  });

  test('readiness (503) is checked after routing and before auth', localOnly, async () => {
    const server = target.local;
    assert.ok(server);
    server.faults.inject({ kind: '503', count: 2 });
    const unknown = await target.request('GET', '/nope', { key: null });
    assert.equal(unknown.status, 404, 'route check comes first and does not consume the fault');
    const res = await target.request('GET', '/collections', { key: null });
    assert.equal(res.status, 503);
    assert.equal(res.contentType, JSON_TYPE);
    assert.equal(res.text, '{ "message": "Not Ready or Lagging"}');
    assert.equal((await target.request('GET', '/collections', { key: 'wrong' })).status, 503);
    assert.equal((await target.request('GET', '/collections', { key: null })).status, 401);
  });
});
