// One renderer for every TypeBox error: variables and JSON documents, one line per problem, secrets never shown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Type } from 'typebox';
import { formatPath, readVariables, renderProblems } from '@mbsync/settings';

const Settings = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  KEEP: Type.Number({ minimum: 1, default: 10 }),
  ALLOW: Type.Boolean({ default: false }),
  LEVEL: Type.Union([Type.Literal('info'), Type.Literal('debug')], { default: 'info' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', errorMessage: 'must start with redis:// or rediss://' }),
  NAME: Type.Optional(Type.String()),
});

describe('readVariables', () => {
  test('defaults from the schema; unset and empty take them; numbers and booleans converted, text trimmed', () => {
    const { settings, problems } = readVariables(Settings, { PORT: ' 8080 ', KEEP: '', ALLOW: 'Yes', NAME: ' x ', OTHER: 'ignored' });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, { PORT: 8080, KEEP: 10, ALLOW: true, LEVEL: 'info', REDIS_URL: 'redis://127.0.0.1:6379', NAME: 'x' });
    assert.equal(readVariables(Settings, { ALLOW: 'no' }).settings.ALLOW, false);
    assert.equal(readVariables(Settings, { ALLOW: '0' }).settings.ALLOW, false);
  });

  test('every bad variable at once, each named with what it wants and what it got, in the schema order', () => {
    const { problems } = readVariables(Settings, { LEVEL: 'loud', ALLOW: 'maybe', KEEP: '0', PORT: '2.5' });
    assert.deepEqual(problems, [
      'PORT must be a whole number from 0 to 65535, got "2.5"',
      'KEEP must be a number >= 1, got "0"',
      'ALLOW must be true or false, got "maybe"',
      'LEVEL must be one of info, debug, got "loud"',
    ]);
  });

  test('more than TypeBox\'s default of 8 errors are all reported', () => {
    const Many = Type.Object(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`N${i}`, Type.Integer()])));
    const { problems } = readVariables(Many, Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`N${i}`, 'x'])));
    assert.equal(problems.length, 12);
  });

  test('a secret variable is named, its value never shown', () => {
    const secret = `redis-password-${'hunter2'}`;
    const { problems } = readVariables(Settings, { REDIS_URL: `http://:${secret}@h` }, { secret: ['REDIS_URL'] });
    assert.deepEqual(problems, ['REDIS_URL must start with redis:// or rediss://']);
  });
});

describe('renderProblems of a document', () => {
  const Field = Type.Object({ name: Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' }), flag: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
  const Doc = Type.Object({ items: Type.Array(Field, { minItems: 1, errorMessage: 'must be a non-empty array' }) }, { additionalProperties: false, errorMessage: 'must be an object' });

  test('paths as people read them; unknown properties list the allowed ones; rules merged in document order', () => {
    const doc = { items: [{ name: 'a', flag: 'yes', extra: 1 }, { name: '' }, {}] };
    const lines = renderProblems(Doc, doc, {
      style: 'document',
      more: [{ path: ['items', 0, 'name'], message: 'is taken', last: true }],
    });
    assert.deepEqual(lines, [
      'items[0].extra: unknown property (allowed: name, flag)',
      'items[0].flag: must be true or false, got "yes"',
      'items[0].name: is taken',
      'items[1].name: must be a non-empty string, got ""',
      'items[2].name: must be a non-empty string, got nothing',
    ]);
    assert.deepEqual(renderProblems(Doc, [1], { style: 'document' }), ['(root): must be an object, got [1]']);
    assert.deepEqual(renderProblems(Doc, { items: [] }, { style: 'document' }), ['items: must be a non-empty array, got []']);
    assert.deepEqual(renderProblems(Doc, { items: [{ name: 'ok' }] }, { style: 'document' }), []);
  });

  test('formatPath', () => {
    assert.equal(formatPath([]), '(root)');
    assert.equal(formatPath(['collections', 1, 'fields', 0, 'type']), 'collections[1].fields[0].type');
  });
});
