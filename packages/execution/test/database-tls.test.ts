import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { ADMIN_URL, startPostgresInstance, type PostgresInstance } from '@mbsync/testkit';
import { DatabaseScope, openDatabase } from '@mbsync/execution';
import { describeEnvironment, JobsError } from '@mbsync/jobs';
import { negotiateTls } from '../src/tls-socket.js';

// A PostgreSQL server of the test's own with ssl=on and a certificate from a CA the test made, valid for the host
// name "localhost" only: verify-full must pass through "localhost" and fail through "127.0.0.1".
const PASSWORD = 'tls-test-secret-pw';
let server: PostgresInstance;

before(async () => {
  server = await startPostgresInstance({ tls: true, certificateHosts: ['localhost'] });
});
after(async () => {
  await server?.stop();
});

function url(host: string, query: string): string {
  // trust authentication ignores the password; it is there to prove no message ever shows it
  return `postgres://postgres:${PASSWORD}@${host}:${server.port}/postgres${query}`;
}

/** Whether the session runs over TLS, as the server sees it. */
async function sessionTls(host: string, query: string, name = 'tlsdb'): Promise<boolean> {
  const sql = openDatabase(describeEnvironment(name, url(host, query)), { role: 'database' });
  try {
    const [row] = await sql<{ ssl: boolean }[]>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
    return row!.ssl;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function tlsFailure(host: string, query: string): Promise<JobsError> {
  const sql = openDatabase(describeEnvironment('tlsdb', url(host, query)), { role: 'database' });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    assert.ok(error instanceof JobsError, `expected a JobsError, got ${String(error)}`);
    assert.equal(error.code, 'JOBS_TLS_FAILED');
    assert.match(error.message, /^environment "tlsdb": TLS \(sslmode=[a-z-]+\): /);
    assert.ok(!error.message.includes(PASSWORD), 'the password must not appear');
    assert.ok(!error.message.includes('postgres://'), 'the URL must not appear');
    return error;
  } finally {
    await sql.end({ timeout: 5 });
  }
  assert.fail('the connection should have failed');
}

describe('TLS to a server with a test CA', () => {
  test('sslmode=require encrypts without checking the certificate', async () => {
    assert.equal(await sessionTls('127.0.0.1', '?sslmode=require'), true);
  });

  test('verify-full with the right CA and the certificate\'s host name works', async () => {
    assert.equal(await sessionTls('localhost', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.certificates!.caFile)}`), true);
  });

  test('verify-ca with the right CA works whatever the host name', async () => {
    assert.equal(await sessionTls('127.0.0.1', `?sslmode=verify-ca&sslrootcert=${encodeURIComponent(server.certificates!.caFile)}`), true);
  });

  test('verify-full with a wrong CA fails clearly, naming the environment and the CA file', async () => {
    const other = server.certificates!.otherCaFile;
    const error = await tlsFailure('localhost', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(other)}`);
    assert.match(error.message, /the server's certificate is not signed by the CA in sslrootcert \(/);
    assert.ok(error.message.includes(other), error.message);
    // libpq's rule: require with a root certificate checks the CA too
    await tlsFailure('127.0.0.1', `?sslmode=require&sslrootcert=${encodeURIComponent(other)}`);
  });

  test('verify-full with a host name the certificate does not name fails', async () => {
    const error = await tlsFailure('127.0.0.1', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.certificates!.caFile)}`);
    assert.match(error.message, /not valid for the host name "127\.0\.0\.1" \(sslmode=verify-full checks it; verify-ca does not\)/);
  });

  test('verify-full without sslrootcert checks against the system CAs, which do not know the test CA', async () => {
    const error = await tlsFailure('localhost', '?sslmode=verify-full');
    assert.match(error.message, /not signed by a CA this machine trusts \(give the server's CA file as sslrootcert\)/);
  });

  test('prefer uses TLS when offered; no sslmode on loopback stays plain', async () => {
    assert.equal(await sessionTls('127.0.0.1', '?sslmode=prefer'), true);
    assert.equal(await sessionTls('127.0.0.1', ''), false);
  });

  test('data arrives intact over TLS, in a scope that counts the bytes and can destroy the sockets', async () => {
    const scope = new DatabaseScope('tls test');
    const sql = openDatabase(describeEnvironment('tlsdb', url('localhost', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.certificates!.caFile)}`)), { role: 'database', scope, max: 2 });
    try {
      // ~5 MB of COPY text, hashed as it streams, against the server's own hash of the same rows
      const query = `SELECT i, md5(i::text) || repeat('é', i % 50) AS v FROM generate_series(1, 60000) i`;
      const [expected] = await sql.unsafe(`SELECT md5(string_agg(format(E'%s\\t%s\\n', i, v), '' ORDER BY i)) AS h FROM (${query}) q`);
      const hash = createHash('md5');
      const stream = await sql.unsafe(`COPY (${query} ORDER BY i) TO STDOUT`).readable();
      await pipeline(stream, async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) hash.update(chunk);
      });
      assert.equal(hash.digest('hex'), expected!.h);
      assert.ok(scope.bytes() > 4_000_000, `scope counted ${scope.bytes()} bytes`);
      const [row] = await sql<{ ssl: boolean }[]>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      assert.equal(row?.ssl, true);
      assert.ok(scope.openSockets >= 1);
      scope.destroy();
      await assert.rejects(sql`SELECT 1`);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  });
});

describe('TLS against servers that do not offer it', () => {
  test('sslmode=require to a server without TLS fails clearly; prefer falls back to plain', async () => {
    const main = new URL(ADMIN_URL);
    const envUrl = (mode: string) => `postgres://postgres:${PASSWORD}@${main.hostname}:${main.port || 5432}/postgres?sslmode=${mode}`;
    const preferred = openDatabase(describeEnvironment('plaindb', envUrl('prefer')), { role: 'database' });
    try {
      const [row] = await preferred<{ ssl: boolean }[]>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      assert.equal(row?.ssl, false);
    } finally {
      await preferred.end();
    }
    const sql = openDatabase(describeEnvironment('plaindb', envUrl('require')), { role: 'database' });
    try {
      await assert.rejects(sql`SELECT 1`, (error: unknown) => {
        assert.ok(error instanceof JobsError);
        assert.equal(error.code, 'JOBS_TLS_FAILED');
        assert.equal(error.message, 'environment "plaindb": TLS (sslmode=require): the server does not accept TLS connections, and sslmode=require requires TLS');
        return true;
      });
    } finally {
      await sql.end();
    }
  });

  test('an answer with bytes after it is refused (they came before the handshake); a silent server times out', async () => {
    const answers: Buffer[] = [Buffer.from('SX'), Buffer.from('E')];
    const fake = createServer((socket) => {
      socket.once('data', () => {
        const answer = answers.shift();
        if (answer) socket.write(answer); // else: say nothing
      });
      socket.on('error', () => {});
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    const port = (fake.address() as AddressInfo).port;
    const target = { environment: 'fake', mode: 'require' as const, options: { rejectUnauthorized: false }, rootCert: undefined, host: '127.0.0.1' };
    const connect = () => {
      const raw = new Socket();
      raw.connect(port, '127.0.0.1');
      return raw;
    };
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(negotiateTls(connect(), { ...target, timeoutMs: 10_000 }), (error: unknown) => {
          assert.ok(error instanceof JobsError);
          assert.match(error.message, /unexpected answer to the TLS request/);
          return true;
        });
      }
      await assert.rejects(negotiateTls(connect(), { ...target, timeoutMs: 300 }), { code: 'CONNECT_TIMEOUT' });
    } finally {
      fake.close();
    }
  });
});
