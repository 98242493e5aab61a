import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoopLag } from '../../src/observability/loop-lag.js';

/** A sampler on a clock the test moves: each `tickAt` is a tick that ran at that time. */
function sampler(capacity?: number) {
  let t = 0;
  const lag = new LoopLag({ everyMs: 100, now: () => t, ...(capacity !== undefined ? { capacity } : {}) });
  lag.start();
  lag.stop(); // ticks are driven by hand
  return {
    lag,
    tickAt(ms: number) {
      t = ms;
      lag.tick();
    },
  };
}

describe('LoopLag', () => {
  it('a tick on time is no delay; a late one is late by what exceeds the interval', () => {
    const { lag, tickAt } = sampler();
    tickAt(100);
    tickAt(200);
    tickAt(600); // held up 300 ms
    tickAt(700);
    assert.deepEqual(lag.take(), { p50: 0, p99: 300, max: 300 });
  });

  it('quantiles over many ticks, and each read starts a new window', () => {
    const { lag, tickAt } = sampler();
    let at = 0;
    for (let i = 1; i <= 100; i++) tickAt((at += 100 + i)); // delays 1..100 ms
    assert.deepEqual(lag.take(), { p50: 50, p99: 99, max: 100 });
    assert.deepEqual(lag.take(), { p50: 0, p99: 0, max: 0 }, 'no tick since the last read');
    tickAt(at + 105);
    assert.deepEqual(lag.take(), { p50: 5, p99: 5, max: 5 });
  });

  it('a full ring keeps the newest samples and never loses the window\'s max', () => {
    const { lag, tickAt } = sampler(4);
    tickAt(1100); // 1000 ms late, then overwritten in the ring
    let at = 1100;
    for (let i = 0; i < 8; i++) tickAt((at += 110));
    assert.deepEqual(lag.take(), { p50: 10, p99: 10, max: 1000 });
  });

  it('its timer does not keep the process alive and stops', async () => {
    const lag = new LoopLag({ everyMs: 10 });
    lag.start();
    await new Promise((r) => setTimeout(r, 60));
    lag.stop();
    const f = lag.take();
    assert.ok(f.max >= 0 && f.max < 1000, `max ${f.max}`);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(lag.take(), { p50: 0, p99: 0, max: 0 }, 'no tick after stop');
  });
});
