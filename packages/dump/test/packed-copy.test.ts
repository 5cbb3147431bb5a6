import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createDatabase, psqlText, scratchDatabases, type TestDatabase } from '@mbsync/testkit';
import { DumpError } from '../src/errors.js';
import { BinaryColumnReader, copyLine, countLines, probePacking, unpackRange } from '../src/parallel/packed-copy.js';
import { exportSessionSettingsSql } from '../src/dump-format.js';
import { packedRendering } from '../src/parallel/copy-format.js';
import { introspect } from '@mbsync/schema-diff';
import { parallelSyncLikeARunner } from './support/parallel.js';
import { stateOf } from './support/databases.js';

const corrupt = (error: unknown) => error instanceof DumpError && error.code === 'DUMP_CORRUPT';

describe('packed COPY: binary COPY of one bytea column, in any chunks', () => {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])]);
  const tuple = (value: Buffer | null) => {
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(value ? value.length : -1, 2);
    return value ? Buffer.concat([head, value]) : head;
  };
  const values = [randomBytes(5), Buffer.alloc(0), randomBytes(70_000), randomBytes(1)];
  const stream = Buffer.concat([header, ...values.map(tuple), tuple(null), Buffer.from([0xff, 0xff])]);

  test('whole, byte by byte and in uneven chunks: the same values, NULL skipped, the trailer seen', () => {
    for (const size of [stream.length, 1, 7, 4096]) {
      const reader = new BinaryColumnReader();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...reader.push(stream.subarray(i, i + size)));
      assert.deepEqual(out, values, `chunks of ${size}`);
      assert.equal(reader.ended, true);
    }
  });

  test('a tuple of two fields, a wrong signature or bytes after the trailer are refused', () => {
    assert.throws(() => new BinaryColumnReader().push(Buffer.concat([header, Buffer.from([0, 2, 0, 0, 0, 0])])), corrupt);
    assert.throws(() => new BinaryColumnReader().push(Buffer.from('PGCOPX\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1')), corrupt);
    assert.throws(() => new BinaryColumnReader().push(Buffer.concat([stream, Buffer.from([0])])), corrupt);
  });
});

describe('packed COPY against a real pgcrypto', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createDatabase('packed_unit');
    psqlText(db.url, 'CREATE EXTENSION pgcrypto');
  });
  after(async () => {
    await db?.drop();
  });

  const OPTIONS = 'compress-algo=1, compress-level=1, cipher-algo=aes128, s2k-mode=0, s2k-digest-algo=sha1, unicode-mode=1';
  const pack = async (on: TestDatabase, fn: string, text: string) => {
    const [row] = await on.sql.unsafe<{ packed: Buffer }[]>(`SELECT ${fn}($1::text, 'mbsync', '${OPTIONS}') AS packed`, [text]);
    return Buffer.from(row!.packed);
  };

  test('unpacks what pgcrypto packs, from empty to several MB (partial packet lengths), and refuses a changed byte', async () => {
    const fn = (await db.sql.begin((tx) => probePacking(tx)))?.fn;
    assert.equal(fn, 'public.pgp_sym_encrypt');
    const compressible = Array.from({ length: 120_000 }, (_, i) => `${i}\trow ${i % 97}\t{a,b}\tünï ✓\n`).join('');
    for (const text of ['', 'x', randomBytes(300_000).toString('base64'), compressible]) {
      assert.equal(unpackRange(await pack(db, fn!, text)).toString('utf8'), text);
    }
    const packed = await pack(db, fn!, compressible);
    assert.ok(packed.length < Buffer.byteLength(compressible) / 3, `${Buffer.byteLength(compressible)} bytes packed to ${packed.length}`);
    for (const at of [packed.length - 3, packed.length >> 1, 30]) {
      const changed = Buffer.from(packed);
      changed[at] = changed[at]! ^ 0x40;
      assert.throws(() => unpackRange(changed), corrupt, `byte ${at} changed`);
    }
    assert.throws(() => unpackRange(packed.subarray(0, packed.length - 1)), corrupt);
  });

  test('a LATIN1 server packs its text as UTF-8, the target session\'s encoding', async () => {
    const latin = await createDatabase('packed_latin1', { encoding: 'LATIN1' });
    try {
      psqlText(latin.url, 'CREATE EXTENSION pgcrypto');
      const fn = (await latin.sql.begin((tx) => probePacking(tx)))?.fn;
      assert.equal(fn, 'public.pgp_sym_encrypt');
      assert.deepEqual(unpackRange(await pack(latin, fn!, 'café')), Buffer.from('café', 'utf8'));
    } finally {
      await latin.drop();
    }
  });

  test('a line as text COPY writes it, byte for byte, for every kind of type; plain columns by ::text', async () => {
    psqlText(db.url, `
      CREATE TYPE public.mood AS ENUM ('ok', 'so "so"', 'a,b', 'tab\there');
      CREATE TYPE public.pair AS (label text, n int);
      CREATE TABLE public.kinds (id int, flag boolean, code character(6), addr inet, net cidr, mac macaddr, cash money,
        label text, mood public.mood, moods public.mood[], pair public.pair, span tstzrange, meta jsonb, doc json, tags text[],
        at timestamptz, day date, took interval, f float8, r real, n numeric, u uuid, bits bit varying(8), x xml, c "char", nm name);
      INSERT INTO public.kinds VALUES
        (1, true, 'ab', '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', 12.5, E'back\\\\slash\nnew\rcr\ttab "q" \\\\N', 'so "so"',
         '{ok,"a,b","tab\there"}', ROW(E'x\\\\y', 3), '[2024-01-01 00:00:00+00,2024-01-02 00:00:00+00)', '{"a": "line\\nbreak", "b": [1, null]}',
         '{ "spaced" : 1 }', ARRAY[E'with\\\\back', NULL, '', 'sp ace'], '2024-05-06 07:08:09.123456+00', '2024-02-29', '1 day 02:03:04',
         'NaN', '-0', '123456789012345678901234567890.000100', '6ecd8c99-4036-403d-bf84-cf8400f67836', B'1011', '<a>t</a>', 'q', 'some name'),
        (2, false, NULL, NULL, NULL, NULL, NULL, '', 'tab\there', '{}', ROW(NULL, NULL), 'empty', 'null', '[]', '{}',
         'infinity', '-infinity', '-1 mon', 'Infinity', '1e-40', 'NaN', NULL, B'', NULL, ' ', ''),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`);
    const { packing, model } = await db.sql.begin(async (tx) => {
      await tx.unsafe(exportSessionSettingsSql());
      return { packing: (await probePacking(tx))!, model: await introspect(tx) };
    });
    const table = model.tables.find((t) => t.name === 'kinds')!;
    const rendering = packedRendering(model, packing.castsToText);
    const columns = [...table.columns].sort((a, b) => a.position - b.position).map((c) => ({ name: c.name, render: rendering(c.type) }));
    const rendered = Object.fromEntries(columns.map((c) => [c.name, c.render]));
    // ::text of these is a cast of their own, not their output: 'true', trimmed padding, a netmask
    for (const name of ['flag', 'code', 'addr', 'net']) assert.equal(rendered[name], 'output', name);
    for (const name of ['id', 'at', 'day', 'f', 'r', 'n', 'u']) assert.equal(rendered[name], 'plain', name);
    assert.equal(rendered.meta, 'jsonb');
    for (const name of ['label', 'mood', 'moods', 'pair', 'tags', 'doc']) assert.equal(rendered[name], 'text', name);
    const line = copyLine(columns);
    const [ours, copied] = await db.sql.begin(async (tx) => {
      await tx.unsafe(exportSessionSettingsSql());
      const [row] = await tx.unsafe<{ text: string }[]>(`SELECT pg_catalog.string_agg(${line} || E'\\n', '' ORDER BY t.id) AS text FROM public.kinds t`);
      const stream = await tx.unsafe('COPY (SELECT * FROM public.kinds ORDER BY id) TO STDOUT').readable();
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return [row!.text, Buffer.concat(chunks).toString('utf8')];
    });
    assert.equal(ours, copied);
    assert.equal(countLines(Buffer.from(ours)), 3);
  });

  test('a table of 120 columns (past concat_ws\'s 100 arguments): the same line as COPY\'s', async () => {
    const names = Array.from({ length: 120 }, (_, i) => `c${i}`);
    psqlText(db.url, `CREATE TABLE public.wide (${names.map((n, i) => `${n} ${i % 2 ? 'text' : 'int'}`).join(', ')});
      INSERT INTO public.wide VALUES (${names.map((_, i) => (i % 2 ? `E'v${i}\\\\t\\\\n'` : String(i))).join(', ')}), (${names.map(() => 'NULL').join(', ')});`);
    const line = copyLine(names.map((name, i) => ({ name, render: i % 2 ? 'text' : 'plain' })));
    assert.ok(!line.startsWith('pg_catalog.concat_ws('));
    const [ours, copied] = await db.sql.begin(async (tx) => {
      await tx.unsafe(exportSessionSettingsSql());
      const [row] = await tx.unsafe<{ text: string }[]>(`SELECT pg_catalog.string_agg(${line} || E'\\n', '' ORDER BY t.c0 NULLS LAST) AS text FROM public.wide t`);
      const stream = await tx.unsafe('COPY (SELECT * FROM public.wide ORDER BY c0 NULLS LAST) TO STDOUT').readable();
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return [row!.text, Buffer.concat(chunks).toString('utf8')];
    });
    assert.equal(ours, copied);
  });

  test('no pgcrypto, or no right to call it: not packed, and the transaction goes on', async () => {
    const plain = await createDatabase('packed_none');
    try {
      assert.equal(await plain.sql.begin(async (tx) => {
        const fn = await probePacking(tx);
        await tx`SELECT 1`;
        return fn;
      }), null);
    } finally {
      await plain.drop();
    }
    psqlText(db.url, `CREATE ROLE mbsync_packed_nobody NOLOGIN; REVOKE EXECUTE ON FUNCTION public.pgp_sym_encrypt(text, text, text) FROM PUBLIC;`);
    try {
      assert.equal(await db.sql.begin(async (tx) => {
        await tx`SET LOCAL ROLE mbsync_packed_nobody`;
        return probePacking(tx);
      }), null);
    } finally {
      psqlText(db.url, `GRANT EXECUTE ON FUNCTION public.pgp_sym_encrypt(text, text, text) TO PUBLIC; DROP ROLE mbsync_packed_nobody;`);
    }
  });
});

describe('parallel sync with packed tables', { timeout: 300_000 }, () => {
  const { fresh, dropAll } = scratchDatabases();
  after(dropAll);

  const SOURCE = `
    CREATE SCHEMA app;
    CREATE TYPE app.mood AS ENUM ('ok', 'sad', 'so "so"', 'a,b');
    CREATE DOMAIN app.positive AS numeric(12,2) CHECK (VALUE > 0);
    CREATE TYPE app.pair AS (label text, mood app.mood);
    CREATE TYPE app.floatrange AS RANGE (subtype = float8);
    CREATE TABLE app.orders (
      id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, mood app.mood NOT NULL, moods app.mood[], amount app.positive,
      pair app.pair, span app.floatrange, note text, meta jsonb, tags text[], at timestamptz, f float8, n numeric,
      dropped_later int, total numeric GENERATED ALWAYS AS (amount * 2) STORED);
    INSERT INTO app.orders (mood, moods, amount, pair, span, note, meta, tags, at, f, n)
    SELECT (ARRAY['ok', 'sad', 'so "so"', 'a,b'])[1 + g % 4]::app.mood,
      CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY['ok', 'a,b']::app.mood[] END,
      CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 1000) + 0.25 END,
      CASE WHEN g % 3 = 0 THEN NULL ELSE ROW('lbl ' || g || E' "q" \\\\ (x)', 'so "so"')::app.pair END,
      CASE WHEN g % 4 = 0 THEN NULL ELSE app.floatrange(g, g + 1.5, '[)') END,
      CASE g % 6 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'tab\\there\\nnew line\\r\\\\N back\\\\slash' WHEN 3 THEN 'ünïcödé ✓ ' || g ELSE repeat('note ' || g % 50, 8) || chr(8) || chr(11) || chr(12) END,
      jsonb_build_object('g', g, 's', 'v' || g % 13, 'nested', jsonb_build_array(1, 'two', null)),
      ARRAY['t' || g % 9, NULL, 'with space', '', '"q"'],
      '2024-01-01 00:00:00+00'::timestamptz + g * interval '37 seconds',
      (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '0.1', '1e-310']::float8[])[1 + g % 6],
      (ARRAY['NaN', '0', '-1.500', '123456789012345678901234567890.123456789']::numeric[])[1 + g % 4]
    FROM generate_series(1, 60000) g;
    ALTER TABLE app.orders DROP COLUMN dropped_later;
    DELETE FROM app.orders WHERE id % 11 = 0;
    UPDATE app.orders SET note = note || ' (updated)' WHERE id % 13 = 0;
    CREATE TABLE app.files (id int PRIMARY KEY, body bytea NOT NULL);
    INSERT INTO app.files SELECT g, decode(md5(g::text) || md5((g * 7)::text), 'hex') FROM generate_series(1, 20000) g;
    CREATE TABLE app.small (id int PRIMARY KEY, label text);
    INSERT INTO app.small SELECT g, 'small ' || g FROM generate_series(1, 50) g;
    CREATE TABLE app.empty (id int PRIMARY KEY, label text);
    ANALYZE;`;

  test('packed where it pays, binary for bytea, plain for small tables; identical value by value; no pgcrypto: as before', async () => {
    const source = await fresh('pack_src');
    psqlText(source.url, `CREATE EXTENSION pgcrypto;${SOURCE}`);
    const target = await fresh('pack_dst');
    const result = await parallelSyncLikeARunner(source, target, { jobs: 2, pack: true });
    assert.equal(result.fallback, undefined);
    const byKey = new Map(result.tables.map((t) => [`${t.schema}.${t.name}`, t]));
    assert.equal(byKey.get('app.orders')?.format, 'packed');
    assert.equal(byKey.get('app.files')?.format, 'binary');
    assert.notEqual(byKey.get('app.small')?.format, 'packed');
    assert.notEqual(byKey.get('app.empty')?.format, 'packed');
    const [counted] = await source.sql<{ rows: number }[]>`SELECT count(*)::int AS rows FROM app.orders`;
    assert.equal(byKey.get('app.orders')!.rows, counted!.rows);
    assert.deepEqual(await stateOf(target), await stateOf(source));

    // the same copy unpacked: more bytes from the source
    const unpacked = await fresh('pack_plain');
    const plain = await parallelSyncLikeARunner(source, unpacked, { jobs: 2 });
    assert.deepEqual(await stateOf(unpacked), await stateOf(source));
    const packedBytes = byKey.get('app.orders')!.bytes;
    const plainBytes = plain.tables.find((t) => t.name === 'orders')!.bytes;
    assert.ok(packedBytes < plainBytes / 3, `orders: packed ${packedBytes} bytes, plain ${plainBytes}`);

    // a source without pgcrypto: asked to pack, it copies as before
    const bare = await fresh('pack_bare');
    psqlText(bare.url, SOURCE);
    const bareTarget = await fresh('pack_bare_dst');
    const bareResult = await parallelSyncLikeARunner(bare, bareTarget, { jobs: 2, pack: true });
    assert.ok(bareResult.tables.every((t) => t.format !== 'packed'));
    assert.deepEqual(await stateOf(bareTarget), await stateOf(bare));
  });

  test('a table larger than one range crosses in several, none lost or doubled, while the source changes after the snapshot', async () => {
    const source = await fresh('pack_big');
    psqlText(source.url, `CREATE EXTENSION pgcrypto;
      CREATE TABLE public.big (id int PRIMARY KEY, label text NOT NULL, n numeric);
      INSERT INTO public.big SELECT g, repeat(chr(65 + g % 26), 40 + g % 60), g / 7.0 FROM generate_series(1, 200000) g;
      DELETE FROM public.big WHERE id % 3 = 0;
      ANALYZE;`);
    const expected = await stateOf(source);
    const target = await fresh('pack_big_dst');
    // rows written once the sync's snapshot is taken must not appear in the copy
    const result = await parallelSyncLikeARunner(source, target, {
      jobs: 2, pack: true,
      check: async () => {
        await source.sql`INSERT INTO public.big SELECT g, 'late', 0 FROM generate_series(300001, 310000) g`;
      },
    });
    const big = result.tables.find((t) => t.name === 'big')!;
    assert.equal(big.format, 'packed');
    assert.equal(big.rows, 133334);
    assert.deepEqual(await stateOf(target), expected);
  });

  test('a lane killed mid packed COPY, or the sync cancelled: it fails, the target is as it was, no staging schema left', async () => {
    const source = await fresh('pack_kill_src');
    psqlText(source.url, `CREATE EXTENSION pgcrypto;
      CREATE TABLE public.big (id int PRIMARY KEY, label text NOT NULL);
      INSERT INTO public.big SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) FROM generate_series(1, 300000) g;`);
    for (const how of ['kill', 'cancel'] as const) {
      const target = await fresh(`pack_${how}_dst`);
      psqlText(target.url, `CREATE TABLE public.big (id int PRIMARY KEY, label text); INSERT INTO public.big VALUES (1, 'mine');`);
      const before = await stateOf(target);
      const controller = new AbortController();
      let acted: Promise<number> | null = null;
      const error = await parallelSyncLikeARunner(source, target, {
        jobs: 2, pack: true, signal: controller.signal,
        onProgress: (p) => {
          if (acted || p.table !== 'public.big' || !p.bytesDone) return;
          // the target's COPY lasts until the last range is unpacked and written: at the first, most are still to come
          acted = how === 'cancel' ? Promise.resolve(controller.abort()).then(() => 1) : target.sql<{ n: number }[]>`
            SELECT count(pg_catalog.pg_terminate_backend(pid))::int AS n FROM pg_catalog.pg_stat_activity
            WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY mbsync\\_stage\\_%.big (%'`.then((rows) => rows[0]!.n);
        },
      }).then(() => null, (e: unknown) => e);
      assert.equal(await acted, 1, `${how}: one packed COPY was under way`);
      assert.ok(error instanceof DumpError, `${how}: ${String(error)}`);
      if (how === 'cancel') assert.equal(error.code, 'DUMP_CANCELLED');
      assert.deepEqual(await stateOf(target), before);
      const staging = await target.sql`SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE 'mbsync\\_stage\\_%'`;
      assert.equal(staging.length, 0, `${how}: no staging schema left`);
    }
  });
});
