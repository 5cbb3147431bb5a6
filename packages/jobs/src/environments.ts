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
/** Names that are protected whatever their host. */
export const PROTECTED_NAMES: readonly string[] = ['production', 'prod', 'staging', 'stage'];

/** Normalises what a user types ("Staging", "my-env") to the key the map uses ("staging", "my_env"). */
export function normalizeEnvironmentName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

/** Builds the environment map from `<NAME>_DATABASE_URL` (+ optional `<NAME>_TYPESENSE_URL`/`_API_KEY`) variables. */
export function loadEnvironments(env: Readonly<Record<string, string | undefined>>): Environments {
  const map = new Map<string, Environment>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith(SUFFIX) || !value) continue;
    const prefix = key.slice(0, -SUFFIX.length);
    if (!/^[A-Z][A-Z0-9_]*$/.test(prefix)) continue;
    map.set(normalizeEnvironmentName(prefix), describeEnvironment(normalizeEnvironmentName(prefix), value, env[`${prefix}_TYPESENSE_URL`], env[`${prefix}_TYPESENSE_API_KEY`], env.PGHOST));
  }
  return map;
}

/** An Environment for a name and URL (also used for ad-hoc URLs given on the CLI). */
export function describeEnvironment(name: string, databaseUrl: string, typesenseUrl?: string, typesenseKey?: string, pgHost?: string): Environment {
  const hosts = parseDatabaseHosts(databaseUrl, pgHost);
  const protectedHost = isProtectedHostList(hosts);
  return {
    name,
    databaseUrl,
    ...(typesenseUrl ? { typesense: { url: typesenseUrl, apiKey: typesenseKey ?? '' } } : {}),
    protected: PROTECTED_NAMES.includes(name) || protectedHost,
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
      { environment: name },
    );
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
