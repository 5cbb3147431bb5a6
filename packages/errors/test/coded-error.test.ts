import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { codedError, errorCode } from '@mbsync/errors';

type DemoCode = 'DEMO_BROKEN' | 'DEMO_GONE';
class DemoError extends codedError<DemoCode>('DemoError') {}
class OtherError extends codedError<'OTHER_X'>('OtherError') {}

describe('codedError: one base for every package\'s errors', () => {
  test('name, code, message, details and cause; instanceof tells the packages apart', () => {
    const cause = new Error('root');
    const e = new DemoError('DEMO_BROKEN', 'it broke', { cause, details: { table: 'public.items' } });
    assert.ok(e instanceof DemoError);
    assert.ok(e instanceof Error);
    assert.equal(e instanceof OtherError, false);
    assert.equal(e.name, 'DemoError');
    assert.equal(e.code, 'DEMO_BROKEN');
    assert.equal(e.message, 'it broke');
    assert.deepEqual(e.details, { table: 'public.items' });
    assert.equal(e.cause, cause);
    assert.match(String(e.stack), /DemoError: it broke/);
  });

  test('without options: no details, no cause property', () => {
    const e = new DemoError('DEMO_GONE', 'gone');
    assert.equal(e.details, undefined);
    assert.equal('cause' in e, false);
  });

  test('errorCode reads any error\'s code', () => {
    assert.equal(errorCode(new DemoError('DEMO_GONE', 'x')), 'DEMO_GONE');
    assert.equal(errorCode(Object.assign(new Error('pg'), { code: '57P01' })), '57P01');
    assert.equal(errorCode(new Error('plain')), undefined);
    assert.equal(errorCode(null), undefined);
    assert.equal(errorCode({ code: 7 }), undefined);
  });
});
