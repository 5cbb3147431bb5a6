export const PACKAGE_NAME = '@mbsync/jobs';
