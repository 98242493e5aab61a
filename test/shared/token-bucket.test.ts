import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenBucket } from '../../src/shared/token-bucket.js';

describe('TokenBucket', () => {
  it('never grants more than burst + rate × elapsed, for any sequence of takes', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1000, noNaN: true }), fc.integer({ min: 0, max: 50 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }), (rate, burst, gaps) => {
        const b = new TokenBucket(rate, burst);
        let now = Date.now();
        const start = now;
        let granted = 0;
        for (const gap of gaps) {
          now += gap;
          if (b.take(now)) granted++;
        }
        assert.ok(granted <= burst + (rate * (now - start)) / 1000 + 1e-9);
      }),
    );
  });

  it('starts full, refuses at burst 0, and refills at the rate', () => {
    const now = Date.now();
    const b = new TokenBucket(2, 3);
    assert.deepEqual([1, 2, 3, 4].map(() => b.take(now)), [true, true, true, false]);
    assert.equal(b.take(now + 499), false);
    assert.equal(b.take(now + 500), true);
    assert.equal(new TokenBucket(1000, 0).take(now + 10_000), false);
  });

  it('a clock that goes back does not mint tokens', () => {
    const now = Date.now();
    const b = new TokenBucket(1, 1);
    assert.equal(b.take(now), true);
    assert.equal(b.take(now - 5000), false);
    assert.equal(b.take(now), false);
  });
});
