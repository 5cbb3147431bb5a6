// Disk safety: exports and backups refuse, before writing anything, when the estimated dump does not fit on a
// small tmpfs; dumps are pruned by DUMP_KEEP_COUNT / DUMP_KEEP_DAYS. Mounting a tmpfs needs root (CI is root).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { manifestPath, timestampedFileName } from '@mbsync/dump';
import { createDatabase, type TestDatabase } from '@mbsync/testkit';
import { diskSpace, DUMP_SIZE_FACTOR, estimateDumpSize, pruneDumps, runExport, takeBackup } from '@mbsync/execution';
import { describeEnvironment, JobsError, loadCoreConfig } from '@mbsync/jobs';

const MB = 1024 * 1024;

/** Runs `work` and returns what it threw. */
async function thrown(work: Promise<unknown>): Promise<JobsError> {
  const error = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof JobsError, `expected a JobsError, got ${String(error)}`);
  return error;
}

describe('disk space checks on an 8 MB tmpfs', () => {
  let root: string;
  let disk: string;
  let big: TestDatabase;
  let small: TestDatabase;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mbsync-disk-'));
    disk = join(root, 'tmpfs');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    [big, small] = await Promise.all([createDatabase('disk_big'), createDatabase('disk_small')]);
    // about 14 MB of table: more than the tmpfs holds
    await big.sql.unsafe(`CREATE TABLE public.blobs (id int PRIMARY KEY, a text, b text);
      INSERT INTO public.blobs SELECT g, md5(g::text) || md5((g * 3)::text), md5((g * 7)::text) FROM generate_series(1, 120000) g; ANALYZE;`);
    await small.sql.unsafe(`CREATE TABLE public.items (id int PRIMARY KEY, name text);
      INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 2000) g; ANALYZE;`);
  });

  after(async () => {
    if (disk) execFileSync('umount', [disk]);
    await Promise.all([big?.drop(), small?.drop()]);
    await rm(root, { recursive: true, force: true });
  });

  const config = (directory: string, reserveMb: number) => loadCoreConfig({ DUMP_DIRECTORY: directory, BACKUP_DIRECTORY: directory, DISK_RESERVE_MB: String(reserveMb) });

  test('diskSpace reads the tmpfs, also through a directory that does not exist yet', async () => {
    const space = await diskSpace(join(disk, 'not', 'yet'));
    assert.equal(space.measured, disk);
    assert.equal(space.totalBytes, 8 * MB);
    assert.ok(space.freeBytes > 7 * MB && space.freeBytes <= 8 * MB);
  });

  test('the estimate is the table sizes times the measured factor, and covers the real dump', async () => {
    const bytes = (await big.sql<{ bytes: string }[]>`SELECT pg_table_size('public.blobs')::text AS bytes`)[0]!.bytes;
    const plain = await estimateDumpSize(big.sql, {}, false);
    assert.equal(plain.tableBytes, Number(bytes));
    assert.equal(plain.dumpBytes, Math.ceil(Number(bytes) * DUMP_SIZE_FACTOR.plain));
    assert.equal((await estimateDumpSize(big.sql, { excludeTableData: ['public.blobs'] }, false)).tableBytes, 0);
    assert.equal((await estimateDumpSize(big.sql, { schemas: ['other'] }, false)).tableBytes, 0);

    const out = join(root, 'real.sql');
    await runExport({ source: describeEnvironment('big', big.url), out });
    const written = (await stat(out)).size;
    assert.ok(written <= plain.dumpBytes, `dump ${written} B within the estimate ${plain.dumpBytes} B`);
    assert.ok(written >= plain.dumpBytes / 2, `estimate ${plain.dumpBytes} B not wildly above the dump ${written} B`);
    const gz = join(root, 'real.sql.gz');
    await runExport({ source: describeEnvironment('big', big.url), out: gz });
    assert.ok((await stat(gz)).size <= (await estimateDumpSize(big.sql, {}, true)).dumpBytes);
  });

  test('an export that cannot fit is refused before anything is written: code, sizes in MB, directory', async () => {
    const out = join(disk, 'dumps', 'big.sql');
    const error = await thrown(runExport({ source: describeEnvironment('big', big.url), out, config: config(join(disk, 'dumps'), 0) }));
    assert.equal(error.code, 'JOBS_INSUFFICIENT_DISK_SPACE');
    assert.match(error.message, new RegExp(`^not enough disk space for the export of big in ${disk}/dumps: needs about \\d+\\.\\d MB plus 0\\.0 MB kept free \\(DISK_RESERVE_MB\\), \\d+\\.\\d MB free$`));
    assert.ok((error.details?.neededBytes as number) > 8 * MB);
    assert.deepEqual(await readdir(disk), [], 'not even the directory was created');
  });

  test('a small export fits; the reserve (DISK_RESERVE_MB) is kept free', async () => {
    const dir = join(disk, 'dumps');
    const result = await runExport({ source: describeEnvironment('small', small.url), out: join(dir, 'small.sql'), config: config(dir, 0) });
    assert.ok((await stat(result.file)).size > 0);
    const error = await thrown(runExport({ source: describeEnvironment('small', small.url), out: join(dir, 'again.sql'), config: config(dir, 16) }));
    assert.equal(error.code, 'JOBS_INSUFFICIENT_DISK_SPACE');
    assert.match(error.message, /plus 16\.0 MB kept free/);
    assert.deepEqual((await readdir(dir)).sort(), ['small.sql', 'small.sql.manifest.json']);
    await rm(dir, { recursive: true });
  });

  test('a backup that cannot fit is refused before anything is written; a small one is taken', async () => {
    const dir = join(disk, 'backups');
    const error = await thrown(takeBackup({ sql: big.sql, target: describeEnvironment('local', big.url), schemas: ['public'], config: config(dir, 0) }));
    assert.equal(error.code, 'JOBS_INSUFFICIENT_DISK_SPACE');
    assert.match(error.message, new RegExp(`for the backup of local in ${disk}/backups: needs about`));
    assert.deepEqual(await readdir(disk), []);
    const backup = await takeBackup({ sql: small.sql, target: describeEnvironment('local', small.url), schemas: ['public'], config: config(dir, 0) });
    assert.equal(backup.rows, 2000);
    await rm(dir, { recursive: true });
  });
});

describe('dump retention (DUMP_KEEP_COUNT, DUMP_KEEP_DAYS)', () => {
  let dir: string;
  let db: TestDatabase;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-retention-'));
    db = await createDatabase('retention');
    await db.sql.unsafe(`CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 10);`);
  });
  after(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sets a dump's manifest time, as if it had been written then. */
  async function age(file: string, days: number): Promise<void> {
    const manifest = JSON.parse(await readFile(manifestPath(join(dir, file)), 'utf8')) as { startedAt: string };
    manifest.startedAt = new Date(Date.now() - days * 86_400_000).toISOString();
    await writeFile(manifestPath(join(dir, file)), JSON.stringify(manifest));
  }

  test('an export into DUMP_DIRECTORY keeps the newest per source; named files, other sources and backups stay', async () => {
    const env = { DUMP_DIRECTORY: dir, BACKUP_DIRECTORY: dir, DUMP_KEEP_COUNT: '2' };
    const source = describeEnvironment('src', db.url);
    const other = describeEnvironment('other', db.url);
    await runExport({ source, out: join(dir, 'golden.sql'), config: loadCoreConfig(env) });
    await runExport({ source: other, out: join(dir, timestampedFileName('other', '.sql')), config: loadCoreConfig(env) });
    await takeBackup({ sql: db.sql, target: describeEnvironment('src', db.url), schemas: ['public'], config: loadCoreConfig(env) });
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const out = join(dir, timestampedFileName('src', '.sql', new Date(Date.now() + i)));
      names.push((await runExport({ source, out, config: loadCoreConfig(env) })).file.slice(dir.length + 1));
    }
    const left = (await readdir(dir)).filter((n) => !n.endsWith('.manifest.json')).sort();
    assert.equal(left.length, 5, left.join(', '));
    assert.ok(left.includes('golden.sql'));
    assert.ok(left.some((n) => n.startsWith('other-')));
    assert.ok(left.some((n) => n.startsWith('src-') && n.endsWith('.sql.gz')), 'the backup stays');
    assert.deepEqual(left.filter((n) => n.startsWith('src-') && n.endsWith('.sql')), names.slice(2).sort());
    // each removed dump went with its manifest
    assert.equal((await readdir(dir)).filter((n) => n.endsWith('.manifest.json')).length, 5);
  });

  test('DUMP_KEEP_DAYS removes old dumps but never the newest of a source; 0/0 keeps everything', async () => {
    const dumps = (await readdir(dir)).filter((n) => /^src-.*Z\.sql$/.test(n)).sort();
    assert.equal(dumps.length, 2);
    await age(dumps[0]!, 30);
    assert.deepEqual(await pruneDumps(dir, { keepCount: 0, keepDays: 0 }), []);
    assert.deepEqual(await pruneDumps(dir, { keepCount: 0, keepDays: 7 }), [dumps[0]]);
    await age(dumps[1]!, 30);
    assert.deepEqual(await pruneDumps(dir, { keepCount: 0, keepDays: 7 }), [], 'the newest of a source stays');
  });
});
