import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiConfigError, loadApiConfig } from '../src/config.js';
import { ERROR_TABLE, toErrorResponse } from '../src/http-errors.js';
import { API_KEY, OLD_API_KEY } from './support/app.js';

/** A made-up password: tests check it never appears in output. */
const FAKE_PASSWORD = 'pw';

test('loadApiConfig: defaults, several keys, frozen', () => {
  const config = loadApiConfig({ API_KEYS: ` ${API_KEY} , ${OLD_API_KEY},${API_KEY}`, LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x' });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 3000);
  assert.deepEqual(config.apiKeys, [API_KEY, OLD_API_KEY]);
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.queuePrefix, 'mbsync');
  assert.deepEqual([...config.environments.keys()], ['local']);
  assert.ok(Object.isFrozen(config));
  assert.throws(() => ((config as { port: number }).port = 1));
});

test('loadApiConfig: every problem at once, secrets never echoed', () => {
  try {
    loadApiConfig({ API_KEYS: 'short-secret-key,', PORT: 'eighty', REDIS_URL: `http://:${'hunter2'}@x`, RATE_LIMIT_MAX: '0', ALLOW_PROTECTED_TARGETS: 'maybe', LOG_LEVEL: 'loud' });
    assert.fail('no error');
  } catch (error) {
    assert.ok(error instanceof ApiConfigError);
    const text = error.errors.join('\n');
    for (const name of ['API_KEYS key #1', 'PORT', 'REDIS_URL', 'RATE_LIMIT_MAX', 'ALLOW_PROTECTED_TARGETS', 'LOG_LEVEL']) assert.match(text, new RegExp(name));
    assert.doesNotMatch(error.message, /hunter2|short-secret-key/);
  }
  assert.throws(() => loadApiConfig({}), /API_KEYS is required/);
});

test('http-errors: every code maps to a status; 5xx bodies carry only public messages', () => {
  for (const [code, rule] of Object.entries(ERROR_TABLE)) {
    assert.ok(rule.status >= 400 && rule.status < 600, code);
    if (rule.status >= 500) assert.ok(rule.publicMessage, `${code} needs a public message`);
  }
  const leaky = Object.assign(new Error(`connect ECONNREFUSED postgres://u:${FAKE_PASSWORD}@10.0.0.1/db`), { code: 'DUMP_CONNECTION_FAILED' });
  assert.deepEqual(toErrorResponse(leaky), { status: 502, body: { error: { code: 'DUMP_CONNECTION_FAILED', message: 'a database could not be reached' } } });
  const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
  assert.deepEqual(toErrorResponse(bug), { status: 500, body: { error: { code: 'API_INTERNAL', message: 'internal error' } } });
  const later = Object.assign(new Error('typesense said 503'), { code: 'SEARCH_INDEX_SOMETHING_NEW' });
  assert.equal(toErrorResponse(later).status, 502);
  const guard = Object.assign(new Error(`refusing postgres://u:${FAKE_PASSWORD}@h/db`), { code: 'JOBS_PROTECTED_TARGET', details: { environment: 'staging' } });
  assert.deepEqual(toErrorResponse(guard), { status: 403, body: { error: { code: 'JOBS_PROTECTED_TARGET', message: 'refusing postgres://***@h/db', details: { environment: 'staging' } } } });
});
