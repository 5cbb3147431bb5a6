// Specs files are validated with their TypeBox schema plus the rules a schema cannot state; spec queries are
// checked against a dump's tables and columns before anything is written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Value } from 'typebox/value';
import {
  CollectionSpecsFileSchema,
  DEFAULT_COLLECTION_SPECS,
  SearchIndexError,
  readCollectionSpecsFile,
  specModelProblems,
  specReferences,
  type KnownRelation,
} from '@mbsync/search-index/specs';

const field = (name: string, type = 'string') => ({ name, type });

describe('specs file: the TypeBox schema and the readable problem list agree', () => {
  const valid = [
    { collections: DEFAULT_COLLECTION_SPECS },
    { $schema: './specs.schema.json', collections: [{ name: 'widgets', query: 'SELECT id, title FROM app.widgets', fields: [field('title')], tokenSeparators: ['-'] }] },
  ];
  const invalid: [string, unknown][] = [
    ['a field type Typesense does not know', { collections: [{ name: 'w', query: 'SELECT 1', fields: [field('t', 'text')] }] }],
    ['an unknown property', { collections: [{ name: 'w', query: 'SELECT 1', fields: [field('t')], idColum: 'id' }] }],
    ['no collections', { collections: [] }],
    ['an empty query', { collections: [{ name: 'w', query: '  ', fields: [field('t')] }] }],
    ['a name starting with a digit', { collections: [{ name: '9w', query: 'SELECT 1', fields: [field('t')] }] }],
    ['no fields', { collections: [{ name: 'w', query: 'SELECT 1', fields: [] }] }],
    ['a root that is not an object', [1, 2]],
  ];
  test('valid documents pass both; invalid ones fail the schema and are named by path', () => {
    for (const doc of valid) {
      assert.ok(Value.Check(CollectionSpecsFileSchema, doc));
      assert.ok(readCollectionSpecsFile(JSON.stringify(doc), 'specs.json').length > 0);
    }
    for (const [what, doc] of invalid) {
      assert.equal(Value.Check(CollectionSpecsFileSchema, doc), false, what);
      assert.throws(() => readCollectionSpecsFile(JSON.stringify(doc), 'specs.json'), (error: unknown) => {
        assert.ok(error instanceof SearchIndexError, what);
        assert.equal(error.code, 'SEARCH_INDEX_SPEC_INVALID');
        assert.match(error.message, /^invalid collection specs in specs\.json \(\d+ problems?\): /, what);
        return true;
      });
    }
  });

  test('rules beyond the schema: a reserved or repeated name, a default sorting field that cannot sort', () => {
    const doc = {
      collections: [
        { name: 'w', query: 'SELECT 1', fields: [field('id'), field('n', 'int32'), field('n', 'int32')], defaultSortingField: 'id' },
        { name: 'w', query: 'SELECT 1', fields: [field('tags', 'string[]')], defaultSortingField: 'tags' },
      ],
    };
    assert.ok(Value.Check(CollectionSpecsFileSchema, doc), 'the schema alone cannot see these');
    assert.throws(() => readCollectionSpecsFile(JSON.stringify(doc), 'f'), (error: unknown) => {
      const problems = (error as SearchIndexError).details?.problems as string[];
      assert.ok(problems.some((p) => p.startsWith('collections[0].fields[0].name: "id" is reserved')), problems.join('\n'));
      assert.ok(problems.includes('collections[0].fields[2].name: "n" is already used by fields[1]'));
      assert.ok(problems.includes('collections[1].name: "w" is already used by collections[0]'));
      assert.ok(problems.some((p) => p.startsWith('collections[1].defaultSortingField: field "tags" has type "string[]"')));
      return true;
    });
    assert.throws(() => readCollectionSpecsFile('{ "collections": [', 'f'), /not valid JSON/);
  });
});

describe('spec queries against a dump\'s schema model', () => {
  test('relations and qualified columns are read from the query; comments, literals and casts are not', () => {
    const refs = specReferences(`
      -- FROM public.commented_out c
      SELECT w.id, w."Title", 'FROM public.literal x' AS s, $q$ JOIN public.dollar d $q$, x::public.mood, pg_catalog.count(*),
             (SELECT count(*) FROM ONLY app.parts p WHERE p.widget_id = w.id) AS n
        FROM app.widgets AS w LEFT JOIN "App"."Tags" t ON t.widget_id = w.id, app.extra e, pg_catalog.generate_series(1, 2) g
       /* JOIN public.block_comment b */`);
    assert.deepEqual(refs.relations.map((r) => `${r.schema}.${r.name} ${r.alias}`), ['app.parts p', 'app.widgets w', 'App.Tags t', 'app.extra e']);
    const columns = refs.columns.map((c) => `${c.qualifier}.${c.column}`);
    for (const c of ['w.id', 'w.Title', 'p.widget_id', 't.widget_id']) assert.ok(columns.includes(c), c);
    for (const c of ['public.mood', 'pg_catalog.count', 'public.literal', 'public.commented_out']) assert.ok(!columns.includes(c), c);
  });

  const model: KnownRelation[] = [
    { schema: 'public', name: 'components', columns: ['id', 'slug', 'name', 'description', 'category_id', 'tags', 'price', 'is_published', 'created_at', 'updated_at'] },
    { schema: 'public', name: 'categories', columns: ['id', 'slug', 'name'] },
    { schema: 'public', name: 'parts', columns: ['id', 'component_id', 'sku', 'name', 'material', 'width_mm', 'height_mm', 'depth_mm', 'weight_g', 'print_minutes', 'downloads', 'created_at'] },
    { schema: 'public', name: 'attributes', columns: ['id', 'slug', 'name', 'data_type', 'unit'] },
    { schema: 'public', name: 'part_attributes', columns: ['part_id', 'attribute_id', 'value'] },
  ];

  test('the default specs fit the demo schema', () => {
    assert.deepEqual(specModelProblems(DEFAULT_COLLECTION_SPECS, model, ['public']), []);
  });

  test('a dump without the spec\'s tables, or without a column, is named; other schemas are left alone', () => {
    const items: KnownRelation[] = [{ schema: 'public', name: 'items', columns: ['id', 'name'] }];
    const problems = specModelProblems(DEFAULT_COLLECTION_SPECS, items, ['public']);
    assert.ok(problems.includes('collections[0] (components): the query reads public.components, which the dump does not have'), problems.join('\n'));
    assert.ok(problems.includes('collections[1] (parts): the query reads public.parts, which the dump does not have'));
    assert.ok(problems.includes('collections[2] (attributes): the query reads public.attributes, which the dump does not have'));

    const noUnit = model.map((r) => (r.name === 'attributes' ? { ...r, columns: r.columns.filter((c) => c !== 'unit') } : r));
    assert.deepEqual(specModelProblems(DEFAULT_COLLECTION_SPECS, noUnit, ['public']), [
      'collections[2] (attributes): the query reads a.unit, but public.attributes in the dump has no column "unit"',
    ]);
    // a dump of another schema replaces nothing the specs read
    assert.deepEqual(specModelProblems(DEFAULT_COLLECTION_SPECS, items, ['app']), []);
  });
});
