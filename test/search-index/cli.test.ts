// `pnpm mbsync reindex` end to end: the CLI in a child process against a database and the local test server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestDatabase } from '@mbsync/testkit';
import { localOnly } from '../typesense-server/target-server.js';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';
import { demoDatabase } from './demo-data.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const ENTRY = process.env.MBSYNC_TEST_CLI_ENTRY ?? 'apps/cli/src/main.ts';
const options = localOnly;

function mbsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mbsync reindex', options, () => {
  let db: TestDatabase;
  let server: TypesenseServer;
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    db = await demoDatabase('search_cli');
    server = await createTypesenseServer();
    env = { DEMO_DATABASE_URL: db.url, DEMO_TYPESENSE_URL: server.url, DEMO_TYPESENSE_API_KEY: server.apiKey };
    dir = await mkdtemp(join(tmpdir(), 'mbsync-cli-'));
  });
  after(async () => {
    await server?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('--json reindexes the chosen collections and prints progress and one summary per collection', async () => {
    const { code, stdout, stderr } = await mbsync(['reindex', '--from', 'demo', '--collections', 'components,attributes', '--batch-size', '2', '--json'], env);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const done = lines.filter((l) => l.type === 'done');
    assert.deepEqual(done.map((d) => [d.collection, d.documents, d.failed]), [['components', 3, 0], ['attributes', 3, 0]]);
    assert.ok(lines.some((l) => l.type === 'progress' && l.phase === 'reindex' && l.table === 'components' && l.bytesTotal === 3));
    assert.equal(server.state.aliases.get('components'), done[0]?.target);
    assert.equal(server.state.collections.has('parts'), false);
  });

  test('a bad specs file exits 1 and lists every problem', async () => {
    const file = join(dir, 'specs.json');
    await writeFile(file, JSON.stringify({ collections: [{ name: 'x', query: 'SELECT 1 AS id', fields: [{ name: 'a', type: 'text' }, { name: 'b' }] }] }));
    const { code, stderr } = await mbsync(['reindex', '--from', 'demo', '--specs', file], env);
    assert.equal(code, 1);
    assert.match(stderr, /\[SEARCH_INDEX_SPEC_INVALID\] invalid collection specs in .*specs\.json \(2 problems\)/);
    assert.match(stderr, /^ {2}collections\[0\]\.fields\[0\]\.type: must be one of .* got "text"$/m);
    assert.match(stderr, /^ {2}collections\[0\]\.fields\[1\]\.type: must be one of .* got nothing$/m);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await mbsync(['reindex', '--from', 'demo', '--batch-size', '0'], env)).code, 2);
    assert.equal((await mbsync(['reindex'], env)).code, 2);
  });
});
