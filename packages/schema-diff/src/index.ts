export const PACKAGE_NAME = '@mbsync/schema-diff';
