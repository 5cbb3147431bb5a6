import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyError } from '@mbsync/execution';
import { formatFailedReason, JobCatalogueError, JobsError, jobStatus, parseFailedReason, parsePayload } from '@mbsync/jobs';
import { WorkerConfigError, loadWorkerConfig } from '../src/config.js';

describe('job catalogue', () => {
  // DumpError cases (DUMP_CONNECTION_FAILED retry, DUMP_TARGET_BUSY wait, DUMP_CANCELLED) run end to end in the other files
  test('classifyError: transient and permanent failures', () => {
    const cases: [unknown, string, string][] = [
      [new JobsError('JOBS_PROTECTED_TARGET', 'x'), 'JOBS_PROTECTED_TARGET', 'fail'],
      [new JobCatalogueError('JOBS_PAYLOAD_INVALID', 'x'), 'JOBS_PAYLOAD_INVALID', 'fail'],
      [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'JOBS_CONNECTION_FAILED', 'retry'],
      [Object.assign(new Error('admin shutdown'), { code: '57P01' }), 'PG_57P01', 'retry'],
      [Object.assign(new Error('typesense down'), { code: 'SEARCH_INDEX_REQUEST_FAILED', status: 503 }), 'SEARCH_INDEX_REQUEST_FAILED', 'retry'],
      [Object.assign(new Error('bad schema'), { code: 'SEARCH_INDEX_REQUEST_FAILED', status: 400 }), 'SEARCH_INDEX_REQUEST_FAILED', 'fail'],
      [new TypeError('undefined is not a function'), 'JOBS_INTERNAL', 'fail'],
    ];
    for (const [error, code, action] of cases) {
      const c = classifyError(error);
      assert.deepEqual([c.code, c.action, c.retryable], [code, action, action !== 'fail'], String(error));
    }
  });

  test('classifyError never passes a password on', () => {
    const c = classifyError(new Error(`cannot connect to postgres://user:${'secret'}@db.example.com/x`));
    assert.doesNotMatch(c.message, /secret/);
  });

  test('failedReason round trip and the cancelled status', () => {
    assert.deepEqual(parseFailedReason(formatFailedReason('CANCELLED', 'by request')), { code: 'CANCELLED', message: 'by request' });
    assert.equal(jobStatus('failed', 'CANCELLED: by request'), 'cancelled');
    assert.equal(jobStatus('failed', 'DUMP_CORRUPT: bad'), 'failed');
    assert.equal(parseFailedReason('job stalled more than allowable limit').code, 'JOBS_INTERNAL');
  });

  test('parsePayload reports every problem at once', () => {
    assert.deepEqual(parsePayload('sync', { source: 'staging', target: 'local', noBackup: true }), { source: 'staging', target: 'local', noBackup: true });
    assert.throws(
      () => parsePayload('import', { target: 'postgres://x', file: 'a/b.sql', extra: 1 }),
      (error: JobCatalogueError) => error.code === 'JOBS_PAYLOAD_INVALID' && (error.details?.problems as string[]).length >= 3,
    );
  });
});

describe('worker config', () => {
  test('defaults', () => {
    const c = loadWorkerConfig({ LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1/x' });
    assert.equal(c.concurrency, 2);
    assert.equal(c.queuePrefix, 'mbsync');
    assert.deepEqual(c.history, { age: 604800, count: 1000 });
    assert.ok(c.environments.has('local'));
    assert.ok(Object.isFrozen(c));
  });

  test('every problem reported at once, the Redis URL never echoed', () => {
    assert.throws(
      () => loadWorkerConfig({ REDIS_URL: `http://user:${'pw'}@host`, WORKER_CONCURRENCY: 'many', WORKER_SHUTDOWN_GRACE_MS: '-1', JOB_HISTORY_MAX_COUNT: '0', BACKUP_KEEP_COUNT: 'x' }),
      (error: WorkerConfigError) => {
        const text = error.errors.join('\n');
        assert.match(text, /REDIS_URL/);
        assert.match(text, /WORKER_CONCURRENCY/);
        assert.match(text, /WORKER_SHUTDOWN_GRACE_MS/);
        assert.match(text, /JOB_HISTORY_MAX_COUNT/);
        assert.match(text, /BACKUP_KEEP_COUNT/);
        assert.doesNotMatch(error.message, /pw@/);
        return true;
      },
    );
  });
});
