// TYPESENSE_SPECS_FILE: the collection specs of the real schema come from a file named in .env, read and checked
// when the api, the worker and the CLI start; over HTTP, reindex requests name its collections.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { openTypesense, type CollectionSpecsFile } from '@mbsync/search-index';
import { createDatabase, startService, startServices, type RunningServices, type TestDatabase } from '@mbsync/testkit';
import { createTypesenseServer, type TypesenseServer } from '../typesense-server/index.js';
import { localOnly } from '../typesense-server/target-server.js';
import { aliasTarget, demoDatabase, documentsById } from './demo-data.js';
import { API_KEY, REDIS_URL, dropPrefix, servicePrefix } from './service-support.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One collection of the demo schema, as an operator would write it for the real one. */
const SPECS: CollectionSpecsFile = {
  collections: [
    {
      name: 'catalog',
      query: 'SELECT c.id, c.slug, c.name, c.price FROM public.components c WHERE c.is_published',
      fields: [
        { name: 'slug', type: 'string' },
        { name: 'name', type: 'string' },
        { name: 'price', type: 'float', optional: true },
      ],
    },
  ],
};

describe('TYPESENSE_SPECS_FILE', { ...localOnly, timeout: 180_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let server: TypesenseServer;
  let dir: string;
  let env: Record<string, string>;
  const prefix = servicePrefix('specs');

  before(async () => {
    [source, target, server] = await Promise.all([demoDatabase('svc_specs_src'), createDatabase('svc_specs_tgt'), createTypesenseServer()]);
    dir = await mkdtemp(join(tmpdir(), 'mbsync-svc-specs-'));
    await writeFile(join(dir, 'specs.json'), JSON.stringify(SPECS, null, 2));
    await writeFile(join(dir, 'bad-specs.json'), JSON.stringify({ collections: [{ name: 'catalog', query: 'SELECT 1', fields: [{ name: 'slug', type: 'text' }], idColum: 'id' }] }));
    env = {
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DUMP_DIRECTORY: join(dir, 'dumps'),
      BACKUP_DIRECTORY: join(dir, 'backups'),
      SOURCE_DATABASE_URL: source.url,
      LOCAL_DATABASE_URL: target.url,
      LOCAL_TYPESENSE_URL: server.url,
      LOCAL_TYPESENSE_API_KEY: server.apiKey,
      API_KEYS: API_KEY,
    };
  });

  after(async () => {
    await server?.close();
    await dropPrefix(prefix);
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a bad specs file stops the api, the worker and the CLI at start-up, naming the variable and each problem', async () => {
    const bad = { ...env, TYPESENSE_SPECS_FILE: join(dir, 'bad-specs.json') };
    for (const script of ['apps/api/src/main.ts', 'apps/worker/src/main.ts']) {
      const service = startService(script, bad);
      const { code } = await service.exited;
      assert.equal(code, 1, `${script} exits 1`);
      const text = service.stderr();
      assert.match(text, /TYPESENSE_SPECS_FILE .*bad-specs\.json: collections\[0\]\.idColum: unknown property/, `${script}: ${text}`);
      assert.match(text, /collections\[0\]\.fields\[0\]\.type: must be one of string/);
      assert.ok(!text.includes(server.apiKey) && !text.includes(target.url), 'no secret in the message');
    }
    const cli = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'apps/cli/src/main.ts', 'sync', '--from', 'source', '--to', 'local'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...bad },
      encoding: 'utf8',
    });
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /invalid configuration[\s\S]*TYPESENSE_SPECS_FILE .*bad-specs\.json: collections\[0\]\.idColum/);

    const missing = startService('apps/worker/src/main.ts', { ...env, TYPESENSE_SPECS_FILE: join(dir, 'nope.json') });
    assert.equal((await missing.exited).code, 1);
    assert.match(missing.stderr(), /TYPESENSE_SPECS_FILE .*nope\.json cannot be read: no such file/);
  });

  test("a sync and a reindex job use the file's collections; a request naming another collection is refused", async () => {
    let services: RunningServices | undefined;
    const connection = openTypesense({ url: server.url, apiKey: server.apiKey });
    try {
      services = await startServices({ apiKey: API_KEY, env: { ...env, TYPESENSE_SPECS_FILE: join(dir, 'specs.json') } });
      const refused = await services.request('POST', '/api/sync/reindex', { to: 'local', collections: ['components'] });
      assert.equal(refused.status, 400, JSON.stringify(refused.json));
      assert.equal(refused.json.error.details.field, 'body/collections');
      assert.match(refused.json.error.message, /no collection spec named components \(known: catalog\)/);

      const synced = await services.waitForJob((await services.request('POST', '/api/sync/sync', { from: 'source', to: 'local' })).json.id);
      assert.equal(synced.state, 'completed', JSON.stringify(synced));
      assert.deepEqual(synced.result.reindex.collections, ['catalog']);
      const live = await aliasTarget(connection.client, 'catalog');
      assert.ok(live?.startsWith('catalog_'));
      // components 1 and 9007199254740993 are published (demo data); 2 is not
      const docs = await documentsById(connection.client, 'catalog');
      assert.deepEqual([...docs.keys()].sort(), ['1', '9007199254740993']);
      assert.deepEqual(docs.get('1'), { id: '1', slug: 'small-bracket', name: 'Small bracket', price: 12.34 });
      assert.equal(await aliasTarget(connection.client, 'components'), undefined, 'the built-in specs were not used');

      const reindexed = await services.waitForJob((await services.request('POST', '/api/sync/reindex', { to: 'local', collections: ['catalog'] })).json.id);
      assert.equal(reindexed.state, 'completed', JSON.stringify(reindexed));
      assert.deepEqual(reindexed.result.collections, ['catalog']);
      assert.notEqual(await aliasTarget(connection.client, 'catalog'), live);
    } finally {
      connection.close();
      await services?.stop();
    }
  });
});
