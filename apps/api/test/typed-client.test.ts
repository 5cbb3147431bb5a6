// The users generate their HTTP clients from /docs/json: TypeScript types generated from the running api's document
// (openapi-typescript) typecheck a small client written against them (openapi-fetch), a call with a misspelt
// field does not, and the client drives a sync against the running api and worker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createItemsDatabase, createReplaceableTarget, snapshotDatabase, startServices, type RunningServices, type TestDatabase } from '@mbsync/testkit';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { API_KEY, TEST_REDIS_URL, dropPrefix, testDirectories, testPrefix, type TestDirectories } from './support/app.js';

/** Inside apps/api, so that the generated client resolves openapi-fetch like any project file would. */
const GENERATED = fileURLToPath(new URL(`../.typed-client-${randomBytes(3).toString('hex')}/`, import.meta.url));

const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export type JobState = paths['/api/jobs/{id}']['get']['responses'][200]['content']['application/json']['state'];

/** Starts a sync and follows it to its end, through the generated types only. */
export async function syncAndWait(baseUrl: string, apiKey: string, from: string, to: string): Promise<{ id: string; state: JobState; targetWritten: boolean; backupId: string | null }> {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } });
  const started = await client.POST('/api/sync/sync', { body: { from, to, acceptDataLoss: true, skipReindex: true } });
  if (!started.data) throw new Error(\`sync refused: \${started.response.status} \${JSON.stringify(started.error)}\`);
  const id: string = started.data.id;
  for (;;) {
    const { data } = await client.GET('/api/jobs/{id}', { params: { path: { id } } });
    if (!data) throw new Error(\`job \${id} not found\`);
    if (data.state === 'completed' || data.state === 'failed' || data.state === 'cancelled') return { id, state: data.state, targetWritten: data.targetWritten, backupId: data.backupId };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
`;

/** Calls that do not fit the document: the generated types must refuse them. */
const WRONG = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1' });
export const started = client.POST('/api/sync/sync', { body: { from: 'source', to: 'local', acceptDataLoss: 'yes' } });
export const retried = client.POST('/api/jobs/{id}/retry', { params: { path: { job: '1' } } });
`;

/** Type errors of each file, checked in one program (one load of the libraries). */
function typeErrors(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  });
  return new Map(files.map((file) => [file, ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))]));
}

describe('a client generated from /docs/json', { timeout: 180_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dirs: TestDirectories;
  let services: RunningServices;
  const prefix = testPrefix('typed');

  before(async () => {
    [source, target] = await Promise.all([createItemsDatabase('api_typed_src', 100), createReplaceableTarget('api_typed_tgt')]);
    dirs = await testDirectories();
    services = await startServices({
      apiKey: API_KEY,
      apiEnv: { API_KEYS: API_KEY },
      env: { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DUMP_DIRECTORY: dirs.dumps, BACKUP_DIRECTORY: dirs.backups, SOURCE_DATABASE_URL: source.url, LOCAL_DATABASE_URL: target.url },
    });
    await mkdir(GENERATED, { recursive: true });
  });

  after(async () => {
    await services?.stop();
    await dropPrefix(prefix);
    if (!process.env.KEEP_GENERATED) await rm(GENERATED, { recursive: true, force: true });
    await Promise.all([source?.drop(), target?.drop(), dirs?.remove()]);
  });

  test('openapi-typescript types typecheck a typed fetch client, which drives a sync', async () => {
    const document = await services.request('GET', '/docs/json');
    assert.equal(document.status, 200);
    const types = astToString(await openapiTS(document.json));
    assert.match(types, /"\/api\/sync\/sync": \{/);
    assert.match(types, /startSync: \{/, 'operations are named after their operationId');
    await writeFile(join(GENERATED, 'api.ts'), types);
    await writeFile(join(GENERATED, 'client.ts'), CLIENT);
    await writeFile(join(GENERATED, 'wrong.ts'), WRONG);

    const errors = typeErrors([join(GENERATED, 'client.ts'), join(GENERATED, 'wrong.ts')]);
    assert.deepEqual(errors.get(join(GENERATED, 'client.ts')), [], 'the client typechecks against the generated types');
    const wrong = (errors.get(join(GENERATED, 'wrong.ts')) ?? []).join('\n');
    assert.match(wrong, /Type 'string' is not assignable to type 'boolean \| undefined'/, 'a body field of the wrong type is a type error');
    assert.match(wrong, /job/, 'a wrong path parameter is a type error');

    const client = (await import(pathToFileURL(join(GENERATED, 'client.ts')).href)) as { syncAndWait(base: string, key: string, from: string, to: string): Promise<{ state: string; targetWritten: boolean; backupId: string | null }> };
    const outcome = await client.syncAndWait(services.base, API_KEY, 'source', 'local');
    assert.equal(outcome.state, 'completed');
    assert.equal(outcome.targetWritten, true);
    assert.ok(outcome.backupId);
    assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
  });
});
