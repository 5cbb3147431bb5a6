import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { inlineParameters } from '../src/index.js';

// The catalog readers' parameters go into the query's text as literals (one round trip instead of two under
// prepare: false). The server must read back exactly what was passed, whatever the characters.

let db: TestDatabase;
let sql: postgres.Sql;

before(async () => {
  db = await createDatabase('inline_params');
  sql = postgres(db.url, { max: 1, prepare: false, onnotice: () => {} });
});

after(async () => {
  await sql?.end({ timeout: 5 });
  await db?.drop();
});

const TEXTS = ['plain', "it's", 'back\\slash', 'quote"d', 'comma,brace{}', ' spaced ', '', 'NULL', 'ünïcödé', 'tab\there', 'new\nline', '$1'];

for (const standardStrings of ['on', 'off']) {
  test(`texts, text arrays, numbers, booleans and NULL read back as passed (standard_conforming_strings ${standardStrings})`, async () => {
    await sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL standard_conforming_strings = ${standardStrings}`);
      const inlined = inlineParameters(tx);
      const query = 'SELECT $1::text[] AS texts, $2::text AS one, $3::pg_catalog.oid[] AS oids, $4::bool AS yes, $5::int AS n, $6::text AS nothing, $7::text || $8::text || $9::text AS xyz, $10::text AS ten';
      const values = [TEXTS, "o'neil\\", [16384, 16385], true, -42, null, 'x', 'y', 'z', 'tenth'];
      const [direct] = await tx.unsafe(query, values as never);
      const [viaText] = await inlined.unsafe(query, values as never);
      assert.deepEqual(viaText, direct);
      assert.deepEqual(viaText!.texts, TEXTS);
      assert.equal(viaText!.one, "o'neil\\");
      assert.equal(viaText!.ten, 'tenth');
      assert.equal(viaText!.xyz, 'xyz');
    });
  });
}

test('a query without parameters, and the rest of the transaction object, are untouched', async () => {
  await sql.begin(async (tx) => {
    const inlined = inlineParameters(tx);
    assert.ok('savepoint' in inlined);
    const [row] = await inlined.unsafe<{ v: number }[]>('SELECT 7 AS v');
    assert.equal(row!.v, 7);
    await assert.rejects(async () => inlined.unsafe('SELECT $2::text', ['only one']), /query parameter \$2 has no value/);
  });
});
