// Contract §1.6: minimal search.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { searchCollectionNotFound } from './messages.js';
import { createParts, importLines, targetServer, type ContractTarget } from './target-server.js';

interface SearchResult {
  found: number;
  out_of: number;
  page: number;
  facet_counts: unknown[];
  search_cutoff: boolean;
  search_time_ms: number;
  request_params: { collection_name: string; per_page: number; q: string };
  hits: { document: { id: string }; highlight: unknown; highlights: unknown[] }[];
}

describe('search (§1.6)', () => {
  let target: ContractTarget;
  let name: string;
  before(async () => {
    target = await targetServer();
    name = await createParts(target, 'search');
    const docs = Array.from({ length: 12 }, (_, i) => ({ id: String(i), title: i % 2 === 0 ? `hex bolt ${i}` : `wing nut ${i}`, rank: i }));
    await importLines(target, name, docs);
  });
  after(() => target.close());

  const search = (query: string) => target.request('GET', `/collections/${name}/documents/search?${query}`);

  test('answers the shape with found, hits[].document and request_params', async () => {
    const res = await search('q=bolt&query_by=title');
    assert.equal(res.status, 200);
    assert.equal(res.contentType, 'application/json; charset=utf-8');
    const body = res.json() as SearchResult;
    assert.equal(body.found, 6);
    assert.equal(body.out_of, 12);
    assert.equal(body.page, 1);
    assert.deepEqual(body.facet_counts, []);
    assert.equal(typeof body.search_time_ms, 'number');
    assert.equal(body.request_params.collection_name, name);
    assert.equal(body.request_params.per_page, 10);
    assert.equal(body.request_params.q, 'bolt');
    assert.equal(body.hits.length, 6);
    assert.ok(body.hits.every((hit) => hit.document.id !== undefined && Array.isArray(hit.highlights)));
  });

  test('per_page and page, filter_by, q=* without query_by', async () => {
    const page2 = (await search('q=*&per_page=5&page=2')).json() as SearchResult;
    assert.equal(page2.found, 12);
    assert.equal(page2.hits.length, 5);
    assert.equal(page2.page, 2);
    const filtered = (await search(`q=*&filter_by=${encodeURIComponent('rank:<3')}`)).json() as SearchResult;
    assert.deepEqual(filtered.hits.map((h) => h.document.id).sort(), ['0', '1', '2']);
  });

  test('parameter errors', async () => {
    const cases: [string, number, string][] = [
      ['query_by=title', 400, 'Parameter `q` is required.'],
      ['q=bolt', 400, 'No search fields specified for the query.'],
      ['q=bolt&query_by=colour', 404, 'Could not find a field named `colour` in the schema.'],
      ['q=*&per_page=251', 422, 'Only upto 250 hits can be fetched per page.'],
    ];
    for (const [query, status, message] of cases) {
      const res = await search(query);
      assert.equal(res.status, status, query);
      assert.equal(res.text, `{"message": "${message}"}`, query);
    }
    assert.equal((await search(`q=${'a'.repeat(4001)}&query_by=title`)).status, 400, 'q longer than 4000 characters');
  });

  test('a missing collection is 404 with the version text', async () => {
    const res = await target.request('GET', `/collections/${target.name('none')}/documents/search?q=*`);
    assert.equal(res.status, 404);
    assert.equal(res.text, `{"message": "${searchCollectionNotFound(target.version)}"}`);
  });
});
