import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeThrottle } from '../../src/routing/route-table.js';

/** How many of `n` takes at one instant a bucket grants (its burst). */
const burstOf = (b: ReturnType<typeof routeThrottle>, n = 6000) => {
  if (b === null) return null;
  const now = Date.now();
  let k = 0;
  for (let i = 0; i < n; i++) if (b.take(now)) k++;
  return k;
};

describe('routeThrottle', () => {
  it('no settings: no bucket; $disconnect is never throttled', () => {
    assert.equal(routeThrottle('echo', { routeSettings: {}, defaultRouteSettings: undefined }), null);
    assert.equal(routeThrottle('$disconnect', { routeSettings: {}, defaultRouteSettings: { throttlingBurstLimit: 0 } }), null);
  });

  it('a route’s own entry wins over the default, as a whole; a missing number takes AWS’s account default', () => {
    const config = { defaultRouteSettings: { throttlingRateLimit: 1, throttlingBurstLimit: 5 }, routeSettings: { own: { throttlingRateLimit: 1 } } };
    assert.equal(burstOf(routeThrottle('other', config)), 5);
    assert.equal(burstOf(routeThrottle('own', config)), 5000);
    assert.equal(burstOf(routeThrottle('$connect', config)), 5);
    assert.equal(burstOf(routeThrottle('x', { routeSettings: {}, defaultRouteSettings: { throttlingBurstLimit: 0 } })), 0);
  });
});
