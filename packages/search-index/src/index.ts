export const PACKAGE_NAME = '@mbsync/search-index';
