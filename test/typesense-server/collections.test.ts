// Contract §1.2: collections create/list/get/delete/patch, field defaults, summary shape, errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectionNotFound } from './messages.js';
import { createParts, targetServer, type ContractTarget } from './target-server.js';

interface Summary {
  name: string;
  num_documents: number;
  created_at: number;
  default_sorting_field: string;
  enable_nested_fields: boolean;
  token_separators: unknown[];
  symbols_to_index: unknown[];
  metadata?: unknown;
  fields: Record<string, unknown>[];
}

describe('collections (§1.2)', () => {
  let target: ContractTarget;
  before(async () => {
    target = await targetServer();
  });
  after(() => target.close());

  const post = (body: unknown) => target.request('POST', '/collections', { body });

  test('create answers 201 with the summary and the field defaults', async () => {
    const name = target.name('defaults');
    const res = await post({
      name,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'title', type: 'string' },
        { name: 'n32', type: 'int32' },
        { name: 'n64', type: 'int64' },
        { name: 'f', type: 'float' },
        { name: 'b', type: 'bool' },
        { name: 'tags', type: 'string[]', facet: true },
        { name: 'title_sorted', type: 'string', sort: true, optional: true },
      ],
    });
    assert.equal(res.status, 201);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    const summary = res.json() as Summary;
    assert.equal(summary.name, name);
    assert.equal(summary.num_documents, 0);
    assert.equal(typeof summary.created_at, 'number');
    assert.ok(Math.abs(summary.created_at - Date.now() / 1000) < 600, 'created_at is in unix seconds');
    assert.equal(summary.default_sorting_field, '');
    assert.equal(summary.enable_nested_fields, false);
    assert.deepEqual(summary.token_separators, []);
    assert.deepEqual(summary.symbols_to_index, []);
    assert.equal('metadata' in summary, false, 'metadata only when non-empty');
    assert.deepEqual(summary.fields.map((f) => f.name), ['title', 'n32', 'n64', 'f', 'b', 'tags', 'title_sorted'], 'a field named id is ignored');
    const byName = Object.fromEntries(summary.fields.map((f) => [f.name, f]));
    const common = { facet: false, optional: false, index: true, infix: false, locale: '', stem: false, store: true };
    const extra = target.version >= 28 ? { stem_dictionary: '' } : {};
    assert.deepEqual(byName.title, { ...common, ...extra, name: 'title', type: 'string', sort: false });
    for (const [field, type] of [['n32', 'int32'], ['n64', 'int64'], ['f', 'float'], ['b', 'bool']]) {
      assert.deepEqual(byName[field as string], { ...common, ...extra, name: field, type, sort: true });
    }
    assert.equal(byName.tags?.facet, true);
    assert.equal(byName.tags?.sort, false);
    assert.equal(byName.title_sorted?.sort, true);
    assert.equal(byName.title_sorted?.optional, true);
  });

  test('metadata and the default sorting field are kept', async () => {
    const name = target.name('meta');
    const res = await post({ name, default_sorting_field: 'n', metadata: { owner: 'sync' }, fields: [{ name: 'n', type: 'int32' }] });
    assert.equal(res.status, 201);
    const summary = res.json() as Summary;
    assert.equal(summary.default_sorting_field, 'n');
    assert.deepEqual(summary.metadata, { owner: 'sync' });
  });

  test('dynamic fields default to optional', async () => {
    const name = target.name('dynamic');
    const res = await post({ name, fields: [{ name: '.*', type: 'auto' }, { name: 'attr_.*', type: 'string' }] });
    assert.equal(res.status, 201);
    assert.deepEqual((res.json() as Summary).fields.map((f) => f.optional), [true, true]);
  });

  test('a second create with the same name is 409', async () => {
    const name = await createParts(target, 'dup');
    const res = await post({ name, fields: [{ name: 'a', type: 'string' }] });
    assert.equal(res.status, 409);
    assert.equal(res.text, `{"message": "A collection with name \`${name}\` already exists."}`);
  });

  test('schema errors are 400 with the server texts', async () => {
    const name = target.name('bad');
    const cases: [unknown, string][] = [
      ['{', 'Bad JSON.'],
      [{ fields: [] }, 'Parameter `name` is required.'],
      [{ name: '', fields: [] }, 'Parameter `name` must be a non-empty string.'],
      [{ name: 5, fields: [] }, 'Parameter `name` must be a non-empty string.'],
      [{ name }, 'Parameter `fields` is required.'],
      [{ name, fields: [{ name: 'a' }] }, 'Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.'],
      [{ name, fields: [{ name: 'a', type: 'text' }] }, 'Field `a` has an invalid data type `text`, see docs for supported data types.'],
      [{ name, fields: [{ name: 'a', type: 'string' }, { name: 'a', type: 'int32' }] }, 'There are duplicate field names in the schema.'],
      [{ name, fields: [{ name: 'a', type: 'string', facet: 'yes' }] }, 'The `facet` property of the field `a` should be a boolean.'],
      [{ name, fields: [{ name: 'a', type: 'string', optional: 1 }] }, 'The `optional` property of the field `a` should be a boolean.'],
      [{ name, fields: [{ name: '.*', type: 'auto', optional: false }] }, 'Field `.*` must be an optional field.'],
      [{ name, fields: [{ name: '.*', type: 'auto', facet: true }] }, 'Field `.*` cannot be a facet field.'],
      [{ name, fields: [{ name: 'o', type: 'object' }] }, 'Type `object` or `object[]` can be used only when nested fields are enabled by setting` enable_nested_fields` to true.'],
      [{ name, default_sorting_field: 'x', fields: [{ name: 'a', type: 'int32' }] }, 'Default sorting field is defined as `x` but is not found in the schema.'],
      [{ name, default_sorting_field: 'a', fields: [{ name: 'a', type: 'int32', optional: true }] }, 'Default sorting field `a` cannot be an optional field.'],
      [{ name, default_sorting_field: 'a', fields: [{ name: 'a', type: 'string[]' }] }, 'Default sorting field `a` is not a sortable type.'],
    ];
    for (const [body, message] of cases) {
      const res = await target.request('POST', '/collections', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.text, `{"message": "${message}"}`, JSON.stringify(body));
    }
    assert.equal((await target.request('GET', `/collections/${name}`)).status, 404, 'nothing was created');
  });

  test('list answers newest first', async () => {
    const first = await createParts(target, 'list_a');
    const second = await createParts(target, 'list_b');
    const res = await target.request('GET', '/collections');
    assert.equal(res.status, 200);
    const names = (res.json() as Summary[]).map((c) => c.name).filter((n) => n === first || n === second);
    assert.deepEqual(names, [second, first]);
  });

  test('get answers the summary, through an alias with the real name, and 404 when missing', async () => {
    const name = await createParts(target, 'get');
    const alias = target.name('get_alias');
    await target.request('PUT', `/aliases/${alias}`, { body: { collection_name: name } });
    const direct = await target.request('GET', `/collections/${name}`);
    assert.equal(direct.status, 200);
    const viaAlias = await target.request('GET', `/collections/${alias}`);
    assert.equal(viaAlias.status, 200);
    assert.equal((viaAlias.json() as Summary).name, name, 'compare the name to tell alias from collection');
    const missing = await target.request('GET', `/collections/${target.name('missing')}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, `{"message": "${collectionNotFound(target.version)}"}`);
  });

  test('delete answers the summary taken before the drop; a missing one is 404', async () => {
    const name = await createParts(target, 'del');
    await target.request('POST', `/collections/${name}/documents/import`, { body: '{"title":"a","rank":1}' });
    const res = await target.request('DELETE', `/collections/${name}`);
    assert.equal(res.status, 200);
    assert.equal((res.json() as Summary).num_documents, 1);
    const again = await target.request('DELETE', `/collections/${name}`);
    assert.equal(again.status, 404);
    assert.equal(again.text, `{"message": "No collection with name \`${name}\` found."}`);
  });

  test('delete through an alias drops the real collection and leaves the alias dangling (#223)', async () => {
    const name = await createParts(target, 'del_alias');
    const alias = target.name('del_alias_a');
    await target.request('PUT', `/aliases/${alias}`, { body: { collection_name: name } });
    const res = await target.request('DELETE', `/collections/${alias}`);
    assert.equal(res.status, 200);
    assert.equal((res.json() as Summary).name, name);
    assert.equal((await target.request('GET', `/collections/${name}`)).status, 404);
    const dangling = await target.request('GET', `/aliases/${alias}`);
    assert.equal(dangling.status, 200);
    assert.deepEqual(dangling.json(), { name: alias, collection_name: name });
    assert.equal((await target.request('GET', `/collections/${alias}`)).status, 404);
  });

  test('patch accepts only fields and metadata and answers with an echo', async () => {
    const name = await createParts(target, 'patch');
    const path = `/collections/${name}`;
    const empty = await target.request('PATCH', path, { body: {} });
    assert.equal(empty.status, 400);
    assert.equal(empty.text, '{"message": "Alter payload is empty."}');
    const other = await target.request('PATCH', path, { body: { name: 'x' } });
    assert.equal(other.status, 400);
    assert.equal(other.text, '{"message": "Only `fields` and `metadata` can be updated at the moment."}');

    const alter = { fields: [{ name: 'price', drop: true }, { name: 'color', type: 'string', optional: true }] };
    const res = await target.request('PATCH', path, { body: alter });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), alter, 'an echo of the request, not the schema');
    const fields = ((await target.request('GET', path)).json() as Summary).fields.map((f) => f.name);
    assert.ok(!fields.includes('price'));
    assert.ok(fields.includes('color'));

    const metadata = await target.request('PATCH', path, { body: { metadata: { v: 2 } } });
    assert.equal(metadata.status, 200);
    assert.deepEqual(metadata.json(), { metadata: { v: 2 } });
    assert.deepEqual(((await target.request('GET', path)).json() as Summary).metadata, { v: 2 });
  });
});
