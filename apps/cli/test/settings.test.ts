// main.ts reads the environment once into typed settings; commands get those, never the environment.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JobsError } from '@mbsync/jobs';
import { commandConfig, resolveDatabase, type CliContext } from '../src/cli-context.js';
import { checkConfig } from '../src/doctor-checks.js';
import { loadCliSettings } from '../src/settings.js';

/** Made-up secrets: tests check they never appear in output. */
const FAKE_PASSWORD = 's3cret';
const SHORT_KEY = 'short-secret-key';

describe('CLI settings', () => {
  test('read once: core settings, environments, PGHOST, NO_COLOR, MBSYNC_DEBUG', async () => {
    const settings = await loadCliSettings({ LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x', BACKUP_KEEP_DAYS: '3', PGHOST: '10.1.2.3', NO_COLOR: '1', MBSYNC_DEBUG: '1', API_KEY: 'k'.repeat(32) });
    assert.equal(settings.core?.backupKeepDays, 3);
    assert.equal(settings.core?.searchSpecs, null);
    assert.deepEqual([...settings.environments.keys()], ['local']);
    assert.equal(settings.pgHost, '10.1.2.3');
    assert.equal(settings.noColor, true);
    assert.equal(settings.debug, true);
    assert.deepEqual(settings.problems, { core: [], startup: [], services: [] });
    assert.deepEqual(settings.warnings, []);
    const plain = await loadCliSettings({});
    assert.equal(plain.noColor, false);
    assert.equal(plain.debug, false);
    assert.equal(plain.redisUrl, 'redis://127.0.0.1:6379');
  });

  test('commands get the settings, not the environment', async () => {
    const settings = await loadCliSettings({ PGHOST: '10.1.2.3', DUMP_DIRECTORY: '/tmp/mbsync-dumps' });
    const context: CliContext = { settings, signal: new AbortController().signal };
    assert.equal('env' in context, false);
    // @ts-expect-error the environment is no part of a command's context
    const withEnv: CliContext = { settings, signal: new AbortController().signal, env: {} };
    assert.ok(withEnv);
    assert.equal(commandConfig(context).dumpDirectory, '/tmp/mbsync-dumps');
    // an ad-hoc URL without a host takes PGHOST from the settings
    assert.equal(resolveDatabase(context, 'postgres:///app').loopback, false);
    assert.equal(resolveDatabase({ ...context, settings: await loadCliSettings({ PGHOST: '127.0.0.1' }) }, 'postgres:///app').loopback, true);
  });

  test('every problem at once, by what it stops; secrets never shown', async () => {
    const settings = await loadCliSettings({
      BACKUP_KEEP_COUNT: 'many',
      STALL_TIMEOUT_SECONDS: 'soon',
      BROKEN_DATABASE_URL: `mysql://root:${FAKE_PASSWORD}@db.example.com/app`,
      REDIS_URL: `http://:${FAKE_PASSWORD}@redis.example.com`,
      LOG_LEVEL: 'loud',
      API_KEYS: SHORT_KEY,
    });
    assert.equal(settings.core, null);
    assert.deepEqual(settings.problems.core, ['BACKUP_KEEP_COUNT must be a number >= 1, got "many"', 'STALL_TIMEOUT_SECONDS must be a number >= 0, got "soon"']);
    assert.equal(settings.problems.startup.length, 1);
    assert.match(settings.problems.startup[0]!, /^BROKEN_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.deepEqual(settings.problems.services, [
      'REDIS_URL must start with redis:// or rediss://',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'API_KEYS key #1 is shorter than 32 characters',
    ]);
    const text = JSON.stringify(settings.problems);
    assert.ok(!text.includes(FAKE_PASSWORD) && !text.includes(SHORT_KEY) && !text.includes('example.com'), text);
    // a command cannot run with invalid core settings; doctor lists everything
    assert.throws(() => commandConfig({ settings, signal: new AbortController().signal }), (error: unknown) => error instanceof JobsError && error.code === 'JOBS_CONFIG_INVALID' && /BACKUP_KEEP_COUNT/.test(error.message));
    const config = checkConfig(settings);
    assert.equal(config.status, 'fail');
    assert.match(config.detail, /^BACKUP_KEEP_COUNT must be a number >= 1, got "many"; STALL_TIMEOUT_SECONDS .*; BROKEN_DATABASE_URL .*; REDIS_URL .*; LOG_LEVEL .*; API_KEYS key #1 is shorter than 32 characters$/);
  });

  test('a bad core setting stops a command with one line naming every bad variable; --help needs no settings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mbsync-settings-'));
    try {
      const main = new URL('../src/main.ts', import.meta.url).pathname;
      const run = (args: string[], env: Record<string, string>) =>
        spawnSync(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), main, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
      const bad = run(['backups'], { BACKUP_KEEP_COUNT: 'many', SYNC_JOBS: '0' });
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stderr, /^mbsync backups: \[JOBS_CONFIG_INVALID\] invalid configuration: BACKUP_KEEP_COUNT must be a number >= 1, got "many"; SYNC_JOBS must be a number >= 1, got "0"$/m);
      const help = run(['backups', '--help'], { BACKUP_KEEP_COUNT: 'many' });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^Usage: pnpm mbsync backups/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
