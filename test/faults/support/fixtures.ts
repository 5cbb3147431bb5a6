// Databases, directories and checks shared by the fault suite. Every check is about the end state a fault must
// leave: the target as it was (or complete), no session of ours left on a server, no partial file on disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_URL, createItemsDatabase, createReplaceableTarget, snapshotDatabase, type DatabaseSnapshot, type TestDatabase } from '@mbsync/testkit';
import postgres from 'postgres';

/**
 * The shared items source without its tags column (~120 bytes of COPY text per row: 100 000 rows ≈ 12 MB), so the
 * byte counts the faults below are placed at stay as they were measured.
 */
export function createSource(prefix: string, rows: number): Promise<TestDatabase> {
  return createItemsDatabase(prefix, rows, { tags: false });
}

/** A target holding something a replace would drop. */
export const createTarget = createReplaceableTarget;

/** Scratch directories for dumps and backups. */
export async function scratch(name: string): Promise<{ root: string; dumps: string; backups: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `mbsync-faults-${name}-`));
  const dirs = { root, dumps: join(root, 'dumps'), backups: join(root, 'backups') };
  await Promise.all([mkdir(dirs.dumps), mkdir(dirs.backups)]);
  return { ...dirs, remove: () => rm(root, { recursive: true, force: true }) };
}

const admin = () => postgres(ADMIN_URL, { max: 1, onnotice: () => {} });

/** Sessions of the service (application_name mbsync…) on these databases. */
export async function ourSessions(databases: string[]): Promise<{ datname: string; application_name: string; state: string | null }[]> {
  const sql = admin();
  try {
    return [...(await sql<{ datname: string; application_name: string; state: string | null }[]>`
      SELECT datname, application_name, state FROM pg_stat_activity
      WHERE datname IN ${sql(databases)} AND application_name LIKE 'mbsync%' AND pid <> pg_backend_pid()`)];
  } finally {
    await sql.end();
  }
}

/** No session of ours is left on these databases (waits a few seconds for the server to see disconnects). */
export async function assertNoSessions(databases: string[], ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  let left = await ourSessions(databases);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = await ourSessions(databases);
  }
  assert.deepEqual(left, [], 'sessions of the service were left on the server');
}

/** Files under `dir` (recursively) whose name says they are partial, or every file when `all`. */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

export async function assertNoPartialFiles(...dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const partial = (await filesIn(dir)).filter((f) => /\.partial$/.test(f));
    assert.deepEqual(partial, [], `partial files left in ${dir}`);
  }
}

/**
 * The target as it was before the fault. `ignoreStaging`: leaves out the staging schemas (mbsync_stage_*) a parallel
 * sync killed outright leaves behind for the next import to drop.
 */
export async function assertUnchanged(target: TestDatabase, before: DatabaseSnapshot, options: { ignoreStaging?: boolean } = {}): Promise<void> {
  const now = await snapshotDatabase(target.sql);
  if (options.ignoreStaging) {
    for (const key of Object.keys(now.tables)) if (key.startsWith('mbsync_stage_')) delete now.tables[key];
    for (const key of Object.keys(now.sequences)) if (key.startsWith('mbsync_stage_')) delete now.sequences[key];
  }
  assert.deepEqual(now, before, `target ${target.name} changed`);
}

/** The target complete: every row and sequence equal to the source's. */
export async function assertCopied(target: TestDatabase, source: TestDatabase): Promise<void> {
  assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql), `target ${target.name} differs from the source`);
}

/** Mounts a tmpfs of `megabytes` on a new directory (root only); `unmount` removes it again. */
export async function mountTmpfs(megabytes: number): Promise<{ dir: string; unmount(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mbsync-faults-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir]);
  return {
    dir,
    async unmount() {
      try {
        execFileSync('umount', [dir]);
      } catch {
        execFileSync('umount', ['-l', dir]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when `check` holds (polled every 20 ms), rejects after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
