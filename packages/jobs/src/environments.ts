import { JobsError } from './errors.js';
import { isProtectedHostList, parseDatabaseHosts } from './hosts.js';

/** One place data can be copied from or to. `databaseUrl` is a secret: never log it, never put it in job data. */
export interface Environment {
  /** lower-case name, e.g. "staging" (from STAGING_DATABASE_URL) */
  name: string;
  databaseUrl: string;
  typesense?: { url: string; apiKey: string };
  /** production/staging names and Supabase hosts: writes need config + confirmation */
  protected: boolean;
  /** every host of the URL is loopback (or a local socket) */
  loopback: boolean;
}

export type Environments = ReadonlyMap<string, Environment>;

const SUFFIX = '_DATABASE_URL';
/** Names that are protected whatever their host and whatever PROTECTED_ENVIRONMENTS says. */
export const PROTECTED_NAMES: readonly string[] = ['production', 'prod', 'staging', 'stage'];
/**
 * What PROTECTED_ENVIRONMENTS defaults to: shell-style patterns (`*` any run of characters, `?` one), matched
 * against the whole environment name, so `staging2`, `prod_eu` and `live` are protected too.
 */
export const DEFAULT_PROTECTED_PATTERNS: readonly string[] = ['prod*', 'production*', 'staging*', 'stage*', 'live*'];

/** Normalises what a user types ("Staging", "my-env") to the key the map uses ("staging", "my_env"). */
export function normalizeEnvironmentName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

/**
 * PROTECTED_ENVIRONMENTS: comma-separated name patterns (letters, digits, `_`, `-`, `*`, `?`); unset or empty means
 * {@link DEFAULT_PROTECTED_PATTERNS}, `none` means the exact names of {@link PROTECTED_NAMES} only.
 */
export function parseProtectedPatterns(raw: string | undefined): { patterns: string[]; errors: string[] } {
  const text = (raw ?? '').trim();
  if (text === '') return { patterns: [...DEFAULT_PROTECTED_PATTERNS], errors: [] };
  if (text.toLowerCase() === 'none') return { patterns: [], errors: [] };
  const patterns = text.split(',').map((p) => normalizeEnvironmentName(p)).filter((p) => p !== '');
  const bad = patterns.filter((p) => !/^[a-z0-9_*?]+$/.test(p));
  const errors = bad.length > 0 ? [`PROTECTED_ENVIRONMENTS must list name patterns of letters, digits, "_", "-", "*" and "?" separated by commas (bad: ${bad.join(', ')})`] : [];
  return { patterns: patterns.filter((p) => !bad.includes(p)), errors };
}

/** True for a name protected by PROTECTED_NAMES or one of `patterns`. */
export function isProtectedName(name: string, patterns: readonly string[] = DEFAULT_PROTECTED_PATTERNS): boolean {
  const normalized = normalizeEnvironmentName(name);
  if (PROTECTED_NAMES.includes(normalized)) return true;
  return patterns.some((pattern) => new RegExp(`^${pattern.replace(/[*?]/g, (c) => (c === '*' ? '.*' : '.'))}$`).test(normalized));
}

/**
 * Every problem of the environment variables, each naming its variable and never echoing a value (a URL holds
 * a password): a `<NAME>_DATABASE_URL` that is not a postgres:// or postgresql:// URL or cannot be parsed, a
 * `<NAME>_TYPESENSE_URL` that is not http(s), a Typesense URL without its key, PROTECTED_ENVIRONMENTS.
 */
export function environmentProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems = [...parseProtectedPatterns(env.PROTECTED_ENVIRONMENTS).errors];
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (key.endsWith(SUFFIX) && /^[A-Z][A-Z0-9_]*$/.test(key.slice(0, -SUFFIX.length))) {
      const problem = databaseUrlProblem(value);
      if (problem) problems.push(`${key} ${problem}`);
    }
    if (key.endsWith('_TYPESENSE_URL') && env[`${key.slice(0, -'_TYPESENSE_URL'.length)}${SUFFIX}`]) {
      const problem = httpUrlProblem(value);
      if (problem) problems.push(`${key} ${problem}`);
      const keyName = `${key.slice(0, -'_URL'.length)}_API_KEY`;
      if (!env[keyName]?.trim()) problems.push(`${key} is set but ${keyName} is not: set the Typesense API key too`);
    }
  }
  return problems.sort();
}

/** Why a database URL cannot be used, or null. Says what is wrong, never what the URL holds. */
export function databaseUrlProblem(url: string): string | null {
  const text = url.trim();
  if (!isDatabaseUrl(text)) return 'must be a postgres:// or postgresql:// URL (e.g. postgres://user:password@host:5432/database)';
  // postgres.js takes several comma-separated hosts (`h1:5432,h2:5433`); URL parses one: check the first
  const scheme = text.slice(0, text.indexOf('://') + 3);
  const rest = text.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  const hosts = authority.slice(at + 1);
  const firstHost = hosts.startsWith('[') ? hosts.slice(0, hosts.indexOf(']') + 1) + (hosts.slice(hosts.indexOf(']') + 1).split(',')[0] ?? '') : (hosts.split(',')[0] ?? '');
  let parsed: URL;
  try {
    parsed = new URL(`${scheme}${authority.slice(0, at + 1)}${firstHost}${end < 0 ? '' : rest.slice(end)}`);
  } catch {
    return 'cannot be parsed as a URL (check the host and port; encode special characters of the user and password, e.g. @ as %40)';
  }
  for (const part of [parsed.username, parsed.password, parsed.pathname]) {
    try {
      decodeURIComponent(part);
    } catch {
      return 'has a badly percent-encoded part (user, password or database: write % as %25)';
    }
  }
  for (const host of hosts.split(',')) {
    const rest = host.replace(/^\[[^\]]*\]/, '');
    // a bare IPv6 address has several colons and no port
    if ((rest.match(/:/g) ?? []).length !== 1) continue;
    const port = rest.slice(rest.indexOf(':') + 1);
    if (port !== '' && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) return 'has an invalid port';
  }
  return null;
}

function httpUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return 'cannot be parsed as a URL (e.g. http://127.0.0.1:8108)';
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? null : 'must be an http:// or https:// URL (e.g. http://127.0.0.1:8108)';
}

/**
 * Builds the environment map from `<NAME>_DATABASE_URL` (+ optional `<NAME>_TYPESENSE_URL`/`_API_KEY`) variables.
 * Refuses (JOBS_CONFIG_INVALID, every problem in `details.errors`) URLs that cannot work, naming the variable
 * only; PROTECTED_ENVIRONMENTS adds protected name patterns.
 */
export function loadEnvironments(env: Readonly<Record<string, string | undefined>>): Environments {
  const problems = environmentProblems(env);
  if (problems.length > 0) throw new JobsError('JOBS_CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, { details: { errors: problems } });
  const { patterns } = parseProtectedPatterns(env.PROTECTED_ENVIRONMENTS);
  const map = new Map<string, Environment>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith(SUFFIX) || !value) continue;
    const prefix = key.slice(0, -SUFFIX.length);
    if (!/^[A-Z][A-Z0-9_]*$/.test(prefix)) continue;
    const name = normalizeEnvironmentName(prefix);
    map.set(name, describeEnvironment(name, value.trim(), env[`${prefix}_TYPESENSE_URL`]?.trim(), env[`${prefix}_TYPESENSE_API_KEY`]?.trim(), env.PGHOST, patterns));
  }
  return map;
}

/**
 * An Environment for a name and URL (also used for ad-hoc URLs given on the CLI). Protected: a name in
 * PROTECTED_NAMES or matching `protectedPatterns`, or any Supabase host.
 */
export function describeEnvironment(name: string, databaseUrl: string, typesenseUrl?: string, typesenseKey?: string, pgHost?: string, protectedPatterns: readonly string[] = DEFAULT_PROTECTED_PATTERNS): Environment {
  const hosts = parseDatabaseHosts(databaseUrl, pgHost);
  const protectedHost = isProtectedHostList(hosts);
  return {
    name,
    databaseUrl,
    ...(typesenseUrl ? { typesense: { url: typesenseUrl, apiKey: typesenseKey ?? '' } } : {}),
    protected: isProtectedName(name, protectedPatterns) || protectedHost,
    loopback: hosts.every((h) => h.loopback),
  };
}

/** Looks an environment up by name; a clear error lists the names that exist. */
export function getEnvironment(environments: Environments, name: string): Environment {
  const env = environments.get(normalizeEnvironmentName(name));
  if (!env) {
    const known = [...environments.keys()].sort();
    throw new JobsError(
      'JOBS_UNKNOWN_ENVIRONMENT',
      `unknown environment "${name}"${known.length ? ` (configured: ${known.join(', ')})` : ' (none configured: set <NAME>_DATABASE_URL)'}`,
      { details: { environment: name } });
  }
  return env;
}

/** True for strings the CLI should treat as a connection URL rather than an environment name. */
export function isDatabaseUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/** A name for an ad-hoc URL that is safe to print: host and database, never user or password. */
export function describeUrlSafely(url: string): string {
  const hosts = parseDatabaseHosts(url);
  const db = url.replace(/^[^/]*\/\/[^/?]*\/?/, '').split('?')[0] ?? '';
  return `${hosts.map((h) => h.host).join(',')}/${decodeSafe(db)}`;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
