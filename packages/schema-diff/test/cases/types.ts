import type { DiffCase } from './case.js';
import { ok } from './case.js';

/** Enums, domains, composite and range types. */
export const typeCases: DiffCase[] = [
  {
    name: 'an enum label added on the target',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE t (m mood);`,
    after: `CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh'); CREATE TABLE t (m mood);`,
    expect: [{ objectType: 'enum', name: 'public.mood', kind: 'changed', severity: ok, detail: /labels only on the target: meh/ }],
    dataOnly: true,
  },
  {
    name: 'an enum label missing on the target blocks data-only',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh'); CREATE TABLE t (m mood);`,
    after: `CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE t (m mood);`,
    expect: [{ objectType: 'enum', name: 'public.mood', kind: 'changed', severity: { replace: 'info', 'data-only': 'blocking' }, detail: /labels missing on the target: meh/ }],
    dataOnly: false,
  },
  {
    name: 'a label missing from an array-of-enum column blocks too',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE t (ms mood[]);`,
    after: `CREATE TYPE mood AS ENUM ('happy'); CREATE TABLE t (ms mood[]);`,
    expect: [{ objectType: 'enum', name: 'public.mood', kind: 'changed', severity: { 'data-only': 'blocking' } }],
    dataOnly: false,
  },
  {
    name: 'reordered enum labels load',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE t (m mood);`,
    after: `CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (m mood);`,
    expect: [{ objectType: 'enum', name: 'public.mood', kind: 'changed', severity: ok, detail: /label order happy, sad → sad, happy/ }],
    dataOnly: true,
  },
  {
    name: 'a label missing from an unused enum only warns',
    before: `CREATE TYPE mood AS ENUM ('happy', 'sad');`,
    after: `CREATE TYPE mood AS ENUM ('happy');`,
    expect: [{ objectType: 'enum', name: 'public.mood', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' } }],
    dataOnly: true,
  },
  {
    name: 'a renamed enum is a removal plus an addition and the column no longer fits',
    before: `CREATE TYPE mood AS ENUM ('happy'); CREATE TABLE t (m mood);`,
    after: `CREATE TYPE feeling AS ENUM ('happy'); CREATE TABLE t (m feeling);`,
    expect: [
      { objectType: 'enum', name: 'public.feeling', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } },
      { objectType: 'enum', name: 'public.mood', kind: 'removed', severity: ok },
      { objectType: 'column', name: 'public.t.m', kind: 'changed', severity: { 'data-only': 'blocking' } },
    ],
    dataOnly: false,
  },
  {
    name: 'a domain constraint only on the target warns',
    before: `CREATE DOMAIN code AS text; CREATE TABLE t (c code);`,
    after: `CREATE DOMAIN code AS text CONSTRAINT short CHECK (length(VALUE) < 5) NOT NULL; CREATE TABLE t (c code);`,
    expect: [{ objectType: 'domain', name: 'public.code', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' }, detail: /NOT NULL only in the target: .*; constraint short only in the target: CHECK/ }],
    dataOnly: true,
  },
  {
    name: 'a domain base type widened',
    before: `CREATE DOMAIN qty AS int DEFAULT 0; CREATE TABLE t (q qty);`,
    after: `CREATE DOMAIN qty AS bigint DEFAULT 1; CREATE TABLE t (q qty);`,
    expect: [{ objectType: 'domain', name: 'public.qty', kind: 'changed', severity: ok, detail: /base type integer → bigint \(wider\); default 0 → 1/ }],
    dataOnly: true,
  },
  {
    name: 'a domain base type narrowed blocks when a table uses it',
    before: `CREATE DOMAIN code AS varchar(20); CREATE TABLE t (c code);`,
    after: `CREATE DOMAIN code AS varchar(10); CREATE TABLE t (c code);`,
    expect: [{ objectType: 'domain', name: 'public.code', kind: 'changed', severity: { 'data-only': 'blocking' } }],
    dataOnly: false,
  },
  {
    name: 'a composite attribute widened loads',
    before: `CREATE TYPE dims AS (w int, h int); CREATE TABLE t (d dims);`,
    after: `CREATE TYPE dims AS (w bigint, h int); CREATE TABLE t (d dims);`,
    expect: [{ objectType: 'composite', name: 'public.dims', kind: 'changed', severity: ok }],
    dataOnly: true,
  },
  {
    name: 'a composite attribute added blocks when a table uses it',
    before: `CREATE TYPE dims AS (w int, h int); CREATE TABLE t (d dims);`,
    after: `CREATE TYPE dims AS (w int, h int, depth int); CREATE TABLE t (d dims);`,
    expect: [{ objectType: 'composite', name: 'public.dims', kind: 'changed', severity: { 'data-only': 'blocking' }, detail: /different number of fields/ }],
    dataOnly: false,
  },
  {
    name: 'a range subtype change on an unused range warns',
    before: `CREATE TYPE floatrange AS RANGE (subtype = float8);`,
    after: `CREATE TYPE floatrange AS RANGE (subtype = numeric);`,
    expect: [{ objectType: 'range', name: 'public.floatrange', kind: 'changed', severity: { replace: 'info', 'data-only': 'warning' } }],
    dataOnly: true,
  },
  {
    name: 'a range only on the target',
    before: ``,
    after: `CREATE TYPE floatrange AS RANGE (subtype = float8);`,
    expect: [{ objectType: 'range', name: 'public.floatrange', kind: 'added', severity: { replace: 'warning', 'data-only': 'ok' } }],
    dataOnly: true,
  },
];
