import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
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

  it('its own timer samples until stopped', async () => {
    let reads = 0;
    const lag = new LoopLag({ everyMs: 10, now: () => (reads++, performance.now()) });
    lag.start();
    await new Promise((r) => setTimeout(r, 80));
    lag.stop();
    assert.ok(reads >= 3, `${reads} clock reads: the start and the ticks`);
    const f = lag.take();
    assert.ok(f.max >= 0 && f.max < 1000, `max ${f.max}`);
    const after = reads;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(reads, after, 'no tick after stop');
    assert.deepEqual(lag.take(), { p50: 0, p99: 0, max: 0 });
  });

  it('a started sampler does not keep a process alive', async () => {
    const script = "const { LoopLag } = await import('./src/observability/loop-lag.ts'); new LoopLag({ everyMs: 10 }).start();";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: 'ignore' });
    const exited = await Promise.race([once(child, 'exit').then(([code]) => code), new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    if (exited === 'still running') child.kill('SIGKILL');
    assert.equal(exited, 0);
  });
});
