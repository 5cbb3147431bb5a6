// Rows that cannot become documents, and specs that cannot work: reported with ids (or field paths), all at once,
// before the alias is touched. Runs against the test server or a real Typesense.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestDatabase } from '@mbsync/testkit';
import { runReindex } from '@mbsync/execution';
import { describeEnvironment } from '@mbsync/jobs';
import { reindexCollections, SearchIndexError, type CollectionSpec, type DocumentFailure } from '@mbsync/search-index';
import { aliasTarget, collectionNames, demoDatabase, searchTarget, type SearchTarget } from './demo-data.js';

describe('bad rows and bad specs', () => {
  let db: TestDatabase;
  let ts: SearchTarget;
  let dir: string;
  /** parts with `downloads` declared int32 (part 11 and 12 overflow it) and part 10 listed twice (a 409 from Typesense) */
  let badSpec: CollectionSpec;
  before(async () => {
    db = await demoDatabase('search_failures');
    ts = await searchTarget();
    dir = await mkdtemp(join(tmpdir(), 'mbsync-specs-'));
    const parts = ts.spec('parts');
    badSpec = {
      ...parts,
      name: ts.target.name('bad_parts'),
      query: `${parts.query} UNION ALL SELECT * FROM (${parts.query}) AS again WHERE again.id = 10`,
      fields: parts.fields.map((f) => (f.name === 'downloads' ? { ...f, type: 'int32' as const } : f)),
      defaultSortingField: 'created_at',
    };
    // the alias already serves a good collection, which a failed run must leave alone
    await reindexCollections({ sql: db.sql, client: ts.client, specs: [{ ...ts.spec('parts'), name: badSpec.name }] });
  });
  after(async () => {
    await ts?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('failed documents are reported with their ids and errors, and abort before the swap (maxFailures 0)', async () => {
    const live = await aliasTarget(ts.client, badSpec.name);
    await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: [badSpec], batchSize: 10 }), (error: unknown) => {
      assert.ok(error instanceof SearchIndexError);
      assert.equal(error.code, 'SEARCH_INDEX_DOCUMENTS_FAILED');
      // the batch's conversion failures already exceed the threshold: nothing of it is imported
      const failures = error.details?.failures as DocumentFailure[];
      assert.deepEqual(failures.map((f) => [f.id, f.stage]).sort(), [['11', 'convert'], ['12', 'convert']]);
      assert.equal(failures.find((f) => f.id === '11')?.error, 'field "downloads" (int32): 9007199254740993 is out of the int32 range');
      assert.equal(failures.find((f) => f.id === '12')?.error, 'field "downloads" (int32): 9223372036854775807 is out of the int32 range');
      assert.equal(error.message, `${badSpec.name}: 2 documents failed, more than the 0 allowed (id 11: field "downloads" (int32): 9007199254740993 is out of the int32 range; id 12: field "downloads" (int32): 9223372036854775807 is out of the int32 range)`);
      return true;
    });
    assert.equal(await aliasTarget(ts.client, badSpec.name), live, 'alias unchanged');
    assert.deepEqual(await collectionNames(ts.client, badSpec.name), [live], 'the new collection was dropped');
  });

  test('below the threshold the swap happens and the failures are in the result', async () => {
    const result = await reindexCollections({ sql: db.sql, client: ts.client, specs: [badSpec], maxFailures: 3 });
    const [only] = result.collections;
    assert.equal(only?.rows, 4);
    assert.equal(only?.documents, 1);
    assert.equal(only?.failedCount, 3);
    assert.deepEqual(only?.failures.map((f) => [f.id, f.stage, f.code ?? null]).sort(), [['10', 'import', 409], ['11', 'convert', null], ['12', 'convert', null]]);
    // Typesense's own per-line error for the repeated id, kept as it said it
    assert.match(only?.failures.find((f) => f.stage === 'import')?.error ?? '', /10/);
    assert.equal(await aliasTarget(ts.client, badSpec.name), only?.collection);
  });

  test('a specs file with several mistakes is refused with every problem named by its path', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({
      collections: [
        { name: 'ok', query: 'SELECT 1 AS id, 2 AS n', fields: [{ name: 'n', type: 'int32' }] },
        {
          name: '9bad', query: '', idColum: 'id',
          fields: [{ name: 'title', type: 'text' }, { name: 'id', type: 'string' }, { name: 'n', type: 'int32', optinal: true }, { name: 'n', type: 'int32', facet: 'yes' }, { name: 'tags', type: 'string[]', sort: true }],
          defaultSortingField: 'missing',
        },
        { name: 'ok', query: 'SELECT 1 AS id', fields: [] },
      ],
    }));
    const environment = { ...describeEnvironment('local', db.url), typesense: { url: ts.target.url, apiKey: ts.target.apiKey } };
    await assert.rejects(runReindex({ environment, specsFile: file }), (error: unknown) => {
      assert.ok(error instanceof SearchIndexError);
      assert.equal(error.code, 'SEARCH_INDEX_SPEC_INVALID');
      assert.deepEqual(error.details?.problems, [
        'collections[1].idColum: unknown property (allowed: name, query, idColumn, fields, defaultSortingField, tokenSeparators, symbolsToIndex)',
        'collections[1].name: must be a string of letters, digits, "_" or "-" starting with a letter (at most 100), got "9bad"',
        'collections[1].query: must be a non-empty SQL SELECT, got ""',
        'collections[1].fields[0].type: must be one of string, string[], int32, int32[], int64, int64[], float, float[], bool, bool[], got "text"',
        'collections[1].fields[1].name: "id" is reserved: the document id comes from the collection\'s idColumn',
        'collections[1].fields[2].optinal: unknown property (allowed: name, type, column, optional, facet, sort, index, infix, locale)',
        'collections[1].fields[3].facet: must be true or false, got "yes"',
        'collections[1].fields[3].name: "n" is already used by fields[2]',
        'collections[1].fields[4].sort: a string[] field cannot be sorted (only string, int32, int64, float and bool)',
        'collections[1].defaultSortingField: must name one of the fields, got "missing"',
        'collections[2].fields: must be a non-empty array of fields, got []',
        'collections[2].name: "ok" is already used by collections[0]',
      ]);
      assert.match(error.message, new RegExp(`^invalid collection specs in ${file.replace(/[/.]/g, '\\$&')} \\(12 problems\\): `));
      return true;
    });
    await writeFile(file, '{ "collections": [ }');
    await assert.rejects(runReindex({ environment, specsFile: file }), { code: 'SEARCH_INDEX_SPEC_INVALID', message: /not valid JSON/ });
  });

  test('spec queries are checked against the database before anything is written', async () => {
    const before = await collectionNames(ts.client, ts.target.name(''));
    const specs: CollectionSpec[] = [
      { name: ts.target.name('q1'), query: 'SELECT id, slug FROM public.attributes', fields: [{ name: 'slug', type: 'string' }, { name: 'label', type: 'string', column: 'name' }] },
      { name: ts.target.name('q2'), query: 'SELECT slug FROM public.nope', fields: [{ name: 'slug', type: 'string' }] },
      { name: ts.target.name('q3'), query: 'SELECT slug FROM public.attributes', idColumn: 'slug_id', fields: [{ name: 'slug', type: 'string' }] },
    ];
    await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs }), (error: unknown) => {
      assert.ok(error instanceof SearchIndexError);
      assert.equal(error.code, 'SEARCH_INDEX_SPEC_INVALID');
      assert.deepEqual(error.details?.problems, [
        `collections[0] (${specs[0]?.name}).fields[1] (label): the query returns no column "name" (it returns id, slug)`,
        `collections[1] (${specs[1]?.name}).query: relation "public.nope" does not exist`,
        `collections[2] (${specs[2]?.name}).idColumn: the query returns no column "slug_id" (it returns slug)`,
      ]);
      return true;
    });
    assert.deepEqual(await collectionNames(ts.client, ts.target.name('')), before, 'nothing was created');
  });

  test('unknown collection names and environments without Typesense are refused up front', async () => {
    await assert.rejects(reindexCollections({ sql: db.sql, client: ts.client, specs: ts.specs, collections: ['nope'] }), { code: 'SEARCH_INDEX_UNKNOWN_COLLECTION' });
    await assert.rejects(runReindex({ environment: describeEnvironment('local', db.url) }), { code: 'JOBS_INVALID_INPUT', message: /set LOCAL_TYPESENSE_URL/ });
  });
});
