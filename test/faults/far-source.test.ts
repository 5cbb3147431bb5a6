// SYNC_COPY_FORMAT=auto decides by the source's round trip: through a link with delay (the project's TCP proxy, as the
// WAN bench uses it) the text tables go packed, deflated by the source; straight from loopback they go binary; a
// setting other than auto is taken as it is. Every copy is compared value by value with the source.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAR_ROUND_TRIP_MS } from '@mbsync/dump';
import { runSync, type SyncJobResult } from '@mbsync/execution';
import { describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import { psqlText, scratchDatabases, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { startTcpProxy, upstreamOf, type TcpProxy } from './support/tcp-proxy.js';

describe('auto copy format: a far source packs, a near one does not', { timeout: 180_000 }, () => {
  const { fresh, dropAll } = scratchDatabases();
  let dir: string;
  let source: TestDatabase;
  let proxy: TcpProxy;
  const logged: Record<string, unknown>[] = [];
  const logger = { info: (details: Record<string, unknown>) => void logged.push(details), warn: () => {} };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-far-source-'));
    source = await fresh('far_src');
    psqlText(source.url, `CREATE EXTENSION pgcrypto;
      CREATE TYPE public.state AS ENUM ('draft', 'live', 'gone');
      CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL, state public.state, meta jsonb, at timestamptz);
      INSERT INTO public.notes SELECT g, repeat('multiboard part ' || g % 40 || E'\\t', 6), (ARRAY['draft','live','gone'])[1 + g % 3]::public.state,
        jsonb_build_object('g', g % 9), '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20000) g;
      ANALYZE;`);
    // 2.5 ms each way: a 5 ms round trip at least, whatever the machine adds
    proxy = await startTcpProxy(upstreamOf(source.url), { link: { up: { delayMs: FAR_ROUND_TRIP_MS / 2 }, down: { delayMs: FAR_ROUND_TRIP_MS / 2 } } });
  });
  after(async () => {
    await proxy?.close();
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  async function syncVia(name: string, url: string, format?: string): Promise<SyncJobResult> {
    const target = await fresh(`far_${name}`);
    const config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups'), ...(format ? { SYNC_COPY_FORMAT: format } : {}) });
    const result = await runSync({ source: describeEnvironment('src', url), target: describeEnvironment(name, target.url), jobs: 2, noBackup: true, config, logger });
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql), `${name}: the copy differs from the source`);
    return result;
  }

  test('through a 5 ms round trip auto packs (a third of the bytes of smaller); on loopback it sends binary; a setting is kept', async () => {
    const far = await syncVia('auto_far', proxy.url(source.url));
    assert.equal(far.copyFormat?.chosen, 'packed');
    assert.ok(far.copyFormat.roundTripMs !== null && far.copyFormat.roundTripMs >= FAR_ROUND_TRIP_MS, `round trip ${far.copyFormat.roundTripMs} ms`);
    assert.equal(far.copyFormat.packedTables, 1, 'notes went packed');
    assert.ok(logged.some((l) => l.copyFormat === 'packed'), 'the choice is logged');

    const near = await syncVia('auto_near', source.url);
    assert.equal(near.copyFormat?.chosen, 'binary');
    assert.ok(near.copyFormat.roundTripMs !== null && near.copyFormat.roundTripMs < FAR_ROUND_TRIP_MS);
    assert.equal(near.copyFormat.packedTables, 0);

    const kept = await syncVia('smaller_far', proxy.url(source.url), 'smaller');
    assert.deepEqual(kept.copyFormat, { chosen: 'smaller', roundTripMs: null, packedTables: 0 }, 'a setting other than auto is not second-guessed');
    assert.ok(far.export.dataBytes < kept.export.dataBytes / 3, `packed ${far.export.dataBytes} bytes, smaller ${kept.export.dataBytes}`);
  });
});
