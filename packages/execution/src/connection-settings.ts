import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { type Environment, JobsError } from '@mbsync/jobs';

/** libpq's sslmode values. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** Why an environment's URL is taken for a transaction-mode pooler. */
export type TransactionPoolerReason = 'pgbouncer=true' | 'port 6543 of a Supabase pooler host';

/** What openDatabase needs from an environment's URL beyond what postgres.js reads from it itself. */
export interface ConnectionSettings {
  /** the URL without the parameters resolved here: postgres.js would send them to the server as settings */
  url: string;
  /** what the URL asks for; without sslmode: `disable` on loopback, libpq's default `prefer` elsewhere */
  sslMode: SslMode;
  /** node TLS options for the handshake (CA, client certificate, what to verify); undefined for `disable` */
  tls: TlsOptions | undefined;
  /** the sslrootcert the URL names (a file path or `system`), for messages */
  rootCert: string | undefined;
  /** set when the URL names a transaction-mode pooler (Supabase's port 6543, PgBouncer/Supavisor transaction mode) */
  transactionPooler: TransactionPoolerReason | undefined;
}

/** URL parameters resolved here and removed from the URL postgres.js gets. */
const RESOLVED_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'pgbouncer'];

/**
 * Reads the TLS and pooler parameters of an environment's URL, libpq's way: `sslmode`
 * (disable|allow|prefer|require|verify-ca|verify-full), `sslrootcert` (a PEM file of the CA to trust, e.g. Supabase's
 * prod-ca-2021.crt, or `system` for the system's CAs), `sslcert`/`sslkey` (a client certificate), and
 * `pgbouncer=true` (Prisma's marker of a transaction-mode pooler). As in libpq, `require` with an sslrootcert
 * checks the CA like `verify-ca`; `verify-ca` checks the CA only; `verify-full` the CA and the host name.
 * Unlike libpq, verify-ca/verify-full without sslrootcert trust the system's CAs (Node's bundle) instead of failing.
 * Files are read here; a bad value fails with JOBS_CONNECTION_SETTINGS_INVALID naming the environment (never the URL).
 */
export function resolveConnectionSettings(env: Environment): ConnectionSettings {
  const raw = env.databaseUrl;
  const q = raw.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const invalid = (message: string) => new JobsError('JOBS_CONNECTION_SETTINGS_INVALID', `environment "${env.name}": ${message}`, { details: { environment: env.name } });
  // postgres.js would read these itself and, since TLS is negotiated here, silently connect without it
  if (params.has('ssl')) throw invalid('the URL parameter "ssl" is not supported: use sslmode=require, verify-ca or verify-full');
  if (params.has('sslnegotiation') && params.get('sslnegotiation') !== 'postgres') {
    throw invalid(`sslnegotiation=${params.get('sslnegotiation')} is not supported (only the standard negotiation)`);
  }

  const pgbouncer = params.get('pgbouncer');
  const modeText = params.get('sslmode') ?? undefined;
  if (modeText !== undefined && !SSL_MODES.includes(modeText as SslMode)) {
    throw invalid(`sslmode "${modeText}" is not one of ${SSL_MODES.join(', ')}`);
  }
  const rootCert = params.get('sslrootcert') ?? undefined;
  let mode: SslMode = (modeText as SslMode | undefined) ?? (rootCert === 'system' ? 'verify-full' : env.loopback ? 'disable' : 'prefer');
  if (rootCert === 'system' && mode !== 'verify-full') throw invalid(`sslrootcert=system needs sslmode=verify-full, not ${mode}`);
  // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca"
  if (mode === 'require' && rootCert !== undefined) mode = 'verify-ca';

  const readPem = (parameter: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw invalid(`${parameter} file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  let tls: TlsOptions | undefined;
  if (mode !== 'disable') {
    tls = {};
    const cert = params.get('sslcert');
    const key = params.get('sslkey');
    if ((cert === null) !== (key === null)) throw invalid('sslcert and sslkey go together');
    if (cert !== null && key !== null) Object.assign(tls, { cert: readPem('sslcert', cert), key: readPem('sslkey', key) });
    if (mode === 'verify-ca' || mode === 'verify-full') {
      tls.rejectUnauthorized = true;
      if (rootCert !== undefined && rootCert !== 'system') tls.ca = readPem('sslrootcert', rootCert);
      // verify-ca: the chain is checked, the name in the certificate is not
      if (mode === 'verify-ca') tls.checkServerIdentity = () => undefined;
    } else {
      tls.rejectUnauthorized = false;
    }
  }

  let url = raw;
  if (RESOLVED_PARAMETERS.some((p) => params.has(p)) || params.has('sslnegotiation')) {
    for (const p of [...RESOLVED_PARAMETERS, 'sslnegotiation']) params.delete(p);
    const rest = params.toString();
    url = raw.slice(0, q) + (rest ? `?${rest}` : '');
  }
  return { url, sslMode: mode, tls, rootCert, transactionPooler: transactionPooler(raw, pgbouncer) };
}

/** Supabase's poolers (Supavisor) are `<region>.pooler.supabase.com`: session mode on 5432, transaction mode on 6543. */
function transactionPooler(url: string, pgbouncer: string | null): TransactionPoolerReason | undefined {
  if (pgbouncer !== null && /^(true|1|yes|on)$/i.test(pgbouncer)) return 'pgbouncer=true';
  const authority = url.slice(url.indexOf('://') + 3).split(/[/?]/)[0] ?? '';
  for (const entry of authority.slice(authority.lastIndexOf('@') + 1).split(',')) {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(entry.trim());
    const host = safeDecode(m?.[1] ?? '').toLowerCase().replace(/\.+$/, '');
    if (m?.[2] === '6543' && (host === 'pooler.supabase.com' || host.endsWith('.pooler.supabase.com'))) return 'port 6543 of a Supabase pooler host';
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The message of JOBS_TRANSACTION_POOLER: what is wrong and which URL to use instead. */
export function transactionPoolerMessage(environment: string, reason: TransactionPoolerReason): string {
  return `environment "${environment}" connects through a transaction-mode pooler (${reason}): it hands each transaction `
    + 'to any server connection, so one snapshot cannot be shared by several connections and session state (settings, '
    + 'locks) does not last, which export, import and sync rely on. Use the session pooler (port 5432 on the same '
    + 'pooler host) or the direct connection (db.<project-ref>.supabase.co:5432) instead';
}

/** The name TLS should present and check (SNI): a host name, never an IP address (RFC 6066). */
export function serverName(host: string | undefined): string | undefined {
  return host && !isIP(host) && !host.startsWith('/') ? host : undefined;
}
