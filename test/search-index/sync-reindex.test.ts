// `sync` runs the reindex of the target's Typesense as its last phase when the target has one configured.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSync } from '@mbsync/execution';
import { describeEnvironment, type JobProgress, loadCoreConfig } from '@mbsync/jobs';
import { createDatabase, snapshotDatabase } from '@mbsync/testkit';
import { localOnly } from '../typesense-server/target-server.js';
import { createTypesenseServer } from '../typesense-server/index.js';
import { EXPECTED, demoDatabase, documentsById } from './demo-data.js';
import { openTypesense } from '@mbsync/search-index';

test('sync: copy, then rebuild the target\'s collections from what was committed', localOnly, async (t) => {
  const source = await demoDatabase('sync_ts_src');
  const target = await createDatabase('sync_ts_dst');
  const server = await createTypesenseServer();
  const dir = await mkdtemp(join(tmpdir(), 'mbsync-sync-ts-'));
  t.after(async () => {
    await server.close();
    await source.drop();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });
  const phases: string[] = [];
  const result = await runSync({
    source: describeEnvironment('source', source.url),
    target: describeEnvironment('local', target.url, server.url, server.apiKey),
    config: loadCoreConfig({ BACKUP_DIRECTORY: join(dir, 'backups'), DUMP_DIRECTORY: join(dir, 'dumps') }),
    noBackup: true,
    onProgress: (p: JobProgress) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase);
      assert.deepEqual(p.phases, ['export', 'validate', 'import', 'verify', 'reindex']);
    },
  });
  assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  assert.deepEqual(phases, ['export', 'validate', 'import', 'verify', 'reindex']);
  assert.deepEqual(result.reindex?.collections, ['components', 'parts', 'attributes']);
  const connection = openTypesense({ url: server.url, apiKey: server.apiKey });
  try {
    for (const name of ['components', 'parts', 'attributes'] as const) {
      const docs = await documentsById(connection.client, name);
      assert.deepEqual([...docs.keys()].sort(), Object.keys(EXPECTED[name]).sort(), name);
    }
  } finally {
    connection.close();
  }
});
