export { ADMIN_URL, createDatabase, databaseUrl, dropDatabase } from './databases.js';
export type { TestDatabase } from './databases.js';
export { pgDumpSchema, pgDumpToFile, psqlFile, psqlText } from './referees.js';
export { snapshotDatabase } from './compare.js';
export type { DatabaseSnapshot } from './compare.js';
export { freePort, startService } from './service-process.js';
export type { ChildService, LogLine } from './service-process.js';
export { createItemsDatabase, createReplaceableTarget } from './fixtures.js';
export type { ItemsDatabaseOptions } from './fixtures.js';
