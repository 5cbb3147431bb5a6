// Contract §2: the official typesense-js v3 client against the server (or a real Typesense).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Errors } from 'typesense';
import { localOnly, partsSchema, targetServer, type ContractTarget } from './target-server.js';

describe('typesense-js 3.1 client (§2)', () => {
  let target: ContractTarget;
  let client: Client;
  before(async () => {
    target = await targetServer();
    const url = new URL(target.url);
    client = new Client({
      nodes: [{ host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', '') }],
      apiKey: target.apiKey,
      connectionTimeoutSeconds: 2,
      numRetries: 0,
      logLevel: 'silent',
    });
  });
  after(() => target.close());

  async function createCollection(label: string): Promise<string> {
    const name = target.name(label);
    const created = await client.collections().create(partsSchema(name) as never);
    assert.equal(created.name, name);
    return name;
  }

  test('collections().create, retrieve, exists, and the error classes', async () => {
    const name = await createCollection('client_coll');
    assert.equal((await client.collections(name).retrieve()).num_documents, 0);
    assert.equal(await client.collections(name).exists(), true);
    assert.equal(await client.collections(target.name('missing')).exists(), false);
    await assert.rejects(client.collections().create(partsSchema(name) as never), (error: Error) => {
      assert.ok(error instanceof Errors.ObjectAlreadyExists);
      assert.equal(error.name, 'ObjectAlreadyExists');
      assert.equal((error as Errors.TypesenseError).httpStatus, 409);
      assert.equal(error.message, `Request failed with HTTP code 409 | Server said: A collection with name \`${name}\` already exists.`);
      return true;
    });
    await assert.rejects(client.collections(target.name('missing')).retrieve(), Errors.ObjectNotFound);
    await assert.rejects(client.collections().create({ name: target.name('bad'), fields: [{ name: 'a', type: 'text' as never }] }), Errors.RequestMalformed);
  });

  test('import(array) resolves with results when every line succeeds', async () => {
    const name = await createCollection('client_ok');
    const results = await client.collections(name).documents().import([{ id: '1', title: 'a', rank: 1 }, { id: '2', title: 'b', rank: 2 }], { action: 'upsert' });
    assert.deepEqual(results, [{ success: true }, { success: true }]);
  });

  test('import(array) throws ImportError when a line fails (throwOnFail defaults to true)', async () => {
    const name = await createCollection('client_fail');
    const documents = client.collections(name).documents();
    await assert.rejects(documents.import([{ id: '1', title: 'a', rank: 1 }, { id: '2', title: 'b', rank: 'x' }]), (error: Error) => {
      assert.ok(error instanceof Errors.ImportError);
      assert.deepEqual(error.importResults, [{ success: true }, { code: 400, error: 'Field `rank` must be an int32.', success: false }]);
      assert.equal(error.payload.successCount, 1);
      assert.equal(error.payload.failedItems.length, 1);
      return true;
    });
    assert.equal((await client.collections(name).retrieve()).num_documents, 1, 'the good line was imported anyway');
    const noThrow = await documents.import([{ id: '1', title: 'a', rank: 1 }], { throwOnFail: false });
    assert.deepEqual(noThrow, [{ code: 409, error: 'A document with id 1 already exists.', success: false }]);
  });

  test('import(jsonl string) returns the raw text and never throws on failed lines', async () => {
    const name = await createCollection('client_jsonl');
    const text = await client.collections(name).documents().import('{"id":"1","title":"a","rank":1}\n{"id":"1","title":"a","rank":1}');
    assert.equal(text, '{"success":true}\n{"code":409,"error":"A document with id 1 already exists.","success":false}');
  });

  test('import of an empty array throws RequestMalformed before any request', async () => {
    const name = await createCollection('client_empty');
    const before = target.local?.requests.length;
    await assert.rejects(client.collections(name).documents().import([]), Errors.RequestMalformed);
    assert.equal(target.local?.requests.length, before);
  });

  test('aliases().upsert/retrieve, collections(alias).retrieve, search through the alias', async () => {
    const name = await createCollection('client_alias_target');
    const alias = target.name('client_alias');
    await client.collections(name).documents().import([{ id: '1', title: 'hex bolt', rank: 1 }, { id: '2', title: 'wing nut', rank: 2 }]);
    assert.deepEqual(await client.aliases().upsert(alias, { collection_name: name }), { name: alias, collection_name: name });
    assert.deepEqual(await client.aliases(alias).retrieve(), { name: alias, collection_name: name });
    assert.equal((await client.collections(alias).retrieve()).name, name);
    const result = await client.collections(alias).documents().search({ q: 'bolt', query_by: 'title' });
    assert.equal(result.found, 1);
    assert.equal((result.hits?.[0]?.document as { id?: string } | undefined)?.id, '1');
    await assert.rejects(client.collections(alias).documents().search({ q: 'bolt', query_by: 'nope' }), Errors.ObjectNotFound);
  });

  test('documents: create/upsert/update, retrieve, delete by filter, export', async () => {
    const name = await createCollection('client_docs');
    const documents = client.collections(name).documents();
    assert.deepEqual(await documents.create({ id: 'a', title: 'x', rank: 1 }), { id: 'a', title: 'x', rank: 1 });
    assert.deepEqual(await documents.upsert({ id: 'b', title: 'y', rank: 2 }), { id: 'b', title: 'y', rank: 2 });
    assert.deepEqual(await documents.update({ id: 'a', rank: 5 }, {}), { id: 'a', title: 'x', rank: 5 });
    assert.deepEqual(await client.collections(name).documents('a').retrieve(), { id: 'a', title: 'x', rank: 5 });
    assert.equal(await documents.export(), '{"id":"a","rank":5,"title":"x"}\n{"id":"b","rank":2,"title":"y"}');
    assert.deepEqual(await documents.delete({ filter_by: 'rank:>3' }), { num_deleted: 1 });
    await assert.rejects(client.collections(name).documents('a').retrieve(), Errors.ObjectNotFound);
    assert.deepEqual(await client.health.retrieve(), { ok: true });
  });

  test('a 503 is a ServerError; with default retries the client retries once', localOnly, async () => {
    const server = target.local;
    assert.ok(server);
    server.faults.inject({ kind: '503', count: 1 });
    await assert.rejects(client.collections().retrieve(), (error: Error) => {
      assert.ok(error instanceof Errors.ServerError);
      assert.equal(error.message, 'Request failed with HTTP code 503 | Server said: Not Ready or Lagging');
      return true;
    });
    const url = new URL(target.url);
    const retrying = new Client({
      nodes: [{ host: url.hostname, port: Number(url.port), protocol: 'http' }],
      apiKey: target.apiKey,
      connectionTimeoutSeconds: 2,
      logLevel: 'silent',
    });
    server.faults.inject({ kind: '503', count: 1 });
    assert.ok(Array.isArray(await retrying.collections().retrieve()), 'numRetries defaults to 1 for a single node');
  });

  test('a down server surfaces as a raw AxiosError ECONNREFUSED', localOnly, async () => {
    const server = target.local;
    assert.ok(server);
    await server.down();
    try {
      const failure = async (): Promise<string | undefined> => {
        const error = await client.health.retrieve().then(() => undefined, (e: unknown) => e as Error & { code?: string; isAxiosError?: boolean });
        assert.ok(error !== undefined, 'the call must fail');
        assert.equal(error.isAxiosError, true);
        assert.equal(error.constructor.name, 'AxiosError');
        assert.ok(!(error instanceof Errors.TypesenseError), 'not wrapped in a TypesenseError');
        return error.code;
      };
      // A keep-alive socket pooled before down() may still fail with ECONNRESET; fresh connections are refused.
      assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes((await failure()) ?? ''));
      assert.equal(await failure(), 'ECONNREFUSED');
    } finally {
      await server.up();
    }
  });
});
