import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertWritableTarget, describeEnvironment, getEnvironment, JobsError, loadEnvironments, parseDatabaseHosts } from '@mbsync/jobs';

/** Made-up passwords: tests check they never appear in output; one contains '@' like real ones can. */
const FAKE_PASSWORD = 's3cret';
const PASSWORD_WITH_AT = 'p@ss';

function refusedCode(url: string, name = 'target', options: { allowProtected?: boolean; confirm?: string } = {}): string | null {
  try {
    assertWritableTarget(describeEnvironment(name, url), { allowProtected: options.allowProtected ?? false, confirm: options.confirm });
    return null;
  } catch (error) {
    assert.ok(error instanceof JobsError);
    assert.ok(!error.message.includes('s3cret'), 'the URL or password never appears in the refusal');
    return error.code;
  }
}

describe('destination guard', () => {
  test('loopback targets pass without confirmation', () => {
    for (const url of [
      `postgres://u:${FAKE_PASSWORD}@127.0.0.1:5432/db`,
      `postgres://u:${FAKE_PASSWORD}@localhost/db`,
      `postgres://u:${FAKE_PASSWORD}@LOCALHOST./db`,
      `postgres://u:${FAKE_PASSWORD}@127.8.9.10/db`,
      `postgres://u:${FAKE_PASSWORD}@[::1]:5432/db`,
      `postgres://u:${FAKE_PASSWORD}@[0:0:0:0:0:0:0:1]/db`,
      `postgresql://u:${FAKE_PASSWORD}@%6c%6f%63%61%6c%68%6f%73%74/db`,
      'postgres:///db',
    ]) {
      assert.equal(refusedCode(url), null, url);
    }
  });

  test('Supabase hosts are protected whatever the spelling', () => {
    for (const url of [
      `postgres://u:${FAKE_PASSWORD}@db.abcd.supabase.co:5432/postgres`,
      `postgres://u:${FAKE_PASSWORD}@DB.ABCD.SUPABASE.CO/postgres`,
      `postgres://u:${FAKE_PASSWORD}@db.abcd.supabase.co./postgres`,
      `postgres://u:${FAKE_PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`,
      `postgres://u:${FAKE_PASSWORD}@db%2Eabcd%2Esupabase%2Eco/postgres`,
      `postgres://u:${FAKE_PASSWORD}@db%252Eabcd%252Esupabase%252Eco/postgres`,
      `postgres://u:${FAKE_PASSWORD}@127.0.0.1,db.abcd.supabase.co/postgres`,
      `postgres://u:${FAKE_PASSWORD}@localhost/postgres?host=db.abcd.supabase.co`,
      `postgres://u:${FAKE_PASSWORD}@supabase.co/postgres`,
    ]) {
      const env = describeEnvironment('local', url);
      assert.equal(env.protected, true, url);
      assert.equal(refusedCode(url, 'local'), 'JOBS_PROTECTED_TARGET', url);
    }
  });

  test('look-alike hosts are not mistaken for loopback or for Supabase', () => {
    assert.equal(describeEnvironment('x', 'postgres://u@localhost.evil.example/db').loopback, false);
    assert.equal(describeEnvironment('x', 'postgres://u@127.0.0.1.nip.io/db').loopback, false);
    assert.equal(describeEnvironment('x', 'postgres://u@notsupabase.co/db').protected, false);
    assert.equal(describeEnvironment('x', 'postgres://u@supabase.co.evil.example/db').protected, false);
  });

  test('production and staging names are protected: config switch AND confirmation needed', () => {
    const url = `postgres://u:${FAKE_PASSWORD}@127.0.0.1/db`;
    for (const name of ['production', 'staging', 'prod']) {
      assert.equal(refusedCode(url, name), 'JOBS_PROTECTED_TARGET');
      assert.equal(refusedCode(url, name, { confirm: name }), 'JOBS_PROTECTED_TARGET', 'confirmation alone is not enough');
      assert.equal(refusedCode(url, name, { allowProtected: true }), 'JOBS_CONFIRMATION_REQUIRED');
      assert.equal(refusedCode(url, name, { allowProtected: true, confirm: 'other' }), 'JOBS_CONFIRMATION_REQUIRED');
      assert.equal(refusedCode(url, name, { allowProtected: true, confirm: name.toUpperCase() }), null);
    }
  });

  test('a remote, unprotected target needs its name confirmed', () => {
    const url = `postgres://u:${FAKE_PASSWORD}@db.internal.example:5432/db`;
    assert.equal(refusedCode(url, 'dev'), 'JOBS_CONFIRMATION_REQUIRED');
    assert.equal(refusedCode(url, 'dev', { confirm: 'dev' }), null);
  });

  test('hosts are parsed the way postgres.js connects', () => {
    assert.deepEqual(parseDatabaseHosts('postgres://a@h1:5432,h2:5433/db').map((h) => h.host), ['h1', 'h2']);
    assert.deepEqual(parseDatabaseHosts(`postgres://a:${PASSWORD_WITH_AT}@h1/db`).map((h) => h.host), ['h1']);
    assert.deepEqual(parseDatabaseHosts('postgres:///db', '/var/run/postgresql').map((h) => h.loopback), [true]);
  });
});

describe('environments', () => {
  test('<NAME>_DATABASE_URL variables define environments, with optional Typesense', () => {
    const envs = loadEnvironments({
      STAGING_DATABASE_URL: `postgres://u:${FAKE_PASSWORD}@db.abcd.supabase.co/postgres`,
      LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x',
      LOCAL_TYPESENSE_URL: 'http://127.0.0.1:8108',
      LOCAL_TYPESENSE_API_KEY: 'k',
      MY_QA_DATABASE_URL: 'postgres://postgres@127.0.0.1/qa',
      EMPTY_DATABASE_URL: '',
      PATH: '/usr/bin',
    });
    assert.deepEqual([...envs.keys()].sort(), ['local', 'my_qa', 'staging']);
    assert.equal(getEnvironment(envs, 'Staging').protected, true);
    assert.equal(getEnvironment(envs, 'my-qa').name, 'my_qa');
    assert.deepEqual(getEnvironment(envs, 'local').typesense, { url: 'http://127.0.0.1:8108', apiKey: 'k' });
  });

  test('an unknown name is a clear error listing the configured ones', () => {
    const envs = loadEnvironments({ LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x' });
    assert.throws(() => getEnvironment(envs, 'prod'), (e: unknown) => e instanceof JobsError && e.code === 'JOBS_UNKNOWN_ENVIRONMENT' && /unknown environment "prod" \(configured: local\)/.test(e.message));
  });

  test('PROTECTED_ENVIRONMENTS: name patterns protect staging2 or prod_eu; the guard refuses them like staging', () => {
    const urls = { STAGING2_DATABASE_URL: 'postgres://postgres@127.0.0.1/a', PROD_EU_DATABASE_URL: 'postgres://postgres@127.0.0.1/b', QA_DATABASE_URL: 'postgres://postgres@127.0.0.1/c' };
    const envs = loadEnvironments(urls);
    assert.equal(getEnvironment(envs, 'staging2').protected, true);
    assert.equal(getEnvironment(envs, 'prod_eu').protected, true);
    assert.equal(getEnvironment(envs, 'qa').protected, false);
    assert.throws(() => assertWritableTarget(getEnvironment(envs, 'staging2'), { allowProtected: false }), { code: 'JOBS_PROTECTED_TARGET' });
    assert.throws(() => assertWritableTarget(getEnvironment(envs, 'prod_eu'), { allowProtected: true }), { code: 'JOBS_CONFIRMATION_REQUIRED' });
    const own = loadEnvironments({ ...urls, PROTECTED_ENVIRONMENTS: 'qa' });
    assert.deepEqual([...own.values()].filter((e) => e.protected).map((e) => e.name), ['qa']);
  });

  test('unusable URLs are refused at load, each named by its variable, never echoed', () => {
    assert.throws(
      () => loadEnvironments({ A_DATABASE_URL: `mysql://u:${FAKE_PASSWORD}@h/db`, B_DATABASE_URL: 'postgres://u@h:notaport/db', C_DATABASE_URL: 'postgres://u@h1:5432,h2:5433/db' }),
      (error: unknown) => {
        assert.ok(error instanceof JobsError && error.code === 'JOBS_CONFIG_INVALID');
        assert.deepEqual(error.details?.errors, [
          'A_DATABASE_URL must be a postgres:// or postgresql:// URL (e.g. postgres://user:password@host:5432/database)',
          'B_DATABASE_URL cannot be parsed as a URL (check the host and port; encode special characters of the user and password, e.g. @ as %40)',
        ]);
        assert.ok(!error.message.includes(FAKE_PASSWORD));
        return true;
      },
    );
  });
});
