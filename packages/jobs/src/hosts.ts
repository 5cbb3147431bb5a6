import { isIP } from 'node:net';

export interface ParsedHost {
  /** normalised: lower case, percent-decoded, no trailing dot, IPv6 without brackets and compressed */
  host: string;
  loopback: boolean;
  protected: boolean;
}

const PROTECTED_DOMAINS = ['supabase.co', 'supabase.com'];

/**
 * The hosts a postgres.js connection to `url` would try, extracted the way postgres.js does it
 * (authority, comma-separated multi-host), plus a `host` query parameter, so a spelling that the driver
 * understands cannot slip past the guard. A URL without a host means PGHOST or localhost, as in the driver.
 */
export function parseDatabaseHosts(url: string, pgHost?: string): ParsedHost[] {
  const afterScheme = url.slice(url.indexOf('://') + 3);
  const authority = afterScheme.split(/[?/]/)[0] ?? '';
  const hostPart = authority.slice(authority.lastIndexOf('@') + 1);
  const raw: string[] = [];
  for (const item of splitHosts(safeDecode(hostPart))) raw.push(item);
  const query = url.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)) : null;
  for (const value of query?.getAll('host') ?? []) raw.push(...splitHosts(value));
  if (raw.length === 0) raw.push(...splitHosts(pgHost ?? 'localhost'));
  return raw.map(normalizeHost);
}

function splitHosts(list: string): string[] {
  return list
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0)
    .map(stripPort);
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1 || undefined);
  // a bare IPv6 address has several colons and no port
  if ((host.match(/:/g) ?? []).length > 1) return host;
  return host.split(':')[0] ?? host;
}

function safeDecode(text: string): string {
  try {
    // decode repeatedly: %252e is %2e is "."
    let previous = text;
    for (let i = 0; i < 3; i++) {
      const next = decodeURIComponent(previous);
      if (next === previous) break;
      previous = next;
    }
    return previous;
  } catch {
    return text;
  }
}

function normalizeHost(input: string): ParsedHost {
  let host = input.toLowerCase().replace(/\.+$/, '');
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  host = host.replace(/%.*$/, ''); // IPv6 zone id
  if (isIP(host) === 6) host = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return { host, loopback: isLoopback(host), protected: PROTECTED_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`)) };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.startsWith('/')) return true; // a socket directory is this machine
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:(127\.|7f)/.test(host);
  return false;
}

/** True when any host is a protected (Supabase) host. */
export function isProtectedHostList(hosts: ParsedHost[]): boolean {
  return hosts.some((h) => h.protected);
}
