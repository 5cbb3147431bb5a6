// Contract §1.4: single-document endpoints, delete/update by filter, export.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectionNotFound } from './messages.js';
import { createParts, importLines, localOnly, targetServer, type ContractTarget } from './target-server.js';

const DOCS = [
  { id: 'a', title: 'red bolt', rank: 1, price: 1.5, tags: ['metal'], active: true },
  { id: 'b', title: 'blue bolt', rank: 2, price: 2.5, tags: ['metal', 'blue'], active: false },
  { id: 'c', title: 'red nut', rank: 3, price: 3.5, tags: ['plastic'] },
  { id: 'd', title: 'green washer', rank: 4, price: 10 },
];

describe('documents (§1.4)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  async function seeded(label: string): Promise<string> {
    const name = await createParts(target, label);
    const res = await importLines(target, name, DOCS);
    assert.equal(res.text, DOCS.map(() => '{"success":true}').join('\n'));
    return name;
  }

  test('POST ?action= answers 201 with the stored document; failures use the line code', async () => {
    const name = await createParts(target, 'single');
    const path = `/collections/${name}/documents`;
    const created = await target.request('POST', path, { body: { id: '1', title: 'x', rank: 1 } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json(), { id: '1', title: 'x', rank: 1 });
    const again = await target.request('POST', path, { body: { id: '1', title: 'x', rank: 1 } });
    assert.equal(again.status, 409);
    assert.equal(again.text, '{"message": "A document with id 1 already exists."}');
    const bad = await target.request('POST', path, { body: { id: '2', title: 1, rank: 1 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"message": "Field `title` must be a string."}');
    const missing = await target.request('POST', `${path}?action=update`, { body: { id: '9', rank: 1 } });
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '{"message": "Could not find a document with id: 9"}');
    const update = await target.request('POST', `${path}?action=update`, { body: { id: '1', rank: 2 } });
    assert.equal(update.status, 201);
    assert.deepEqual(update.json(), { id: '1', title: 'x', rank: 2 }, 'the merged document');
    const upsert = await target.request('POST', `${path}?action=upsert`, { body: { id: '1', title: 'y', rank: 3 } });
    assert.equal(upsert.status, 201);
    assert.deepEqual(upsert.json(), { id: '1', title: 'y', rank: 3 });
  });

  test('GET, PATCH and DELETE by id', async () => {
    const name = await seeded('byid');
    const path = `/collections/${name}/documents`;
    const got = await target.request('GET', `${path}/a`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json(), DOCS[0]);
    const missing = await target.request('GET', `${path}/zz`);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '{"message": "Could not find a document with id: zz"}');

    const patched = await target.request('PATCH', `${path}/a`, { body: { rank: 9 } });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json(), { ...DOCS[0], rank: 9 });
    assert.equal((await target.request('PATCH', `${path}/zz`, { body: { rank: 9 } })).status, 404);
    assert.equal((await target.request('PATCH', `${path}/a`, { body: { rank: 'x' } })).status, 400);

    const deleted = await target.request('DELETE', `${path}/b`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json(), DOCS[1]);
    const gone = await target.request('DELETE', `${path}/b`);
    assert.equal(gone.status, 404);
    assert.equal(gone.text, '{"message": "Could not find a document with id: b"}');
    const ignored = await target.request('DELETE', `${path}/b?ignore_not_found=true`);
    assert.equal(ignored.status, 200);
    assert.deepEqual(ignored.json(), { id: 'b' });
  });

  test('a missing collection is 404 with the version text', async () => {
    const res = await target.request('GET', `/collections/${target.name('none')}/documents/a`);
    assert.equal(res.status, 404);
    assert.equal(res.text, `{"message": "${collectionNotFound(target.version)}"}`);
  });

  test('delete by filter supports the subset the reindexer needs', async () => {
    const cases: [string, string[]][] = [
      ['rank:=2', ['b']],
      ['rank:[1,3]', ['a', 'c']],
      ['rank:>2', ['c', 'd']],
      ['rank:<2', ['a']],
      ['rank:>=2 && rank:<=3', ['b', 'c']],
      ['rank:[2..3]', ['b', 'c']],
      ['rank:!=1', ['b', 'c', 'd']],
      ['price:>3 && tags:=plastic', ['c']],
      ['rank:1 || rank:4', ['a', 'd']],
      ['id:[a,d]', ['a', 'd']],
      ['title:=`red nut`', ['c']],
      ['title:red', ['a', 'c']],
      ['active:true', ['a']],
      ['tags:!=[metal]', ['c', 'd']],
    ];
    for (const [filter, expected] of cases) {
      const name = await seeded('filter');
      const res = await target.request('DELETE', `/collections/${name}/documents?filter_by=${encodeURIComponent(filter)}`);
      assert.equal(res.status, 200, filter);
      assert.deepEqual(res.json(), { num_deleted: expected.length }, filter);
      const left = (await target.request('GET', `/collections/${name}/documents/export`)).text.split('\n').filter((l) => l !== '');
      const remaining = left.map((line) => (JSON.parse(line) as { id: string }).id);
      assert.deepEqual(remaining, DOCS.map((d) => d.id).filter((id) => !expected.includes(id)), filter);
      await target.request('DELETE', `/collections/${name}`);
    }
  });

  test('delete by filter errors: no filter_by, unknown field', async () => {
    const name = await seeded('filter_errors');
    const none = await target.request('DELETE', `/collections/${name}/documents`);
    assert.equal(none.status, 400);
    assert.equal(none.text, '{"message": "Parameter `filter_by` must be provided."}');
    const unknown = await target.request('DELETE', `/collections/${name}/documents?filter_by=${encodeURIComponent('color:=red')}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.text, '{"message": "Could not find a filter field named `color` in the schema."}');
  });

  test('truncate=true deletes everything from v28 on', async () => {
    const name = await seeded('truncate');
    const res = await target.request('DELETE', `/collections/${name}/documents?truncate=true`);
    if (target.version >= 28) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { num_deleted: DOCS.length });
    } else {
      assert.equal(res.status, 400, 'v27 ignores truncate and wants filter_by');
    }
  });

  test('update by filter answers num_updated', async () => {
    const name = await seeded('update_filter');
    const res = await target.request('PATCH', `/collections/${name}/documents?filter_by=${encodeURIComponent('rank:>2')}`, { body: { active: true } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { num_updated: 2 });
    assert.equal(((await target.request('GET', `/collections/${name}/documents/d`)).json() as { active: boolean }).active, true);
    const none = await target.request('PATCH', `/collections/${name}/documents`, { body: { active: true } });
    assert.equal(none.status, 400);
  });

  test('export: JSONL in storage order, sorted keys, no trailing newline; empty collection → empty body', async () => {
    const name = await seeded('export');
    await importLines(target, name, '{"id":"a","title":"red bolt","rank":5}', '?action=upsert');
    const res = await target.request('GET', `/collections/${name}/documents/export`);
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'text/plain; charset=utf-8');
    assert.ok(!res.text.endsWith('\n'));
    const lines = res.text.split('\n');
    assert.equal(lines.length, DOCS.length);
    assert.equal(lines[0], '{"id":"a","rank":5,"title":"red bolt"}', 'an upsert keeps its place; keys sorted');
    assert.equal(lines[3], '{"id":"d","price":10,"rank":4,"title":"green washer"}');
    const filtered = await target.request('GET', `/collections/${name}/documents/export?filter_by=${encodeURIComponent('rank:<3')}&include_fields=id,rank`);
    assert.equal(filtered.text, '{"id":"b","rank":2}');

    const empty = await createParts(target, 'export_empty');
    const nothing = await target.request('GET', `/collections/${empty}/documents/export`);
    assert.equal(nothing.status, 200);
    assert.equal(nothing.text, '');
    const missing = await target.request('GET', `/collections/${target.name('none')}/documents/export`);
    assert.equal(missing.status, 404);
    assert.equal(missing.contentType, 'application/json; charset=utf-8');
  });

  test('truncate is ignored by v27', localOnly, async () => {
    target.local?.setVersion(27);
    try {
      const name = await seeded('truncate27');
      const res = await target.request('DELETE', `/collections/${name}/documents?truncate=true`);
      assert.equal(res.status, 400);
      assert.equal(res.text, '{"message": "Parameter `filter_by` must be provided."}');
    } finally {
      target.local?.setVersion(29);
    }
  });
});
