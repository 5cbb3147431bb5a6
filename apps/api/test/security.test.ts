import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_KEY, AUTH, buildTestApp, dropPrefix, testDirectories, testEnv, testPrefix } from './support/app.js';

test('mutating routes are rate limited (429 with the error shape); reads are not', async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('rate');
  t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' }));
  const ticket = () => app.inject({ method: 'POST', url: '/api/ws-ticket', headers: AUTH });
  assert.equal((await ticket()).statusCode, 200);
  assert.equal((await ticket()).statusCode, 200);
  const limited = await ticket();
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.code, 'API_RATE_LIMITED');
  assert.ok(limited.headers['retry-after']);
  for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: '/api/environments', headers: AUTH })).statusCode, 200);
});

test('logs never hold API keys, tickets or connection strings', async (t) => {
  const dirs = await testDirectories();
  const prefix = testPrefix('logs');
  t.after(() => Promise.all([dirs.remove(), dropPrefix(prefix)]));
  const lines: string[] = [];
  const app = await buildTestApp(t, testEnv({ prefix, ...dirs }, { LOG_LEVEL: 'trace', BROKEN_DATABASE_URL: `postgres://postgres:${'sekrit'}@127.0.0.1:1/x`, LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/y' }), {
    logStream: { write: (line: string) => void lines.push(line) },
  });
  await app.inject({ url: '/api/environments', headers: { authorization: `Bearer ${API_KEY}`, cookie: 'session=c00kie' } });
  await app.inject({ url: '/api/environments', headers: { 'x-api-key': `${API_KEY}-wrong` } });
  await app.inject({ url: '/api/schema/diff?from=postgres%3A%2F%2Fu%3Ahunter2%40h%2Fdb&to=local', headers: AUTH });
  await app.inject({ url: '/api/schema/diff?from=broken&to=local', headers: AUTH });
  const ticket = (await app.inject({ method: 'POST', url: '/api/ws-ticket', headers: AUTH })).json().ticket as string;
  await app.inject({ url: `/ws?ticket=${ticket}` });
  const log = lines.join('');
  assert.ok(lines.length > 5, 'something was logged');
  assert.match(log, /request failed/, 'the 5xx was logged');
  for (const secret of [API_KEY, 'c00kie', 'hunter2', 'sekrit', ticket]) assert.ok(!log.includes(secret), `log holds ${secret}`);
});
