import type { DiffCase } from './case.js';
import { ok } from './case.js';

/** Tables and columns: presence, renames, order, types (widening vs narrowing), defaults, nullability. */
export const tableCases: DiffCase[] = [
  {
    name: 'identical tables report nothing',
    before: `CREATE TABLE parts (id int PRIMARY KEY, sku text NOT NULL, qty int DEFAULT 0);`,
    after: `CREATE TABLE parts (id int PRIMARY KEY, sku text NOT NULL, qty int DEFAULT 0);`,
    expect: [],
    dataOnly: true,
  },
  {
    name: 'a table only in the dump blocks data-only',
    before: `CREATE TABLE parts (id int); CREATE TABLE bins (id int);`,
    after: `CREATE TABLE parts (id int);`,
    expect: [{ objectType: 'table', name: 'public.bins', kind: 'removed', severity: { replace: 'info', 'data-only': 'blocking' } }],
    dataOnly: false,
  },
  {
    name: 'a table only in the target is destructive for replace',
    before: `CREATE TABLE parts (id int);`,
    after: `CREATE TABLE parts (id int); CREATE TABLE bins (id int);`,
    expect: [{ objectType: 'table', name: 'public.bins', kind: 'added', severity: { replace: 'destructive', 'data-only': 'ok' } }],
    dataOnly: true,
  },
  {
    name: 'a renamed table is a removal plus an addition',
    before: `CREATE TABLE parts (id int);`,
    after: `CREATE TABLE components (id int);`,
    expect: [
      { objectType: 'table', name: 'public.parts', kind: 'removed', severity: { 'data-only': 'blocking' } },
      { objectType: 'table', name: 'public.components', kind: 'added', severity: { replace: 'destructive' } },
    ],
    dataOnly: false,
  },
  {
    name: 'a renamed column is a removal plus an addition',
    before: `CREATE TABLE parts (id int, sku text);`,
    after: `CREATE TABLE parts (id int, code text);`,
    expect: [
      { objectType: 'column', name: 'public.parts.sku', kind: 'removed', severity: { replace: 'info', 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.parts.code', kind: 'added', severity: { replace: 'destructive', 'data-only': 'ok' } },
    ],
    dataOnly: false,
  },
  {
    name: 'column order is not a data difference',
    before: `CREATE TABLE parts (id int, sku text, qty int);`,
    after: `CREATE TABLE parts (id int, qty int, sku text);`,
    expect: [{ objectType: 'table', name: 'public.parts', kind: 'changed', severity: ok, detail: /column order id, sku, qty → id, qty, sku/ }],
    dataOnly: true,
  },
  {
    name: 'column order ignores dropped columns',
    before: `CREATE TABLE parts (id int, sku text);`,
    after: `CREATE TABLE parts (id int, gone int, sku text); ALTER TABLE parts DROP COLUMN gone;`,
    expect: [],
    dataOnly: true,
  },
  {
    name: 'numeric widening is safe',
    before: `CREATE TABLE m (a smallint, b integer, c integer, d bigint, e real, f smallint[], g integer, h smallint);`,
    after: `CREATE TABLE m (a integer, b bigint, c numeric, d numeric, e double precision, f bigint[], g numeric(10,0), h double precision);`,
    expect: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((c) => ({ objectType: 'column' as const, name: `public.m.${c}`, kind: 'changed' as const, severity: ok, detail: /wider/ })),
    dataOnly: true,
  },
  {
    name: 'integer narrowing blocks data-only',
    before: `CREATE TABLE m (a bigint, b integer, c integer, d bigint);`,
    after: `CREATE TABLE m (a integer, b smallint, c numeric(9,0), d double precision);`,
    expect: ['a', 'b', 'c', 'd'].map((c) => ({ objectType: 'column' as const, name: `public.m.${c}`, kind: 'changed' as const, severity: { replace: 'info' as const, 'data-only': 'blocking' as const } })),
    dataOnly: false,
  },
  {
    name: 'character widening is safe',
    before: `CREATE TABLE s (a varchar(10), b varchar(10), c char(3), d varchar(10), e text, f char(3));`,
    after: `CREATE TABLE s (a varchar(20), b text, c text, d varchar, e varchar, f varchar(3));`,
    expect: ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => ({ objectType: 'column' as const, name: `public.s.${c}`, kind: 'changed' as const, severity: ok })),
    dataOnly: true,
  },
  {
    name: 'character narrowing blocks data-only',
    before: `CREATE TABLE s (a varchar(20), b text, c char(3), d varchar(5));`,
    after: `CREATE TABLE s (a varchar(10), b varchar(50), c char(5), d char(5));`,
    expect: ['a', 'b', 'c', 'd'].map((c) => ({ objectType: 'column' as const, name: `public.s.${c}`, kind: 'changed' as const, severity: { 'data-only': 'blocking' as const } })),
    dataOnly: false,
  },
  {
    name: 'numeric precision widening with the same scale is safe',
    before: `CREATE TABLE n (a numeric(10,2), b numeric(10,2));`,
    after: `CREATE TABLE n (a numeric(12,2), b numeric);`,
    expect: [
      { objectType: 'column', name: 'public.n.a', kind: 'changed', severity: ok },
      { objectType: 'column', name: 'public.n.b', kind: 'changed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'numeric scale changes and lost precision block data-only',
    before: `CREATE TABLE n (a numeric(10,2), b numeric, c numeric(12,2));`,
    after: `CREATE TABLE n (a numeric(10,3), b numeric(20,4), c numeric(10,2));`,
    expect: ['a', 'b', 'c'].map((c) => ({ objectType: 'column' as const, name: `public.n.${c}`, kind: 'changed' as const, severity: { 'data-only': 'blocking' as const } })),
    dataOnly: false,
  },
  {
    name: 'timestamp to timestamptz reinterprets values',
    before: `CREATE TABLE e (a timestamp, b timestamptz, c timestamp(6), d timestamp(0));`,
    after: `CREATE TABLE e (a timestamptz, b timestamp, c timestamp(3), d timestamp);`,
    expect: [
      { objectType: 'column', name: 'public.e.a', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.e.b', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.e.c', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.e.d', kind: 'changed', severity: ok },
    ],
    dataOnly: false,
  },
  {
    name: 'json to jsonb and date to timestamp are not widening',
    before: `CREATE TABLE j (a json, b date, c interval day);`,
    after: `CREATE TABLE j (a jsonb, b timestamp, c interval);`,
    expect: [
      { objectType: 'column', name: 'public.j.a', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.j.b', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.j.c', kind: 'changed', severity: ok },
    ],
    dataOnly: false,
  },
  {
    name: 'extra target columns that fill themselves allow data-only',
    before: `CREATE TABLE parts (id int);`,
    after: `CREATE TABLE parts (id int, note text, qty int NOT NULL DEFAULT 0, made timestamptz NOT NULL DEFAULT now(),
      twice int GENERATED ALWAYS AS (id * 2) STORED, serial_no int GENERATED BY DEFAULT AS IDENTITY);`,
    expect: ['note', 'qty', 'made', 'twice', 'serial_no'].map((c) => ({
      objectType: 'column' as const, name: `public.parts.${c}`, kind: 'added' as const, severity: { replace: 'destructive' as const, 'data-only': 'ok' as const },
    })),
    dataOnly: true,
  },
  {
    name: 'an extra NOT NULL target column without default blocks data-only',
    before: `CREATE TABLE parts (id int);`,
    after: `CREATE TABLE parts (id int, sku text NOT NULL);`,
    expect: [{ objectType: 'column', name: 'public.parts.sku', kind: 'added', severity: { replace: 'destructive', 'data-only': 'blocking' } }],
    dataOnly: false,
  },
  {
    name: 'default changes are informational',
    before: `CREATE TABLE parts (id int, qty int DEFAULT 0, note text);`,
    after: `CREATE TABLE parts (id int, qty int DEFAULT 1, note text DEFAULT 'x');`,
    expect: [
      { objectType: 'column', name: 'public.parts.qty', kind: 'changed', severity: ok, detail: /default 0 → 1/ },
      { objectType: 'column', name: 'public.parts.note', kind: 'changed', severity: ok, detail: /default none → 'x'::text/ },
    ],
    dataOnly: true,
  },
  {
    name: 'NOT NULL only on the target warns, only in the dump is fine',
    before: `CREATE TABLE parts (a int, b int NOT NULL);`,
    after: `CREATE TABLE parts (a int NOT NULL, b int);`,
    expect: [
      { objectType: 'column', name: 'public.parts.a', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' } },
      { objectType: 'column', name: 'public.parts.b', kind: 'changed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'a generated column only on the target blocks data-only',
    before: `CREATE TABLE g (id int, twice int, thrice int GENERATED ALWAYS AS (id * 3) STORED);`,
    after: `CREATE TABLE g (id int, twice int GENERATED ALWAYS AS (id * 2) STORED, thrice int);`,
    expect: [
      { objectType: 'column', name: 'public.g.twice', kind: 'changed', severity: { 'data-only': 'blocking' } },
      { objectType: 'column', name: 'public.g.thrice', kind: 'changed', severity: ok },
    ],
    dataOnly: false,
  },
  {
    name: 'collation and comment changes are informational',
    before: `CREATE TABLE c (a text COLLATE "C", b text); COMMENT ON TABLE c IS 'old'; COMMENT ON COLUMN c.b IS 'bee';`,
    after: `CREATE TABLE c (a text, b text); COMMENT ON TABLE c IS 'new';`,
    expect: [
      { objectType: 'table', name: 'public.c', kind: 'changed', severity: ok, detail: /comment old → new/ },
      { objectType: 'column', name: 'public.c.a', kind: 'changed', severity: ok, detail: /collation/ },
      { objectType: 'column', name: 'public.c.b', kind: 'changed', severity: ok, detail: /comment bee → none/ },
    ],
    dataOnly: true,
  },
  {
    name: 'a constrained domain on the target warns',
    before: `CREATE TABLE parts (qty int, price numeric);`,
    after: `CREATE DOMAIN posint AS int CHECK (VALUE > 0); CREATE TABLE parts (qty posint, price numeric);`,
    expect: [
      { objectType: 'domain', name: 'public.posint', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
      { objectType: 'column', name: 'public.parts.qty', kind: 'changed', severity: { 'data-only': 'warning' } },
    ],
    dataOnly: true,
  },
  {
    name: 'an enum column becoming text loads',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE t (m mood);`,
    after: `CREATE TABLE t (m text);`,
    expect: [
      { objectType: 'enum', name: 'public.mood', kind: 'removed', severity: ok },
      { objectType: 'column', name: 'public.t.m', kind: 'changed', severity: ok },
    ],
    dataOnly: true,
  },
  {
    name: 'partitions: a bound change warns, an extra partition is destructive',
    before: `CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`,
    after: `CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
      CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');`,
    expect: [
      { objectType: 'table', name: 'public.events_2024', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' }, detail: /partition bound/ },
      { objectType: 'table', name: 'public.events_2025', kind: 'added', severity: { replace: 'destructive', 'data-only': 'ok' } },
    ],
    dataOnly: true,
  },
  {
    name: 'persistence and storage parameters are informational',
    before: `CREATE TABLE t (id int);`,
    after: `CREATE UNLOGGED TABLE t (id int) WITH (fillfactor = 70);`,
    expect: [{ objectType: 'table', name: 'public.t', kind: 'changed', severity: ok, detail: /persistence permanent → unlogged; storage parameters none → fillfactor=70/ }],
    dataOnly: true,
  },
];
