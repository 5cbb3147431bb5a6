// The core settings every app reads: one TypeBox schema with its defaults, every problem at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoreSettings, coreConfigFrom, JobsError, loadCoreConfig, readSearchSpecs } from '@mbsync/jobs';
import { readVariables } from '@mbsync/settings';
import { Type } from 'typebox';

describe('loadCoreConfig', () => {
  test('defaults come from the schema', () => {
    const config = loadCoreConfig({});
    assert.deepEqual({ ...config }, {
      dumpDirectory: './data/dumps',
      backupDirectory: './data/backups',
      backupKeepCount: 10,
      backupKeepDays: 14,
      dumpKeepCount: 10,
      dumpKeepDays: 0,
      diskReserveBytes: 100 * 1024 * 1024,
      allowProtectedTargets: false,
      targetLockWaitMs: 0,
      syncJobs: 2,
      syncCopyFormat: 'auto',
      stallTimeoutMs: 120_000,
      typesenseRetryMs: 120_000,
      searchSpecs: null,
    });
    assert.ok(Object.isFrozen(config));
  });

  test('values converted: seconds to ms, megabytes to bytes, yes/no, SYNC_JOBS whole', () => {
    const config = loadCoreConfig({ STALL_TIMEOUT_SECONDS: '0', TARGET_LOCK_WAIT_SECONDS: '1.5', DISK_RESERVE_MB: '0', ALLOW_PROTECTED_TARGETS: 'yes', SYNC_JOBS: '3.7', DUMP_DIRECTORY: ' /tmp/d ' });
    assert.equal(config.stallTimeoutMs, 0);
    assert.equal(config.targetLockWaitMs, 1500);
    assert.equal(config.diskReserveBytes, 0);
    assert.equal(config.allowProtectedTargets, true);
    assert.equal(config.syncJobs, 3);
    assert.equal(config.dumpDirectory, '/tmp/d');
  });

  test('SYNC_COPY_FORMAT: auto, packed, smaller or binary', () => {
    assert.equal(loadCoreConfig({ SYNC_COPY_FORMAT: 'packed' }).syncCopyFormat, 'packed');
    assert.equal(loadCoreConfig({ SYNC_COPY_FORMAT: 'smaller' }).syncCopyFormat, 'smaller');
    assert.equal(loadCoreConfig({ SYNC_COPY_FORMAT: 'binary' }).syncCopyFormat, 'binary');
    assert.throws(() => loadCoreConfig({ SYNC_COPY_FORMAT: 'text' }), (error: unknown) => {
      assert.ok(error instanceof JobsError);
      assert.match((error.details?.errors as string[])[0]!, /^SYNC_COPY_FORMAT /);
      return true;
    });
  });

  test('every bad variable at once, named, with what it wants and what it got (JOBS_CONFIG_INVALID)', () => {
    assert.throws(() => loadCoreConfig({ BACKUP_KEEP_COUNT: 'many', STALL_TIMEOUT_SECONDS: '-1', ALLOW_PROTECTED_TARGETS: 'maybe' }), (error: unknown) => {
      assert.ok(error instanceof JobsError);
      assert.equal(error.code, 'JOBS_CONFIG_INVALID');
      assert.deepEqual(error.details?.errors, [
        'BACKUP_KEEP_COUNT must be a number >= 1, got "many"',
        'ALLOW_PROTECTED_TARGETS must be true or false, got "maybe"',
        'STALL_TIMEOUT_SECONDS must be a number >= 0, got "-1"',
      ]);
      assert.equal(error.message, `invalid configuration: ${(error.details?.errors as string[]).join('; ')}`);
      return true;
    });
  });

  test('an app composes its schema from CoreSettings and gets the same CoreConfig', () => {
    const App = Type.Object({ PORT: Type.Integer({ default: 3000 }), ...CoreSettings.properties });
    const { settings, problems } = readVariables(App, { BACKUP_KEEP_DAYS: '3' });
    assert.deepEqual(problems, []);
    assert.equal(settings.PORT, 3000);
    assert.deepEqual(coreConfigFrom(settings), loadCoreConfig({ BACKUP_KEEP_DAYS: '3' }));
  });

  test('TYPESENSE_SPECS_FILE: unset is the built-in specs; a missing file is named', () => {
    assert.equal(readSearchSpecs(undefined, () => []), null);
    assert.equal(readSearchSpecs('  ', () => []), null);
    assert.throws(() => readSearchSpecs('/nonexistent/specs.json', () => []), /TYPESENSE_SPECS_FILE \/nonexistent\/specs\.json cannot be read: no such file/);
  });
});
