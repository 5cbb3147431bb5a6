// Contract §1.3: POST /collections/:name/documents/import — results, parameters, id rules, typing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectionNotFound } from './messages.js';
import { createParts, importLines, targetServer, type ContractTarget } from './target-server.js';

describe('documents import (§1.3)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  /** Imports into a fresh parts collection and returns the raw body. */
  async function importFresh(label: string, lines: string | unknown[], query = ''): Promise<string> {
    const name = await createParts(target, label);
    const res = await importLines(target, name, lines, query);
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'text/plain; charset=utf-8');
    return res.text;
  }

  test('always 200 text/plain: one line per non-empty input line, in order, no trailing newline', async () => {
    const body = '{"id":"1","title":"a","rank":1}\n\n{"id":"2","title":"b"}\n{"id":"3","title":"c","rank":3}\n';
    const text = await importFresh('basic', body);
    assert.equal(
      text,
      '{"success":true}\n' +
        '{"code":400,"error":"Field `rank` has been declared as a default sorting field, but is not found in the document.","success":false}\n' +
        '{"success":true}',
    );
  });

  test('an empty body gives 200 with an empty body', async () => {
    const name = await createParts(target, 'empty');
    const res = await importLines(target, name, '');
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
  });

  test('return_id and return_doc shape the lines; `document` on failures follows the version', async () => {
    const name = await createParts(target, 'return');
    const ok = await importLines(target, name, '{"id":"7","rank":7,"title":"x"}', '?return_id=true&return_doc=true');
    assert.equal(ok.text, '{"document":{"id":"7","rank":7,"title":"x"},"id":"7","success":true}');
    const idOnly = await importLines(target, name, '{"id":"8","rank":8,"title":"y"}', '?return_id=true');
    assert.equal(idOnly.text, '{"id":"8","success":true}');

    const badLine = '{"id":"9","title":"z"}';
    const error = '"error":"Field `rank` has been declared as a default sorting field, but is not found in the document."';
    const document = `"document":${JSON.stringify(badLine)}`;
    const withDoc = await importLines(target, name, badLine, '?return_doc=true&return_id=true');
    assert.equal(withDoc.text, `{"code":400,${document},${error},"id":"9","success":false}`);
    const plain = await importLines(target, name, badLine);
    const expected = target.version === 27 ? `{"code":400,${document},${error},"success":false}` : `{"code":400,${error},"success":false}`;
    assert.equal(plain.text, expected);
  });

  test('invalid parameters are 400 JSON; unknown ones (throwOnFail) are ignored', async () => {
    const name = await createParts(target, 'params');
    const cases: [string, string][] = [
      ['?action=replace', 'Parameter `action` must be a create|update|upsert.'],
      ['?batch_size=0', 'Parameter `batch_size` must be a positive integer.'],
      ['?batch_size=abc', 'Parameter `batch_size` must be a positive integer.'],
      ['?batch_size=-1', 'Parameter `batch_size` must be a positive integer.'],
    ];
    for (const [query, message] of cases) {
      const res = await importLines(target, name, '{"title":"a","rank":1}', query);
      assert.equal(res.status, 400, query);
      assert.equal(res.contentType, 'application/json; charset=utf-8');
      assert.equal(res.text, `{"message": "${message}"}`, query);
    }
    for (const query of ['?return_id=yes', '?return_doc=1']) {
      assert.equal((await importLines(target, name, '{"title":"a","rank":1}', query)).status, 400, query);
    }
    const ignored = await importLines(target, name, '{"title":"a","rank":1}', '?throwOnFail=true&batch_size=100&action=emplace');
    assert.equal(ignored.text, '{"success":true}');
  });

  test('a missing collection is 404 JSON', async () => {
    const res = await importLines(target, target.name('nowhere'), '{"a":1}');
    assert.equal(res.status, 404);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    assert.equal(res.text, `{"message": "${collectionNotFound(target.version)}"}`);
  });

  test('unparseable lines and non-objects fail per line', async () => {
    const text = await importFresh('badjson', 'nope\n[1,2]\n"x"\n{"title":"ok","rank":1}\r');
    const [parse, array, string, ok] = text.split('\n').map((line) => JSON.parse(line) as { code?: number; error?: string; success: boolean });
    assert.equal(parse?.code, 400);
    assert.ok(parse?.error?.startsWith('Bad JSON: [json.exception.parse_error.101]'), parse?.error);
    assert.deepEqual(array, { code: 400, error: 'Bad JSON: not a properly formed document.', success: false });
    assert.deepEqual(string, { code: 400, error: 'Bad JSON: not a properly formed document.', success: false });
    assert.deepEqual(ok, { success: true }, 'a trailing \\r is JSON whitespace');
  });

  test('id rules: string, non-empty, required for update, generated otherwise', async () => {
    const name = await createParts(target, 'ids');
    const res = await importLines(target, name, [
      { id: 5, title: 'a', rank: 1 },
      { id: '', title: 'a', rank: 1 },
      { title: 'generated', rank: 1 },
    ]);
    const lines = res.text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines[0], { code: 400, error: "Document's `id` field should be a string.", success: false });
    assert.deepEqual(lines[1], { code: 400, error: 'The `id` should not be empty.', success: false });
    assert.deepEqual(lines[2], { success: true });
    const update = await importLines(target, name, '{"title":"x"}', '?action=update');
    assert.equal(update.text, '{"code":400,"error":"For update, the `id` key must be provided.","success":false}');
    const exported = (await target.request('GET', `/collections/${name}/documents/export`)).text;
    const generated = JSON.parse(exported) as { id: unknown; title: string };
    assert.equal(generated.title, 'generated');
    assert.equal(typeof generated.id, 'string');
  });

  test('create of an existing id is 409; update of a missing id is 404; repeats inside one request', async () => {
    const name = await createParts(target, 'conflicts');
    const doc = '{"id":"1","title":"a","rank":1}';
    const twice = await importLines(target, name, `${doc}\n${doc}`);
    assert.equal(twice.text, '{"success":true}\n{"code":409,"error":"A document with id 1 already exists.","success":false}');
    const upsert = await importLines(target, name, `${doc}\n${doc}`, '?action=upsert');
    assert.equal(upsert.text, '{"success":true}\n{"success":true}');
    const update = await importLines(target, name, '{"id":"404","title":"x"}', '?action=update');
    assert.equal(update.text, '{"code":404,"error":"Could not find a document with id: 404","success":false}');
  });

  test('required fields: create/upsert/new emplace need them; update and existing emplace take partial documents', async () => {
    const name = await createParts(target, 'required');
    const missing = '{"code":400,"error":"Field `title` has been declared in the schema, but is not found in the document.","success":false}';
    for (const action of ['create', 'upsert', 'emplace']) {
      const res = await importLines(target, name, `{"id":"n-${action}","rank":1}`, `?action=${action}`);
      assert.equal(res.text, missing, action);
    }
    await importLines(target, name, '{"id":"1","title":"a","rank":1,"price":2.5}');
    const update = await importLines(target, name, '{"id":"1","rank":2}', '?action=update');
    assert.equal(update.text, '{"success":true}');
    const emplace = await importLines(target, name, '{"id":"1","price":3}', '?action=emplace');
    assert.equal(emplace.text, '{"success":true}');
    const stored = await target.request('GET', `/collections/${name}/documents/1`);
    assert.deepEqual(stored.json(), { id: '1', title: 'a', rank: 2, price: 3 });
    const upsert = await importLines(target, name, '{"id":"1","title":"b","rank":5}', '?action=upsert');
    assert.equal(upsert.text, '{"success":true}');
    assert.deepEqual((await target.request('GET', `/collections/${name}/documents/1`)).json(), { id: '1', title: 'b', rank: 5 }, 'upsert replaces');
  });

  test('null: absent on optional fields, [] on required arrays, a type error on required scalars', async () => {
    const name = target.name('nulls');
    const schema = { name, fields: [{ name: 'title', type: 'string' }, { name: 'tags', type: 'string[]' }, { name: 'note', type: 'string', optional: true }] };
    assert.equal((await target.request('POST', '/collections', { body: schema })).status, 201);
    const res = await importLines(target, name, [
      { id: 'a', title: 't', tags: null, note: null },
      { id: 'b', title: null, tags: [] },
    ]);
    assert.equal(res.text, '{"success":true}\n{"code":400,"error":"Field `title` must be a string.","success":false}');
    const stored = (await target.request('GET', `/collections/${name}/documents/a`)).json() as Record<string, unknown>;
    assert.deepEqual(stored.tags, []);
    assert.equal(stored.note ?? null, null);
  });

  test('strict typing under the default dirty_values=reject', async () => {
    const name = await createParts(target, 'types');
    const base = { title: 't', rank: 1 };
    const cases: [Record<string, unknown>, string | undefined][] = [
      [{ title: 5 }, 'Field `title` must be a string.'],
      [{ rank: '5' }, 'Field `rank` must be an int32.'],
      [{ rank: 1.5 }, 'Field `rank` must be an int32.'],
      [{ stock: '9007199254740993' }, 'Field `stock` must be an int64.'],
      [{ stock: 2.5 }, 'Field `stock` must be an int64.'],
      [{ price: '1.5' }, 'Field `price` must be a float.'],
      [{ active: 'true' }, 'Field `active` must be a bool.'],
      [{ tags: 'a' }, 'Field `tags` must be an array.'],
      [{ tags: ['a', 1] }, 'Field `tags` must be an array of string.'],
      [{ sizes: [1, '2'] }, 'Field `sizes` must be an array of int32.'],
      [{ weights: [1, 'x'] }, 'Field `weights` must be a array of float.'],
      [{ price: 2 }, undefined],
      [{ stock: 9007199254740991 }, undefined],
      [{ rank: 3000000000 }, undefined],
      [{ unindexed: { any: ['thing'] } }, undefined],
    ];
    const lines = cases.map(([fields], i) => JSON.stringify({ id: String(i), ...base, ...fields }));
    const results = (await importLines(target, name, lines.join('\n'))).text.split('\n');
    cases.forEach(([fields, error], i) => {
      const expected = error === undefined ? '{"success":true}' : `{"code":400,"error":"${error}","success":false}`;
      assert.equal(results[i], expected, JSON.stringify(fields));
    });
    const float = await importLines(target, name, '{"id":"f","title":"t","rank":5.0}');
    assert.equal(float.text, '{"code":400,"error":"Field `rank` must be an int32.","success":false}', '5.0 is a float');
    const extra = (await target.request('GET', `/collections/${name}/documents/14`)).json() as Record<string, unknown>;
    assert.deepEqual(extra.unindexed, { any: ['thing'] }, 'fields outside the schema are stored as given');
  });

  test('dirty_values=coerce_or_reject parses numeric strings (the bigint/numeric gotcha) and range-checks int32', async () => {
    const name = await createParts(target, 'coerce');
    const res = await importLines(
      target,
      name,
      [
        { id: 'a', title: 't', rank: '7', stock: '9007199254740991', price: '12.50' },
        { id: 'b', title: 't', rank: 'seven' },
        { id: 'c', title: 't', rank: 3000000000.5 },
      ],
      '?dirty_values=COERCE_OR_REJECT',
    );
    assert.equal(
      res.text,
      '{"success":true}\n' +
        '{"code":400,"error":"Field `rank` must be an int32.","success":false}\n' +
        '{"code":400,"error":"Field `rank` exceeds maximum value of int32.","success":false}',
    );
    const stored = (await target.request('GET', `/collections/${name}/documents/a`)).json() as Record<string, unknown>;
    assert.equal(stored.rank, 7);
    assert.equal(stored.stock, 9007199254740991);
    assert.equal(stored.price, 12.5);
    const fallback = await importLines(target, name, '{"id":"d","title":"t","rank":"8"}', '?dirty_values=nonsense');
    assert.equal(fallback.text, '{"code":400,"error":"Field `rank` must be an int32.","success":false}', 'invalid value → default (reject)');
  });
});
