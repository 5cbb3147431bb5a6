// The CLI under faults: it honours STALL_TIMEOUT_SECONDS (a black-holed source fails the command and the process
// exits, instead of hanging), and a connection cut mid-export leaves no file behind.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { snapshotDatabase, type TestDatabase } from '@mbsync/testkit';
import { assertNoPartialFiles, assertNoSessions, assertUnchanged, createSource, createTarget, scratch } from './support/fixtures.js';
import { runCli } from './support/cli.js';
import { startTcpProxy, upstreamOf, type TcpProxy } from './support/tcp-proxy.js';

const MB = 1 << 20;

describe('faults: the CLI', { timeout: 120_000 }, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dirs: Awaited<ReturnType<typeof scratch>>;
  const proxies: TcpProxy[] = [];

  before(async () => {
    [source, target, dirs] = await Promise.all([createSource('faults_cli_src', 40_000), createTarget('faults_cli_tgt'), scratch('cli')]);
  });
  after(async () => {
    for (const p of proxies) await p.close();
    await Promise.all([source?.drop(), target?.drop()]);
    await dirs?.remove();
  });

  async function proxy(db: TestDatabase): Promise<TcpProxy> {
    const p = await startTcpProxy(upstreamOf(db.url));
    proxies.push(p);
    return p;
  }

  const env = (sourceUrl: string, extra: Record<string, string> = {}) => ({
    FSRC_DATABASE_URL: sourceUrl,
    FTGT_DATABASE_URL: target.url,
    DUMP_DIRECTORY: dirs.dumps,
    BACKUP_DIRECTORY: dirs.backups,
    ...extra,
  });

  test('sync from a source black-holed mid-COPY: exits 1 with JOBS_STALLED after about STALL_TIMEOUT_SECONDS (2), target unchanged', async (t) => {
    const before = await snapshotDatabase(target.sql);
    const p = await proxy(source);
    let firedAt = 0;
    void p.after(1.5 * MB, 'down', { kind: 'blackhole' }, 'all').then(() => (firedAt = Date.now()));
    const run = await runCli(['sync', '--from', 'fsrc', '--to', 'ftgt', '--yes'], { cwd: dirs.root, env: env(p.url(source.url), { STALL_TIMEOUT_SECONDS: '2' }) });
    assert.ok(firedAt > 0, 'the black hole was hit');
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^mbsync sync: \[JOBS_STALLED\] no progress for \d+ s \(\w+\): cannot reach source "fsrc"/m);
    assert.doesNotMatch(run.stderr, /postgres:\/\//);
    const after = Date.now() - firedAt;
    t.diagnostic(`exited ${after} ms after the black hole: ${run.stderr.trim()}`);
    assert.ok(after < 12_000, `the process exited ${after} ms after the black hole`);
    await assertUnchanged(target, before);
    await assertNoPartialFiles(dirs.dumps, dirs.backups);
    await assertNoSessions([target.name]);
    await p.close();
    await assertNoSessions([source.name]);
  });

  test('export with the source cut mid-COPY: exits 1 with DUMP_CONNECTION_FAILED, no file, no partial file', async () => {
    const p = await proxy(source);
    void p.after(1.5 * MB, 'down', { kind: 'cut' });
    const out = join(dirs.dumps, 'cut.sql.gz');
    const run = await runCli(['export', '--from', 'fsrc', '--out', out], { cwd: dirs.root, env: env(p.url(source.url)) });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^mbsync export: \[DUMP_CONNECTION_FAILED\] cannot reach source "fsrc"/m);
    assert.deepEqual((await readdir(dirs.dumps)).filter((f) => f.startsWith('cut.')), []);
    await assertNoSessions([source.name]);
  });

  test('a bad STALL_TIMEOUT_SECONDS is refused with one line', async () => {
    const run = await runCli(['backups'], { cwd: dirs.root, env: env(source.url, { STALL_TIMEOUT_SECONDS: 'soon' }) });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^mbsync backups: \[JOBS_CONFIG_INVALID\] invalid configuration: STALL_TIMEOUT_SECONDS must be a number >= 0, got "soon"$/m);
  });
});
