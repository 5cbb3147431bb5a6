import { PACKAGE_NAME } from '@mbsync/dump';
console.log(PACKAGE_NAME);
