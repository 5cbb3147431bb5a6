/**
 * The test harness's own settings, read from the environment once, here (testkit is the tests' entry point, as
 * an app's main.ts is the app's): which loopback servers tests create their databases on, and the environment
 * the service processes a test starts inherit.
 */
const env = process.env;

export const HARNESS = Object.freeze({
  /** the main test cluster (PG_TEST_URL) */
  adminUrl: env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  /** the second cluster without the platform roles (PG_PLAIN_TEST_URL) */
  plainAdminUrl: env.PG_PLAIN_TEST_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres',
  /** PATH, HOME and the rest, for the api and worker processes the tests start */
  inheritedEnv: Object.freeze({ ...env }) as Readonly<Record<string, string | undefined>>,
});
