// Catalog reading through a distant link: the reads that do not depend on each other are written together (postgres.js
// pipelines them), so reading a schema costs a handful of round trips, as many for 500 tables as for 10. Counted as
// the client's turns at the project's TCP proxy, with a delay on the link so that queries written together arrive
// together (no clock is read).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { introspect } from '@mbsync/schema-diff';
import { psqlText, scratchDatabases, type TestDatabase } from '@mbsync/testkit';
import { startTcpProxy, upstreamOf } from './support/tcp-proxy.js';

/**
 * At most this many turns read a schema (13 measured): the connection's start-up, the transaction's begin and
 * settings, the schemas to read, then the waves of catalog reads that depend on the one before, the dependencies, the
 * COMMIT. Reading each kind of object after the previous one (as before 2026-12-07) took 34.
 */
const MAX_TURNS = 14;

function tablesDdl(n: number): string {
  const out: string[] = ['CREATE TYPE public.state AS ENUM (\'a\', \'b\'); CREATE DOMAIN public.qty AS int CHECK (VALUE >= 0);'];
  for (let i = 0; i < n; i += 1) {
    out.push(`CREATE TABLE public.t${i} (id serial PRIMARY KEY, name text NOT NULL DEFAULT '', s public.state, q public.qty, ref integer${i > 0 ? ` REFERENCES public.t${i - 1}(id)` : ''});`,
      `CREATE INDEX t${i}_name_idx ON public.t${i} (name); COMMENT ON TABLE public.t${i} IS 'table ${i}';`);
  }
  return out.join('\n');
}

describe('catalog reads are pipelined: a schema costs a handful of round trips, whatever its size', { timeout: 120_000 }, () => {
  const { fresh, dropAll } = scratchDatabases();
  let small: TestDatabase;
  let big: TestDatabase;

  before(async () => {
    [small, big] = await Promise.all([fresh('turns_small'), fresh('turns_big')]);
    psqlText(small.url, tablesDdl(10));
    psqlText(big.url, tablesDdl(500));
  });
  after(() => dropAll());

  async function turnsToIntrospect(db: TestDatabase, tables: number): Promise<number> {
    const proxy = await startTcpProxy(upstreamOf(db.url), { link: { up: { delayMs: 5 }, down: { delayMs: 5 } } });
    const sql = postgres(proxy.url(db.url), { max: 1, onnotice: () => {} });
    try {
      const model = await introspect(sql);
      assert.equal(model.tables.length, tables);
      return proxy.turns;
    } finally {
      await sql.end({ timeout: 5 });
      await proxy.close();
    }
  }

  test(`introspection takes at most ${MAX_TURNS} round trips, as many for 500 tables as for 10`, async () => {
    const forSmall = await turnsToIntrospect(small, 10);
    const forBig = await turnsToIntrospect(big, 500);
    assert.ok(forSmall <= MAX_TURNS, `10 tables: ${forSmall} round trips`);
    assert.equal(forBig, forSmall, `10 tables: ${forSmall} round trips, 500 tables: ${forBig}`);
  });
});
