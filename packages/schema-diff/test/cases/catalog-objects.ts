import type { DiffCase } from './case.js';
import { ok } from './case.js';

/** Collations, text search objects, casts, operators and their classes and families, conversions, statistics, typed tables, compression, options. */
export const catalogObjectCases: DiffCase[] = [
  {
    name: 'a collation only in the dump is created; one only in the target of a dumped schema is dropped by replace',
    before: `CREATE COLLATION c1 (provider = libc, locale = 'C'); CREATE TABLE t (a text);`,
    after: `CREATE COLLATION c2 (provider = libc, locale = 'C'); CREATE TABLE t (a text);`,
    expect: [
      { objectType: 'collation', name: 'public.c1', kind: 'removed', severity: ok },
      { objectType: 'collation', name: 'public.c2', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' }, detail: /replace drops it/ },
    ],
    dataOnly: true,
  },
  {
    name: 'a collation that compares differently warns data-only; its comment is compared too',
    before: `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); COMMENT ON COLLATION ci IS 'no case';`,
    after: `CREATE COLLATION ci (provider = icu, locale = 'und');`,
    expect: [{
      objectType: 'collation', name: 'public.ci', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' },
      detail: /deterministic false → true, locale und-u-ks-level2 → und: comparisons.*; comment no case → none/,
    }],
    dataOnly: true,
  },
  {
    name: 'text search configurations differ in their mappings',
    before: `CREATE TEXT SEARCH CONFIGURATION cfg (COPY = english);`,
    after: `CREATE TEXT SEARCH CONFIGURATION cfg (COPY = simple);`,
    expect: [{ objectType: 'text search configuration', name: 'public.cfg', kind: 'changed', severity: ok, detail: /mappings differ: asciihword \(english_stem → simple\); asciiword \(english_stem → simple\);/ }],
    dataOnly: true,
  },
  {
    name: 'text search dictionary options; a template only in the dump, a parser only in the target',
    before: `CREATE TEXT SEARCH DICTIONARY d (TEMPLATE = simple, STOPWORDS = english); CREATE TEXT SEARCH TEMPLATE tpl (LEXIZE = dsimple_lexize);`,
    after: `CREATE TEXT SEARCH DICTIONARY d (TEMPLATE = simple);
      CREATE TEXT SEARCH PARSER prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);`,
    expect: [
      { objectType: 'text search dictionary', name: 'public.d', kind: 'changed', severity: ok, detail: /options stopwords = 'english' → none/ },
      { objectType: 'text search template', name: 'public.tpl', kind: 'removed', severity: ok },
      { objectType: 'text search parser', name: 'public.prs', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
    ],
    dataOnly: true,
  },
  {
    name: 'casts: a different context; one on a dumped type only in the target is dropped by replace',
    before: `CREATE TYPE e AS ENUM ('a'); CREATE TYPE f AS ENUM ('a'); CREATE CAST (e AS f) WITH INOUT;`,
    after: `CREATE TYPE e AS ENUM ('a'); CREATE TYPE f AS ENUM ('a'); CREATE CAST (e AS f) WITH INOUT AS IMPLICIT; CREATE CAST (f AS e) WITH INOUT;`,
    expect: [
      { objectType: 'cast', name: '(public.e AS public.f)', kind: 'changed', severity: ok, detail: /context explicit → implicit/ },
      { objectType: 'cast', name: '(public.f AS public.e)', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' }, detail: /with public/ },
    ],
    dataOnly: true,
  },
  {
    name: 'an operator\'s options, an operator class\'s members (data-only warns), a family only in the target',
    before: `CREATE FUNCTION eq3(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
      CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = eq3);
      CREATE OPERATOR CLASS rev FOR TYPE int4 USING btree AS OPERATOR 1 >, OPERATOR 3 =, OPERATOR 5 <, FUNCTION 1 btint4cmp(int4, int4);`,
    after: `CREATE FUNCTION eq3(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
      CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = eq3, HASHES);
      CREATE OPERATOR CLASS rev FOR TYPE int4 USING btree AS OPERATOR 1 <, OPERATOR 3 =, OPERATOR 5 >, FUNCTION 1 btint4cmp(int4, int4);
      CREATE OPERATOR FAMILY extra USING hash;`,
    expect: [
      { objectType: 'operator', name: 'public.===(integer, integer)', kind: 'changed', severity: ok, detail: /hashes false → true/ },
      { objectType: 'operator class', name: 'public.rev USING btree', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' }, detail: /operators differ/ },
      { objectType: 'operator family', name: 'public.extra USING hash', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
    ],
    dataOnly: true,
  },
  {
    name: 'statistics objects differ in kinds and target; a conversion only in the dump',
    before: `CREATE TABLE t (a int, b int); CREATE STATISTICS s ON a, b FROM t;
      CREATE CONVERSION conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;`,
    after: `CREATE TABLE t (a int, b int); CREATE STATISTICS s (ndistinct) ON a, b FROM t; ALTER STATISTICS s SET STATISTICS 10;`,
    expect: [
      { objectType: 'statistics', name: 'public.s', kind: 'changed', severity: ok, detail: /definition CREATE STATISTICS public\.s ON a, b FROM public\.t → CREATE STATISTICS public\.s \(ndistinct\) ON a, b FROM public\.t, target none → 10/ },
      { objectType: 'conversion', name: 'public.conv', kind: 'removed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'a typed table against a plain one; column compression and options (the server\'s own pg_* options never compared)',
    before: `CREATE TYPE pt AS (a int, b text); CREATE TABLE typed OF pt;
      CREATE TABLE c (t text COMPRESSION pglz, n int); ALTER TABLE c ALTER COLUMN n SET (n_distinct = 5);`,
    after: `CREATE TYPE pt AS (a int, b text); CREATE TABLE typed (a int, b text); CREATE TABLE c (t text, n int);`,
    expect: [
      { objectType: 'table', name: 'public.typed', kind: 'changed', severity: ok, detail: /of type public\.pt → none/ },
      { objectType: 'column', name: 'public.c.t', kind: 'changed', severity: ok, detail: /^compression pglz → none$/ },
      { objectType: 'column', name: 'public.c.n', kind: 'changed', severity: ok, detail: /^options n_distinct=5 → none$/ },
    ],
    dataOnly: true,
  },
];
