import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AWS_DELETE_CLOSE, closeParams } from '../../src/management/close-params.js';
import { ApiError } from '../../src/management/errors.js';

const q = (s: string) => closeParams(new URLSearchParams(s));

function refusedWith(s: string, message: string | RegExp): void {
  assert.throws(() => q(s), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 400);
    assert.equal(e.errorType, 'BadRequestException');
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  }, s);
}

describe('closeParams', () => {
  it('neither code nor reason: AWS\'s 1000 "Connection Closed Normally"', () => {
    assert.deepEqual(q(''), { code: 1000, reason: 'Connection Closed Normally' });
    assert.deepEqual(q('other=1'), AWS_DELETE_CLOSE);
    assert.deepEqual(AWS_DELETE_CLOSE, { code: 1000, reason: 'Connection Closed Normally' });
  });

  it('code 1000 and 4000-4999; a code without reason gets AWS\'s text for 1000 and none otherwise', () => {
    assert.deepEqual(q('code=1000'), { code: 1000, reason: 'Connection Closed Normally' });
    assert.deepEqual(q('code=4000'), { code: 4000, reason: '' });
    assert.deepEqual(q('code=4999'), { code: 4999, reason: '' });
    assert.deepEqual(q('code=4001&reason=bye'), { code: 4001, reason: 'bye' });
    assert.deepEqual(q('reason=bye'), { code: 1000, reason: 'bye' });
    assert.deepEqual(q('code=1000&reason='), { code: 1000, reason: '' });
  });

  it('refuses other codes, naming them', () => {
    for (const c of ['1001', '1005', '1006', '1015', '2999', '3000', '3999', '5000', '9999']) refusedWith(`code=${c}`, `Invalid close code ${c}: expected 1000 or 4000-4999`);
    for (const c of ['abc', '400', '40000', '', ' 4001', '4001.0', '+4001', '-4001']) refusedWith(`code=${encodeURIComponent(c)}`, `Invalid close code "${c}": expected 1000 or 4000-4999`);
  });

  it('reason: at most 123 bytes of UTF-8, counted in bytes', () => {
    assert.equal(q(`reason=${'x'.repeat(123)}`).reason.length, 123);
    assert.equal(q(`reason=${encodeURIComponent('é'.repeat(61))}`).reason, 'é'.repeat(61)); // 122 bytes
    refusedWith(`reason=${'x'.repeat(124)}`, 'Close reason is 124 bytes of UTF-8; the maximum is 123');
    refusedWith(`reason=${encodeURIComponent('é'.repeat(62))}`, 'Close reason is 124 bytes of UTF-8; the maximum is 123');
    refusedWith(`reason=${encodeURIComponent('€'.repeat(42))}`, 'Close reason is 126 bytes of UTF-8; the maximum is 123');
  });

  it('code or reason given twice is refused', () => {
    refusedWith('code=4001&code=4002', '"code" is given more than once');
    refusedWith('reason=a&reason=b', '"reason" is given more than once');
    refusedWith('code=4001&reason=a&reason=a', '"reason" is given more than once');
  });
});
