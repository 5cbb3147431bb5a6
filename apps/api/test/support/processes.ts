// Child processes for end-to-end tests: the helper lives in the test kit, shared with the worker's tests.
export { freePort, startService } from '@mbsync/testkit';
export type { ChildService, LogLine } from '@mbsync/testkit';
