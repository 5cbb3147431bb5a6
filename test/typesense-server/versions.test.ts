// Contract §1.8: texts and shapes that differ between v27, v28 and v29 (local server only).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createParts, importLines, localOnly, targetServer, type ContractTarget } from './target-server.js';
import type { TypesenseServer } from './server.js';

describe('version differences (§1.8)', localOnly, () => {
  let target: ContractTarget;
  let server: TypesenseServer;
  before(async () => {
    target = await targetServer();
    assert.ok(target.local);
    server = target.local;
  });
  after(() => target.close());

  test('404 text for a missing collection or alias', async () => {
    const expected = { 27: 'Not Found', 28: 'Not Found', 29: 'Collection not found' } as const;
    for (const version of [27, 28, 29] as const) {
      server.setVersion(version);
      for (const path of ['/collections/nope', '/aliases/nope', '/collections/nope/documents/export', '/collections/nope/documents/x']) {
        const res = await target.request('GET', path);
        assert.equal(res.status, 404);
        assert.equal(res.text, `{"message": "${expected[version]}"}`, `v${version} ${path}`);
      }
      const drop = await target.request('DELETE', '/collections/nope');
      assert.equal(drop.text, '{"message": "No collection with name `nope` found."}', 'same text in all versions');
    }
  });

  test('v28 search on a missing collection says "Not found."', async () => {
    const expected = { 27: 'Not Found', 28: 'Not found.', 29: 'Collection not found' } as const;
    for (const version of [27, 28, 29] as const) {
      server.setVersion(version);
      const res = await target.request('GET', '/collections/nope/documents/search?q=*');
      assert.equal(res.text, `{"message": "${expected[version]}"}`, `v${version}`);
    }
  });

  test('v27 always includes `document` on failed import lines', async () => {
    const name = await createParts(target, 'v27');
    const line = '{"id":"x","rank":1}';
    const error = '"error":"Field `title` has been declared in the schema, but is not found in the document."';
    server.setVersion(27);
    assert.equal((await importLines(target, name, line)).text, `{"code":400,"document":${JSON.stringify(line)},${error},"success":false}`);
    server.setVersion(28);
    assert.equal((await importLines(target, name, line)).text, `{"code":400,${error},"success":false}`);
  });

  test('stem_dictionary appears in field summaries from v28', async () => {
    const name = await createParts(target, 'stem');
    server.setVersion(27);
    const v27 = (await target.request('GET', `/collections/${name}`)).json() as { fields: object[] };
    assert.ok(v27.fields.every((f) => !('stem_dictionary' in f)));
    server.setVersion(28);
    const v28 = (await target.request('GET', `/collections/${name}`)).json() as { fields: object[] };
    assert.ok(v28.fields.every((f) => 'stem_dictionary' in f));
  });

  test('setVersion refuses unknown versions', () => {
    assert.throws(() => server.setVersion(30 as 29), RangeError);
    server.setVersion(29);
  });
});
