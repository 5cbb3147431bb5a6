import { type CoreConfig, CoreSettings, coreConfigFrom, SERVICE_SECRETS, ServiceSettings, environmentProblems, type Environments, JobsError, loadEnvironments, loadSearchSpecs } from '@mbsync/jobs';
import { readVariables, type Variables } from '@mbsync/settings';
import { Type } from 'typebox';

/** Shortest API key or metrics token the api accepts (doctor checks them for it). */
const MIN_KEY_LENGTH = 32;

/**
 * The CLI's variables: the core ones the commands run with, the terminal's (NO_COLOR, MBSYNC_DEBUG), PGHOST for
 * ad-hoc URLs, and the ones the api and worker share (ServiceSettings), which `doctor` checks for them. Environments
 * (`<NAME>_DATABASE_URL`) are read beside it by loadEnvironments.
 */
export const CliVariables = Type.Object({
  ...CoreSettings.properties,
  ...ServiceSettings.properties,
  PGHOST: Type.Optional(Type.String()),
  NO_COLOR: Type.Optional(Type.String()),
  MBSYNC_DEBUG: Type.Optional(Type.String()),
  API_KEYS: Type.Optional(Type.String()),
  API_KEY: Type.Optional(Type.String()),
  METRICS_TOKEN: Type.Optional(Type.String()),
});

/** Never shown in a problem line. */
const SECRET = [...SERVICE_SECRETS, 'API_KEYS', 'API_KEY', 'METRICS_TOKEN'];
const CORE_NAMES: ReadonlySet<string> = new Set(Object.keys(CoreSettings.properties));

/** What every command runs with, read once by main.ts: commands never read the environment. */
export interface CliSettings {
  /** null when a core setting is invalid (`problems.core` says which): only `doctor` runs then */
  core: Readonly<CoreConfig> | null;
  /** secret URLs inside: only names and flags are ever printed */
  environments: Environments;
  /** PGHOST: the host of an ad-hoc URL without one */
  pgHost: string | undefined;
  /** NO_COLOR set: no colours unless a command's --color asks */
  noColor: boolean;
  /** MBSYNC_DEBUG set: a failure prints its stack */
  debug: boolean;
  /** secret (may hold a password): what doctor connects to, shown without credentials */
  redisUrl: string;
  /** every configuration problem, each named and free of secrets, by what it stops */
  problems: {
    /** core settings: every command but doctor refuses to run (JOBS_CONFIG_INVALID) */
    core: string[];
    /** environment URLs and the specs file: checked at start-up, every command but doctor refuses to run */
    startup: string[];
    /** what only the api and worker need (doctor reports them; the CLI runs anyway) */
    services: string[];
  };
  /** what works but not as recommended (doctor) */
  warnings: string[];
}

/**
 * Reads the CLI's settings from the variables once, through {@link CliVariables}: every problem is collected,
 * none thrown (main.ts decides what a command may run with; doctor lists them all).
 */
export async function loadCliSettings(variables: Variables): Promise<CliSettings> {
  const { settings: s, problems } = readVariables(CliVariables, variables, { secret: SECRET });
  // the variable-style lines start with the variable's name
  const core = problems.filter((line) => CORE_NAMES.has(line.slice(0, line.indexOf(' '))));
  const services = problems.filter((line) => !core.includes(line));
  const startup = environmentProblems(variables);
  const environments = startup.length === 0 ? loadEnvironments(variables) : new Map();
  let searchSpecs: CoreConfig['searchSpecs'] = null;
  try {
    searchSpecs = await loadSearchSpecs(s.TYPESENSE_SPECS_FILE);
  } catch (error) {
    if (!(error instanceof JobsError)) throw error;
    startup.push(...((error.details?.errors as string[] | undefined) ?? [error.message]));
  }
  const warnings: string[] = [];
  const keys = (s.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.length === 0 && !s.API_KEY) warnings.push('neither API_KEY nor API_KEYS is set: the api will not start (the CLI does not need them)');
  // keys and tokens are named, never shown
  keys.forEach((k, i) => k.length < MIN_KEY_LENGTH && services.push(`API_KEYS key #${i + 1} is shorter than ${MIN_KEY_LENGTH} characters`));
  if (s.API_KEY && s.API_KEY.length < MIN_KEY_LENGTH) services.push(`API_KEY is shorter than ${MIN_KEY_LENGTH} characters`);
  if (s.METRICS_TOKEN && s.METRICS_TOKEN.length < MIN_KEY_LENGTH) services.push(`METRICS_TOKEN is shorter than ${MIN_KEY_LENGTH} characters`);
  return Object.freeze({
    core: core.length === 0 ? Object.freeze({ ...coreConfigFrom(s), searchSpecs }) : null,
    environments,
    pgHost: s.PGHOST,
    noColor: s.NO_COLOR !== undefined,
    debug: s.MBSYNC_DEBUG !== undefined,
    redisUrl: s.REDIS_URL,
    problems: Object.freeze({ core, startup, services }),
    warnings,
  });
}
