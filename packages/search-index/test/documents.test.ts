// Row → document conversion and the retry classification, without a server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errors } from 'typesense';
import { createDocumentMapper, DEFAULT_COLLECTION_SPECS, isTransientError, openTypesense, RequestTimeoutError, withRetry, type CollectionSpec } from '@mbsync/search-index';

const spec: CollectionSpec = {
  name: 'things',
  query: 'SELECT 1',
  fields: [
    { name: 'title', type: 'string' },
    { name: 'n32', type: 'int32', optional: true },
    { name: 'n64', type: 'int64', optional: true },
    { name: 'price', type: 'float', optional: true },
    { name: 'flag', type: 'bool', optional: true },
    { name: 'tags', type: 'string[]' },
    { name: 'sizes', type: 'int64[]', optional: true },
    { name: 'at', type: 'int64', column: 'created_at', optional: true },
    { name: 'meta', type: 'string', optional: true },
  ],
};
const map = createDocumentMapper(spec);

describe('createDocumentMapper', () => {
  test('postgres.js values become exact JSON: int8 beyond 2^53 keeps its digits, numeric text becomes a float', () => {
    const converted = map({
      id: '9223372036854775807', title: 'a "quoted" ✓', n32: '-2147483648', n64: '9007199254740993', price: '12.50', flag: false,
      tags: ['x', 'NULL'], sizes: ['1', '-0012', '9223372036854775807'], created_at: new Date('1969-12-31T23:59:59.500Z'), meta: { a: [1, null] },
    });
    assert.ok(converted.ok);
    assert.equal(
      converted.json,
      '{"id":"9223372036854775807","title":"a \\"quoted\\" ✓","n32":-2147483648,"n64":9007199254740993,"price":12.5,"flag":false,' +
        '"tags":["x","NULL"],"sizes":[1,-12,9223372036854775807],"at":-1,"meta":"{\\"a\\":[1,null]}"}',
    );
    assert.equal(converted.id, '9223372036854775807');
  });

  test('NULLs: optional fields are left out, a non-optional array becomes [], a non-optional scalar is an error', () => {
    const converted = map({ id: 7, title: 't', n32: null, n64: null, price: null, flag: null, tags: null, sizes: null, created_at: null, meta: null });
    assert.deepEqual(converted, { ok: true, id: '7', json: '{"id":"7","title":"t","tags":[]}' });
    assert.deepEqual(map({ id: 8, title: null, tags: [] }), { ok: false, id: '8', error: 'field "title" (string): is NULL but the field is not optional' });
  });

  test('values that do not fit are errors naming the field, the column and the value', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ n32: 2147483648 }, 'field "n32" (int32): 2147483648 is out of the int32 range'],
      [{ n32: '1.5' }, 'field "n32" (int32): "1.5" is not an integer'],
      [{ n64: '9223372036854775808' }, 'field "n64" (int64): 9223372036854775808 is out of the int64 range'],
      [{ n64: 1.5 }, 'field "n64" (int64): 1.5 is not an integer'],
      [{ price: 'NaN' }, 'field "price" (float): "NaN" is not a number'],
      [{ price: Infinity }, 'field "price" (float): Infinity is not a finite number'],
      [{ flag: 't' }, 'field "flag" (bool): "t" is not a boolean'],
      [{ tags: 'a,b' }, 'field "tags" (string[]): "a,b" is not an array'],
      [{ tags: ['a', null] }, 'field "tags" (string[]): element [1] is NULL'],
      [{ tags: [['a']] }, 'field "tags" (string[]): is a multi-dimensional array'],
      [{ sizes: ['1', 'x'] }, 'field "sizes" (int64[]): element [1]: "x" is not an integer'],
      [{ created_at: 'yesterday' }, 'field "at" (int64, column "created_at"): "yesterday" is not an integer'],
      [{ meta: Buffer.from('ab') }, 'field "meta" (string): bytea (2 bytes) cannot be a string'],
    ];
    for (const [patch, error] of cases) assert.deepEqual(map({ id: '1', title: 't', tags: [], ...patch }), { ok: false, id: '1', error });
    assert.deepEqual(map({ id: '', title: 't', tags: [] }), { ok: false, id: null, error: 'id (column "id"): is an empty string' });
    assert.deepEqual(map({ id: 1.5, title: 't', tags: [] }), { ok: false, id: null, error: 'id (column "id"): 1.5 is not a string or an integer' });
  });

  test('the default specs are valid and cover the three collections', () => {
    assert.deepEqual(DEFAULT_COLLECTION_SPECS.map((s) => s.name), ['components', 'parts', 'attributes']);
  });
});

describe('retry classification (by class and status, never by message)', () => {
  test('5xx, 429 and transport failures are transient; 4xx are not', async () => {
    assert.equal(isTransientError(new Errors.ServerError('x', '', 503)), true);
    assert.equal(isTransientError(new Errors.ServerError('x', '', 500)), true);
    assert.equal(isTransientError(new Errors.HTTPError('x', '', 429)), true);
    assert.equal(isTransientError(new RequestTimeoutError('import', 10)), true);
    for (const E of [Errors.RequestMalformed, Errors.RequestUnauthorized, Errors.ObjectNotFound, Errors.ObjectAlreadyExists, Errors.ObjectUnprocessable]) {
      assert.equal(isTransientError(new E('Not Ready or Lagging')), false, E.name);
    }
    assert.equal(isTransientError(new Error('ECONNRESET 503 timeout')), false, 'message text is never looked at');
    // a real transport failure from typesense-js: nothing listens on the port
    const { client, close } = openTypesense({ url: 'http://127.0.0.1:1', apiKey: 'k', connectionTimeoutSeconds: 1 });
    try {
      const error = await client.health.retrieve().then(() => undefined, (e: unknown) => e);
      assert.equal(isTransientError(error), true);
    } finally {
      close();
    }
  });

  test('withRetry backs off exponentially with jitter, bounded in attempts', async () => {
    const delays: number[] = [];
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Errors.ServerError('Request failed with HTTP code 503', '', 503);
        },
        { policy: { maxAttempts: 5, initialDelayMs: 4, maxDelayMs: 16, maxElapsedMs: 10_000 }, what: 'probe', random: () => 1, onRetry: (e) => delays.push(e.delayMs) },
      ),
      { code: 'SEARCH_INDEX_UNAVAILABLE', message: /^probe: Typesense unavailable after 5 attempts/ },
    );
    assert.equal(calls, 5);
    assert.deepEqual(delays, [4, 8, 16, 16]);
    await assert.rejects(
      withRetry(() => Promise.reject(new Errors.RequestUnauthorized('Request failed with HTTP code 401', '', 401)), { policy: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 1000 }, what: 'probe' }),
      { code: 'SEARCH_INDEX_REQUEST_REJECTED', details: { status: 401 } },
    );
  });
});
