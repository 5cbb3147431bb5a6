import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSync } from '@mbsync/execution';
import { type CoreConfig, describeEnvironment, loadCoreConfig } from '@mbsync/jobs';
import { createDatabase, psqlText, snapshotDatabase, type TestDatabase } from '@mbsync/testkit';

// The incremental re-sync's checksums hash most columns by value (hash_record_extended) and the rest by their text. A change
// between values that compare equal (1.0 and 1.00, 0 and -0, '1 day' and '24 hours', 'x' and 'x ' in bpchar, 'A' and
// 'a' under a case-insensitive collation) is still a change of the copy: each must be found and copied.

const SCHEMA = `
CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TYPE public.mood AS ENUM ('low', 'high', 'Low');
CREATE DOMAIN public.amount AS numeric CHECK (VALUE >= 0);
CREATE TABLE public.vals (
  id int PRIMARY KEY, n numeric, f double precision, r real, j jsonb, b bpchar, c char(4), ci text COLLATE public.ci,
  e public.mood, iv interval, ts timestamptz, arr numeric[], d public.amount, js json, t text, u uuid
);
INSERT INTO public.vals SELECT g, 1.0, 0, 1.5, '{"a": 1.0}', 'x', 'ab', 'A', 'low', '1 day', '2024-01-01 00:00+00', '{1.0}', 2.0, '{"a":1}', 'plain', '00000000-0000-0000-0000-000000000001'
  FROM generate_series(1, 2000) g;
`;

const CHANGES: [string, string][] = [
  ['numeric scale', `n = 1.00`],
  ['float sign of zero', `f = '-0'`],
  ['real digits', `r = 1.5000001`],
  ['jsonb number scale', `j = '{"a": 1.00}'`],
  ['unbounded bpchar trailing space', `b = 'x '`],
  ['case under a nondeterministic collation', `ci = 'a'`],
  ['enum label of another case', `e = 'Low'`],
  ['interval units', `iv = '24 hours'`],
  ['numeric scale in an array', `arr = '{1.00}'`],
  ['numeric scale through a domain', `d = 2.00`],
  ['json whitespace', `js = '{"a": 1}'`],
  ['timestamp by a microsecond', `ts = '2024-01-01 00:00:00.000001+00'`],
  ['text to NULL', `t = NULL`],
];

describe('incremental sync: changes between values that compare equal are found', { timeout: 600_000 }, () => {
  let dir: string;
  let config: CoreConfig;
  let source: TestDatabase;
  let target: TestDatabase;
  const sync = () => runSync({ source: describeEnvironment('src', source.url), target: describeEnvironment('dst', target.url), config, noBackup: true, acceptDataLoss: true });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbsync-incremental-fidelity-'));
    config = loadCoreConfig({ DUMP_DIRECTORY: join(dir, 'dumps'), BACKUP_DIRECTORY: join(dir, 'backups') });
    source = await createDatabase('incf_src');
    target = await createDatabase('incf_dst');
    psqlText(source.url, SCHEMA);
    assert.equal((await sync()).incremental.mode, 'full');
  });

  after(async () => {
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [i, [what, assignment]] of CHANGES.entries()) {
    test(what, async () => {
      psqlText(source.url, `UPDATE public.vals SET ${assignment} WHERE id = ${101 + i}`);
      // by checksums (what a target edited since the last copy gets): the change horizon would find the row by its xmin
      await target.sql`UPDATE mbsync_meta.copies SET horizon = NULL`;
      const inc = (await sync()).incremental;
      assert.deepEqual(inc.tables.tracked, []);
      assert.equal(inc.mode, 'incremental', inc.reason);
      assert.deepEqual(inc.tables.patched.map(({ table, rowsDeleted, rowsInserted }) => ({ table, rowsDeleted, rowsInserted })), [{ table: 'public.vals', rowsDeleted: 1, rowsInserted: 1 }]);
      assert.deepEqual(await snapshotDatabase(target.sql), await snapshotDatabase(source.sql));
    });
  }

  test('nothing changed since: nothing moves', async () => {
    const inc = (await sync()).incremental;
    assert.equal(inc.mode, 'incremental', inc.reason);
    assert.deepEqual(inc.tables.patched, []);
    assert.deepEqual(inc.tables.copied, []);
  });
});
