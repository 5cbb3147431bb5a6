// postgres.js hazards the fault suite found or relies on, through the fault proxy. The COPY hazards (porsager/postgres
// #1016 paused socket, #1173 rejected COPY FROM STDIN, large rows) are covered by packages/dump/test/driver-patches.test.ts;
// this one is the write-after-close crash (porsager/postgres#1208, patched in patches/postgres@3.4.9.patch).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { startTcpProxy, upstreamOf, type TcpProxy } from './support/tcp-proxy.js';

let db: TestDatabase;
let proxy: TcpProxy;
before(async () => {
  db = await createDatabase('faults_driver');
  proxy = await startTcpProxy(upstreamOf(db.url));
});
after(async () => {
  await proxy?.close();
  await db?.drop();
});

test('a transaction whose connection is closed (FIN) mid-statement rejects with CONNECTION_CLOSED; its ROLLBACK does not crash the process (postgres.js#1208)', async () => {
  // unpatched, begin() writes ROLLBACK on the closed connection from a setImmediate: an uncaught TypeError
  // ("Cannot read properties of null (reading 'write')") that node:test reports as a failure of this test
  const sql = postgres(proxy.url(db.url), { max: 1, onnotice: () => {}, prepare: false });
  try {
    const failed = sql.begin(async (tx) => {
      await tx`SELECT 1`;
      setTimeout(() => proxy.apply({ kind: 'cut' }), 200);
      await tx`SELECT pg_sleep(2)`;
    });
    await assert.rejects(failed, (e: { code?: string }) => e.code === 'CONNECTION_CLOSED');
    // the late ROLLBACK write would fire here
    await new Promise((r) => setTimeout(r, 300));
    // and the pool is usable again (a new connection)
    const [row] = await sql<[{ ok: number }]>`SELECT 1 AS ok`;
    assert.equal(row.ok, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});
