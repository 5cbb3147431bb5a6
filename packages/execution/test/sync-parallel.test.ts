import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDumpFile } from '@mbsync/dump';
import { runSync } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, type JobProgress, loadCoreConfig } from '@mbsync/jobs';
import { pgDumpSchema, psqlFile, psqlText, scratchDatabases, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

const fixtures = new URL('../../../test/fixtures/', import.meta.url).pathname;

async function stateOf(db: TestDatabase) {
  return { schema: pgDumpSchema(db.url), data: await snapshotDatabase(db.sql) };
}

describe('runSync over several connections (staging schemas)', { timeout: 300_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  const { fresh, dropAll } = scratchDatabases();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-sync-parallel-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await fresh('syncpar_src');
    psqlFile(source.url, join(fixtures, 'multiboard/schema.sql'));
    psqlText(source.url, `
      INSERT INTO public.categories (slug, name) SELECT 'c' || g, 'Cat ' || g FROM generate_series(1, 10) g;
      INSERT INTO public.components (slug, name, category_id) SELECT 'comp-' || g, 'Component ' || g, 1 + g % 10 FROM generate_series(1, 500) g;
      INSERT INTO public.parts (component_id, sku, name) SELECT 1 + g % 500, 'sku-' || g, 'Part ' || g FROM generate_series(1, 5000) g;
      INSERT INTO public.attributes (slug, name, data_type) SELECT 'a' || g, 'Attr ' || g, 'number' FROM generate_series(1, 5) g;
      INSERT INTO public.part_attributes SELECT p, a, (p * a)::text FROM generate_series(1, 5000) p, generate_series(1, 5) a;`);
  });

  after(async () => {
    await dropAll();
    await rm(dir, { recursive: true, force: true });
  });

  test('jobs 2: identical copy, backup of the old target taken alongside, phases in order, verify passes', async () => {
    const target = await fresh('syncpar_dst');
    psqlText(target.url, `CREATE TABLE public.parts (id int PRIMARY KEY); INSERT INTO public.parts SELECT generate_series(1, 7);`);
    const progress: JobProgress[] = [];
    const result = await runSync({
      source: describeEnvironment('src', source.url),
      target: describeEnvironment('dst', target.url),
      jobs: 2,
      acceptDataLoss: true,
      config,
      onProgress: (p) => progress.push(p),
    });
    assert.deepEqual(await stateOf(target), await stateOf(source));
    assert.equal(result.verify?.tables, 6);
    assert.equal(result.import.rows, 10 + 500 + 5000 + 5 + 25000);
    assert.ok(result.backup, 'a backup was taken');
    const backup = await openDumpFile(result.backup.file);
    assert.deepEqual(backup.manifest?.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]), [['public.parts', 7]], 'the backup holds the old target');

    const phases = progress[0]!.phases;
    assert.deepEqual(phases, ['export', 'validate', 'backup', 'import', 'verify']);
    let last = { phase: -1, percent: 0 };
    for (const p of progress) {
      const index = phases.indexOf(p.phase);
      assert.ok(index >= last.phase, `phase ${p.phase} after ${phases[last.phase]}`);
      if (index === last.phase) assert.ok(p.percent >= last.percent, `percent went back in ${p.phase}: ${last.percent} → ${p.percent}`);
      last = { phase: index, percent: p.percent };
    }
    assert.deepEqual([...new Set(progress.map((p) => p.phase))], phases);
    const imports = progress.filter((p) => p.phase === 'import');
    assert.equal(imports.at(-1)!.percent, 100);
    assert.equal(imports.at(-1)!.tablesDone, 6);
  });

  test('jobs 1 (one transaction) gives the same target as jobs 3', async () => {
    const one = await fresh('syncpar_one');
    const three = await fresh('syncpar_three');
    for (const [target, jobs] of [[one, 1], [three, 3]] as const) {
      await runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment(`t${jobs}`, target.url), jobs, noBackup: true, config });
    }
    assert.deepEqual(await stateOf(three), await stateOf(one));
  });

  test('SYNC_COPY_FORMAT: auto keeps binary from a loopback source, smaller sends the tables smaller in text as text; the same copy', async () => {
    psqlText(source.url, 'ANALYZE');
    const results = [];
    const targets = [];
    for (const format of ['auto', 'smaller', 'binary']) {
      const target = await fresh(`syncpar_fmt_${format}`);
      const formatConfig = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups'), SYNC_COPY_FORMAT: format });
      results.push(await runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment(`fmt_${format}`, target.url), jobs: 2, noBackup: true, config: formatConfig }));
      targets.push(target);
    }
    const [auto, smaller, binary] = results.map((r) => r.export.dataBytes);
    assert.equal(auto, binary, 'loopback: every binary-safe table in binary, as SYNC_COPY_FORMAT=binary');
    // part_attributes (bigint, bigint, short text) is a third smaller in text
    assert.ok(smaller! < 0.9 * binary!, `smaller ${smaller} bytes, binary ${binary}`);
    for (const target of targets) assert.deepEqual(await stateOf(target), await stateOf(source));
  });

  test('SYNC_COPY_FORMAT=packed: a source with pgcrypto sends its text tables deflated, a third of the bytes or less; the same copy', async () => {
    const packedSource = await fresh('syncpar_pack_src');
    psqlText(packedSource.url, `CREATE EXTENSION pgcrypto;
      CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL, meta jsonb, at timestamptz);
      INSERT INTO public.notes SELECT g, repeat('multiboard part ' || g % 40 || E'\\t', 6), jsonb_build_object('g', g % 9), '2024-01-01'::timestamptz + g * interval '1 minute'
      FROM generate_series(1, 20000) g;
      ANALYZE;`);
    const bytes: Record<string, number> = {};
    for (const format of ['packed', 'smaller']) {
      const target = await fresh(`syncpar_pack_${format}`);
      const formatConfig = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups'), SYNC_COPY_FORMAT: format });
      const result = await runSync({ source: describeEnvironment('src', packedSource.url), target: describeEnvironment(`pack_${format}`, target.url), jobs: 2, noBackup: true, config: formatConfig });
      bytes[format] = result.export.dataBytes;
      assert.deepEqual(await stateOf(target), await stateOf(packedSource));
    }
    assert.ok(bytes.packed! < bytes.smaller! / 3, `packed ${bytes.packed} bytes, smaller ${bytes.smaller}`);
  });

  test('a refused schema check (replace would drop rows, no --yes) stops before any write or staging schema', async () => {
    const target = await fresh('syncpar_refuse');
    psqlText(target.url, `CREATE TABLE public.precious (id int); INSERT INTO public.precious VALUES (1);`);
    const before = await stateOf(target);
    const error = await runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), jobs: 2, config })
      .then(() => null, (e: unknown) => e as { code?: string });
    assert.equal(error?.code, 'JOBS_CONFIRMATION_REQUIRED');
    assert.deepEqual(await stateOf(target), before);
    const staging = await target.sql`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mbsync\\_stage\\_%'`;
    assert.equal(staging.length, 0);
  });
});
