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
  assert.throws(() => loadApiConfig({}), /no API key: set API_KEY to one key .* or API_KEYS to several/);
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

test('loadApiConfig: API_KEY (one key) is accepted beside API_KEYS; TRUST_PROXY; NODE_ENV; the history limits', () => {
  const single = loadApiConfig({ API_KEY: API_KEY, LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x' });
  assert.deepEqual(single.apiKeys, [API_KEY]);
  assert.equal(single.trustProxy, false);
  assert.equal(single.production, false);
  assert.deepEqual(single.history, { maxAgeSeconds: 604800, maxCount: 1000 });
  const both = loadApiConfig({ API_KEY: API_KEY, API_KEYS: OLD_API_KEY, NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1,10.0.0.0/8', JOB_HISTORY_MAX_COUNT: '5' });
  assert.deepEqual([...both.apiKeys].sort(), [API_KEY, OLD_API_KEY].sort());
  assert.deepEqual(both.trustProxy, ['127.0.0.1', '10.0.0.0/8']);
  assert.equal(both.production, true);
  assert.equal(both.history.maxCount, 5);
  assert.equal(loadApiConfig({ API_KEY, TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(loadApiConfig({ API_KEY, TRUST_PROXY: '2' }).trustProxy, 2);
  assert.throws(() => loadApiConfig({ API_KEY: 'short' }), /API_KEY is shorter than 32 characters/);
  assert.throws(() => loadApiConfig({ API_KEY, TRUST_PROXY: 'nginx.example' }), /TRUST_PROXY must be .*not understood: nginx\.example/);
});

test('loadApiConfig: environment URLs are checked at start-up, named and never echoed', () => {
  const secret = `s3cr3t-${FAKE_PASSWORD}`;
  try {
    loadApiConfig({
      API_KEY,
      STAGING_DATABASE_URL: `mysql://root:${secret}@db.example.com/app`,
      OTHER_DATABASE_URL: `postgres://u:${secret}@db.example.com:port/app`,
      LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x',
      LOCAL_TYPESENSE_URL: 'http://127.0.0.1:8108',
      PROTECTED_ENVIRONMENTS: 'prod*,bad pattern',
      REDIS_URL: `redis://:${secret}@redis.example.com:sixthousand`,
    });
    assert.fail('no error');
  } catch (error) {
    assert.ok(error instanceof ApiConfigError);
    const text = error.message;
    assert.match(text, /STAGING_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.match(text, /OTHER_DATABASE_URL cannot be parsed as a URL/);
    assert.match(text, /LOCAL_TYPESENSE_URL is set but LOCAL_TYPESENSE_API_KEY is not/);
    assert.match(text, /PROTECTED_ENVIRONMENTS must list name patterns/);
    assert.match(text, /REDIS_URL cannot be parsed as a URL/);
    assert.ok(!text.includes(secret) && !text.includes('db.example.com') && !text.includes('redis.example.com') && !text.includes('mysql'), text);
  }
});

test('PROTECTED_ENVIRONMENTS: prod*, production*, staging*, stage* and live* by default; a list of its own; none', () => {
  const urls = Object.fromEntries(['STAGING2', 'PROD_EU', 'LIVE', 'PRODUCTION', 'LOCAL', 'DEV', 'QA'].map((n) => [`${n}_DATABASE_URL`, 'postgres://postgres@127.0.0.1/x']));
  const protectedNames = (extra: Record<string, string>) => [...loadApiConfig({ API_KEY, ...urls, ...extra }).environments.values()].filter((e) => e.protected).map((e) => e.name).sort();
  assert.deepEqual(protectedNames({}), ['live', 'prod_eu', 'production', 'staging2']);
  assert.deepEqual(protectedNames({ PROTECTED_ENVIRONMENTS: 'qa,live*' }), ['live', 'production', 'qa']);
  // the exact names production/prod/staging/stage stay protected whatever the list says
  assert.deepEqual(protectedNames({ PROTECTED_ENVIRONMENTS: 'none' }), ['production']);
});
