import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDatabase, resolveConnectionSettings } from '@mbsync/execution';
import { describeEnvironment, JobsError } from '@mbsync/jobs';

const PASSWORD = 'pa55-w0rd-never-shown';
let dir: string;
let caFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mbsync-conn-settings-'));
  caFile = join(dir, 'ca.crt');
  await writeFile(caFile, '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = (url: string, name = 'staging') => describeEnvironment(name, url);
const remote = (query: string) => env(`postgres://postgres.abcd:${PASSWORD}@db.abcd.supabase.co:5432/postgres${query}`);

test('sslmode: libpq\'s modes map to what is checked; the default is prefer off loopback and disable on it', () => {
  assert.equal(resolveConnectionSettings(remote('')).sslMode, 'prefer');
  assert.equal(resolveConnectionSettings(env('postgres://postgres@127.0.0.1:5432/db')).sslMode, 'disable');
  assert.equal(resolveConnectionSettings(env('postgres://postgres@127.0.0.1:5432/db')).tls, undefined);
  const require = resolveConnectionSettings(remote('?sslmode=require'));
  assert.equal(require.sslMode, 'require');
  assert.equal(require.tls?.rejectUnauthorized, false);
  const full = resolveConnectionSettings(remote(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`));
  assert.equal(full.tls?.rejectUnauthorized, true);
  assert.match(String(full.tls?.ca), /not parsed here/);
  assert.equal(full.tls?.checkServerIdentity, undefined, 'verify-full keeps node\'s host name check');
  const ca = resolveConnectionSettings(remote(`?sslmode=verify-ca&sslrootcert=${encodeURIComponent(caFile)}`));
  assert.equal(ca.tls?.rejectUnauthorized, true);
  assert.equal(ca.tls?.checkServerIdentity?.('wrong.example', {} as never), undefined, 'verify-ca accepts any host name');
  // libpq: require with a root certificate checks the CA, like verify-ca
  assert.equal(resolveConnectionSettings(remote(`?sslmode=require&sslrootcert=${encodeURIComponent(caFile)}`)).sslMode, 'verify-ca');
  // sslrootcert=system: the system's CAs and verify-full
  const system = resolveConnectionSettings(remote('?sslrootcert=system'));
  assert.equal(system.sslMode, 'verify-full');
  assert.equal(system.tls?.ca, undefined);
});

test('the resolved parameters leave the URL (postgres.js would send them to the server as settings); others stay', () => {
  const s = resolveConnectionSettings(remote(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}&application_name=x&pgbouncer=false`));
  assert.equal(s.url, `postgres://postgres.abcd:${PASSWORD}@db.abcd.supabase.co:5432/postgres?application_name=x`);
  assert.equal(resolveConnectionSettings(remote('?sslmode=require')).url, `postgres://postgres.abcd:${PASSWORD}@db.abcd.supabase.co:5432/postgres`);
  const untouched = `postgres://u:${PASSWORD}@h:5432/db?options=-c%20search_path%3Dx`;
  assert.equal(resolveConnectionSettings(env(untouched)).url, untouched);
});

test('bad TLS settings fail before anything connects, naming the environment and never the URL or password', () => {
  const cases: [string, RegExp][] = [
    ['?sslmode=verify_full', /sslmode "verify_full" is not one of disable, allow, prefer, require, verify-ca, verify-full/],
    [`?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(dir, 'missing.crt'))}`, /sslrootcert file .*missing\.crt cannot be read \(ENOENT\)/],
    ['?ssl=true', /"ssl" is not supported: use sslmode=require, verify-ca or verify-full/],
    ['?sslrootcert=system&sslmode=require', /sslrootcert=system needs sslmode=verify-full/],
    [`?sslmode=require&sslcert=${encodeURIComponent(caFile)}`, /sslcert and sslkey go together/],
    ['?sslnegotiation=direct', /sslnegotiation=direct is not supported/],
  ];
  for (const [query, message] of cases) {
    assert.throws(() => openDatabase(remote(query), { role: 'database' }), (error: unknown) => {
      assert.ok(error instanceof JobsError, query);
      assert.equal(error.code, 'JOBS_CONNECTION_SETTINGS_INVALID');
      assert.match(error.message, /^environment "staging": /);
      assert.match(error.message, message);
      assert.ok(!error.message.includes(PASSWORD) && !error.message.includes('postgres://'), error.message);
      return true;
    });
  }
});

test('transaction-mode pooler: pgbouncer=true or port 6543 of *.pooler.supabase.com is refused, pointing at the session port', () => {
  const pooled = [
    `postgres://postgres.abcd:${PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`,
    `postgres://postgres.abcd:${PASSWORD}@AWS-0-EU-CENTRAL-1.Pooler.Supabase.com.:6543/postgres?sslmode=require`,
    `postgres://u:${PASSWORD}@pgbouncer.internal:6432/app?pgbouncer=true`,
    `postgres://u:${PASSWORD}@db.example.com:5432/app?pgbouncer=1`,
  ];
  for (const url of pooled) {
    assert.ok(resolveConnectionSettings(env(url)).transactionPooler, url);
    assert.throws(() => openDatabase(env(url, 'prod'), { role: 'database' }), (error: unknown) => {
      assert.ok(error instanceof JobsError);
      assert.equal(error.code, 'JOBS_TRANSACTION_POOLER');
      assert.match(error.message, /^environment "prod" connects through a transaction-mode pooler \((pgbouncer=true|port 6543 of a Supabase pooler host)\)/);
      assert.match(error.message, /session pooler \(port 5432 on the same pooler host\) or the direct connection \(db\.<project-ref>\.supabase\.co:5432\)/);
      assert.ok(!error.message.includes(PASSWORD) && !error.message.includes('postgres://'));
      return true;
    });
  }
  // the session pooler, the direct host, another port 6543 and pgbouncer=false are not refused
  for (const url of [
    `postgres://postgres.abcd:${PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`,
    `postgres://postgres:${PASSWORD}@db.abcd.supabase.co:5432/postgres`,
    `postgres://u:${PASSWORD}@db.example.com:6543/app`,
    `postgres://u:${PASSWORD}@db.example.com:5432/app?pgbouncer=false`,
  ]) assert.equal(resolveConnectionSettings(env(url)).transactionPooler, undefined, url);
});
