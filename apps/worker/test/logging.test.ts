// The worker's logger: the phase of the running job on every line logged inside it (and only there), the job's
// target from its payload, credentials redacted. The end-to-end check with real jobs is test/operations/metrics.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { jobLogTarget, runWithJobLogState } from '../src/job-log-context.js';
import { createWorkerLogger } from '../src/logger.js';

function capture(): { lines: Record<string, unknown>[]; stream: { write(line: string): void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

test('lines inside a job carry its current phase, also from timers it set; lines outside carry none', async () => {
  const { lines, stream } = capture();
  const log = createWorkerLogger({ level: 'info', workerName: 'host:1', stream });
  const first = { phase: 'start' };
  const second = { phase: 'start' };
  await Promise.all([
    runWithJobLogState(first, async () => {
      const child = log.child({ jobId: '1', target: 'local' });
      child.info('job started');
      first.phase = 'export';
      await new Promise((r) => setTimeout(r, 20));
      child.info('later');
    }),
    runWithJobLogState(second, async () => {
      second.phase = 'reindex';
      await new Promise((r) => setTimeout(r, 5));
      log.child({ jobId: '2', target: 'other' }).info('meanwhile');
    }),
  ]);
  log.info('worker ready');
  assert.deepEqual(lines.map((l) => [l.msg, l.jobId, l.target, l.phase]), [
    ['job started', '1', 'local', 'start'],
    ['meanwhile', '2', 'other', 'reindex'],
    ['later', '1', 'local', 'export'],
    ['worker ready', undefined, undefined, undefined],
  ]);
  // one phase key per line, not one per change
  assert.equal(JSON.stringify(lines[2]).match(/"phase"/g)?.length, 1);
});

test('URLs, passwords and keys are redacted, in fields and in error messages', () => {
  const { lines, stream } = capture();
  const password = `pw-${randomBytes(4).toString('hex')}`;
  const url = `postgres://someone:${password}@db.example/prod`;
  createWorkerLogger({ level: 'info', workerName: 'host:1', stream }).warn({ databaseUrl: url, source: { url }, err: new Error(`cannot reach ${url}`) }, 'failed');
  const text = JSON.stringify(lines);
  assert.doesNotMatch(text, new RegExp(password));
  assert.equal(lines[0]!.databaseUrl, '[redacted]');
  assert.match(String((lines[0]!.err as { message: string }).message), /postgres:\/\/\*\*\*@db\.example/);
});

test('the target of each job type', () => {
  assert.equal(jobLogTarget('sync', { source: 'staging', target: 'local' }), 'local');
  assert.equal(jobLogTarget('import', { target: 'local', file: 'x.sql' }), 'local');
  assert.equal(jobLogTarget('backup', { target: 'dev' }), 'dev');
  assert.equal(jobLogTarget('reindex', { environment: 'local' }), 'local');
  assert.equal(jobLogTarget('restore', { backupId: 'my_env-20261126T093000123Z.sql.gz' }), 'my_env');
  assert.equal(jobLogTarget('restore', { backupId: 'local-20261126T093000123Z.sql.gz', target: 'dev' }), 'dev');
  assert.equal(jobLogTarget('export', { source: 'staging' }), 'dump-directory');
  assert.equal(jobLogTarget('sync', null), 'unknown');
});
