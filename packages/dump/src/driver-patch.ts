import postgres from 'postgres';
import { DumpError } from './errors.js';

/**
 * The level of patches/postgres@3.4.9.patch this build relies on; the patched module exports it as
 * `postgres.mbsyncPatch`. Raise both together when the patch changes (docs/driver-patch.md lists each fix).
 */
export const DRIVER_PATCH_LEVEL = 6;

let checked = false;

/**
 * Refuses to run on a postgres.js without our patch (a `pnpm install` that skipped patchedDependencies, a copy
 * of node_modules from elsewhere): COPY streams would hang or lose bytes in ways no test of ours would show.
 * Cheap after the first call; `driver` is for tests.
 */
export function assertDriverPatched(driver: unknown = postgres): void {
  if (checked && driver === postgres) return;
  const level = (driver as { mbsyncPatch?: unknown }).mbsyncPatch;
  if (level !== DRIVER_PATCH_LEVEL) {
    const found = typeof level === 'number' ? `patch level ${level}, this build needs ${DRIVER_PATCH_LEVEL}` : 'no patch marker';
    throw new DumpError(
      'DUMP_DRIVER_UNPATCHED',
      `postgres.js 3.4.9 is not patched as this build needs (${found}): patches/postgres@3.4.9.patch must be applied — run pnpm install in the project directory`,
    );
  }
  if (driver === postgres) checked = true;
}
