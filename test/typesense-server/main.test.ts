// `pnpm typesense:dev` entry: flags/env, printed URL, clean exit on SIGTERM/SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts main.ts and resolves with the URL it prints. */
async function startMain(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`main.ts exited with ${code}: ${output}`)));
  });
  return { child, url, output: () => output };
}

describe('main.ts (pnpm typesense:dev)', () => {
  test('takes --port/--api-key, prints its URL, and closes on SIGTERM', async () => {
    const { child, url } = await startMain(['--port', '0', '--api-key', 'dev-key']);
    const res = await fetch(`${url}/collections`, { headers: { 'X-TYPESENSE-API-KEY': 'dev-key' } });
    assert.equal(res.status, 200);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  test('reads TYPESENSE_DEV_PORT/TYPESENSE_DEV_API_KEY and closes on SIGINT', async () => {
    const { child, url } = await startMain([], { TYPESENSE_DEV_PORT: '0', TYPESENSE_DEV_API_KEY: 'env-key' });
    const res = await fetch(`${url}/collections`, { headers: { 'X-TYPESENSE-API-KEY': 'env-key' } });
    assert.equal(res.status, 200);
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});
