// Contract §1.5: aliases, name conflicts, resolution through aliases on collection-scoped endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectionNotFound } from './messages.js';
import { createParts, importLines, targetServer, type ContractTarget } from './target-server.js';

describe('aliases (§1.5)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  const put = (alias: string, body: unknown) => target.request('PUT', `/aliases/${alias}`, { body });

  test('PUT echoes the body plus name and does not check the target exists', async () => {
    const alias = target.name('a1');
    const missing = target.name('not_created');
    const res = await put(alias, { collection_name: missing });
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    assert.equal(res.text, `{"collection_name":"${missing}","name":"${alias}"}`);
  });

  test('PUT is an upsert: the swap replaces the target', async () => {
    const first = await createParts(target, 'swap_old');
    const second = await createParts(target, 'swap_new');
    const alias = target.name('swap');
    await put(alias, { collection_name: first });
    assert.equal((await put(alias, { collection_name: second })).status, 200);
    assert.deepEqual((await target.request('GET', `/aliases/${alias}`)).json(), { name: alias, collection_name: second });
  });

  test('PUT errors: bad JSON, no collection_name, a real collection of that name (500)', async () => {
    const alias = target.name('errs');
    const bad = await target.request('PUT', `/aliases/${alias}`, { body: '{' });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"message": "Bad JSON."}');
    const none = await put(alias, { other: 1 });
    assert.equal(none.status, 400);
    assert.equal(none.text, '{"message": "Parameter `collection_name` is required."}');
    const existing = await createParts(target, 'plain');
    const conflict = await put(existing, { collection_name: existing });
    assert.equal(conflict.status, 500);
    assert.equal(conflict.text, `{"message": "Name \`${existing}\` conflicts with an existing collection name."}`);
  });

  test('GET, list and DELETE; missing aliases are 404', async () => {
    const alias = target.name('life');
    const collection = target.name('life_target');
    await put(alias, { collection_name: collection });
    const list = (await target.request('GET', '/aliases')).json() as { aliases: { name: string; collection_name: string }[] };
    assert.deepEqual(list.aliases.find((a) => a.name === alias), { name: alias, collection_name: collection });
    const deleted = await target.request('DELETE', `/aliases/${alias}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json(), { name: alias, collection_name: collection });
    for (const method of ['GET', 'DELETE']) {
      const res = await target.request(method, `/aliases/${alias}`);
      assert.equal(res.status, 404, method);
      assert.equal(res.text, `{"message": "${collectionNotFound(target.version)}"}`, method);
    }
  });

  test('a collection created with an alias name shadows the alias', async () => {
    const aliasTarget = await createParts(target, 'shadow_target');
    const name = target.name('shadow');
    await put(name, { collection_name: aliasTarget });
    const created = await target.request('POST', '/collections', { body: { name, fields: [{ name: 'x', type: 'string' }] } });
    assert.equal(created.status, 201, 'allowed');
    const got = (await target.request('GET', `/collections/${name}`)).json() as { name: string; fields: { name: string }[] };
    assert.deepEqual(got.fields.map((f) => f.name), ['x'], 'the real collection wins');
  });

  test('collection-scoped endpoints accept an alias', async () => {
    const collection = await createParts(target, 'scoped');
    const alias = target.name('scoped_alias');
    await put(alias, { collection_name: collection });
    const imported = await importLines(target, alias, '{"id":"1","title":"hex bolt","rank":1}');
    assert.equal(imported.text, '{"success":true}');
    assert.equal((await target.request('GET', `/collections/${alias}/documents/export`)).text, '{"id":"1","rank":1,"title":"hex bolt"}');
    assert.equal((await target.request('GET', `/collections/${alias}/documents/1`)).status, 200);
    const search = await target.request('GET', `/collections/${alias}/documents/search?q=hex&query_by=title`);
    const result = search.json() as { found: number; request_params: { collection_name: string } };
    assert.equal(result.found, 1);
    assert.equal(result.request_params.collection_name, collection);
    assert.equal((await target.request('DELETE', `/collections/${alias}/documents/1`)).status, 200);
  });
});
