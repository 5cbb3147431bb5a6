export const PACKAGE_NAME = '@mbsync/dump';
