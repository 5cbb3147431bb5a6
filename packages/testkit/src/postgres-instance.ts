import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { ADMIN_URL } from './databases.js';
import { freePort } from './service-process.js';
import { createTestCertificates, type TestCertificates } from './test-certificates.js';

const run = promisify(execFile);

export interface PostgresInstanceOptions {
  /** serve TLS (ssl=on) with a certificate from a test CA made for this instance; plain connections still work */
  tls?: boolean;
  /** the names the server certificate is valid for (default ['localhost']: a client checking host names must use it) */
  certificateHosts?: string[];
  /** extra `-c name=value` server settings */
  settings?: Record<string, string>;
}

/** A throwaway PostgreSQL server of its own (initdb into a temporary directory), on a free loopback port. */
export interface PostgresInstance {
  port: number;
  /** superuser `postgres`, trust on loopback, database `postgres` */
  adminUrl: string;
  /** with `tls`: the test CA's files (caFile is the right sslrootcert, otherCaFile a wrong one) */
  certificates: TestCertificates | undefined;
  /** stops the server (immediate) and removes its directory */
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL server of the main test cluster's major version in a temporary directory, listening on
 * 127.0.0.1 only with trust authentication, for tests that need a server to themselves: TLS on, or roles created
 * (roles are cluster-wide). Run as root, the server runs as the `postgres` user (initdb refuses root). fsync off:
 * the data is thrown away.
 */
export async function startPostgresInstance(options: PostgresInstanceOptions = {}): Promise<PostgresInstance> {
  const bin = await serverBinDirectory();
  const dir = await mkdtemp(join(tmpdir(), 'mbsync-pg-'));
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    owner = await userIds('postgres');
    await chown(dir, owner.uid, owner.gid);
  }
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  const data = join(dir, 'data');
  let started = false;
  try {
    await as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'off',
      ...options.settings,
    };
    let certificates: TestCertificates | undefined;
    if (options.tls) {
      certificates = await createTestCertificates(dir, options.certificateHosts ?? ['localhost']);
      // the server refuses a key file others may read, and must own it
      await chmod(certificates.serverKeyFile, 0o600);
      if (owner) for (const f of [certificates.serverKeyFile, certificates.serverCertFile]) await chown(f, owner.uid, owner.gid);
      Object.assign(settings, { ssl: 'on', ssl_cert_file: certificates.serverCertFile, ssl_key_file: certificates.serverKeyFile });
    }
    const port = await freePort();
    const serverOptions = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
    await as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start']);
    started = true;
    return {
      port,
      adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      certificates,
      async stop() {
        await as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (started) await as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Debian keeps each major version's server programs in /usr/lib/postgresql/<major>/bin; elsewhere pg_config says. */
async function serverBinDirectory(): Promise<string> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  let major: number;
  try {
    const [row] = await sql<{ v: number }[]>`SELECT current_setting('server_version_num')::int / 10000 AS v`;
    major = row!.v;
  } finally {
    await sql.end();
  }
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(debian, 'initdb'))) return debian;
  const { stdout } = await run('pg_config', ['--bindir']);
  return stdout.trim();
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
