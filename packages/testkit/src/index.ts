export { ADMIN_URL, createDatabase, databaseUrl, dropDatabase, scratchDatabases } from './databases.js';
export type { CreateDatabaseOptions, ScratchDatabases, TestDatabase } from './databases.js';
export { PLAIN_ADMIN_URL, clusterRoles, createPlainDatabase, dropPlainDatabase } from './plain-cluster.js';
export { pgDumpSchema, pgDumpSchemaFull, pgDumpToFile, psqlFile, psqlText } from './referees.js';
export { snapshotDatabase } from './compare.js';
export type { DatabaseSnapshot } from './compare.js';
export { freePort, startService } from './service-process.js';
export { startPostgresInstance } from './postgres-instance.js';
export type { PostgresInstance, PostgresInstanceOptions } from './postgres-instance.js';
export { createTestCertificates } from './test-certificates.js';
export type { TestCertificates } from './test-certificates.js';
export { startServices } from './services.js';
export type { ApiAnswer, RunningServices, StartServicesOptions } from './services.js';
export type { ChildService, LogLine } from './service-process.js';
export { createItemsDatabase, createReplaceableTarget } from './fixtures.js';
export type { ItemsDatabaseOptions } from './fixtures.js';
export {
  SUPABASE_BYTES_PER_SCALE,
  SUPABASE_LATEST_AUTH_MIGRATION,
  SUPABASE_PLATFORM_SCHEMAS,
  SUPABASE_ROLES,
  createLocalSupabaseTarget,
  createSupabaseDatabase,
  ensureSupabaseRoles,
  existingSupabaseRoles,
  supabaseFixtureDirectory,
} from './supabase-fixture.js';
export type { LocalSupabaseTargetOptions, SupabaseDatabaseOptions } from './supabase-fixture.js';
