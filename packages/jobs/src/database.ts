import postgres from 'postgres';
import type { Environment } from './environments.js';

export interface OpenDatabaseOptions {
  /** pool size (default 1: a dump or an import is one session) */
  max?: number;
  /** what the session shows as application_name in pg_stat_activity */
  applicationName?: string;
}

/**
 * Opens a postgres.js pool on an environment. Nothing connects until the first query. Notices are dropped
 * (the restore settings silence them anyway).
 */
export function openDatabase(env: Environment, options: OpenDatabaseOptions = {}): postgres.Sql {
  return postgres(env.databaseUrl, {
    max: options.max ?? 1,
    onnotice: () => {},
    connect_timeout: 15,
    idle_timeout: 30,
    max_lifetime: null,
    prepare: false,
    connection: { application_name: options.applicationName ?? 'mbsync' },
  });
}
