// tail: round-trip latency percentiles (p99, p99.9) of the echo route at half the bare
// server's saturation rate, over 1,000 connections, against the bare `ws` echo server at the
// same rate. The rate is found first: the bare server's closed-loop throughput over the same
// 1,000 connections (on this machine the load generator's core bounds it), halved.
// Goal: Switchboard's p99 ≤ 1.2 × the bare server's p99 + 0.2 ms.
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { alternate, median, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'echo round-trip p99/p99.9 at 50 % of the bare server\'s saturation rate, 1,000 connections';
const CONNS = 1000;
const PAYLOAD = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) });

function start(kind) {
  return kind === 'baseline' ? startBaseline('bare-echo.mjs') : startSwitchboard({ echo: { handler: handler('echo'), routeResponse: true } });
}

/** Opens the connections, warms up, and runs `work(lg, server)`. */
async function withServer(kind, work) {
  const server = await start(kind);
  const lg = new LoadGenerator(2);
  try {
    await lg.connect(server.url, CONNS);
    await lg.all('echoClosed', () => ({ seconds: 1, payload: PAYLOAD })); // warm-up
    return await work(lg, server);
  } finally {
    await lg.close();
    await server.stop();
    await sleep(300);
  }
}

export async function run({ quick, log }) {
  const seconds = quick ? 4 : 8;
  const rounds = quick ? 1 : 3;
  // The bare server's saturation over these connections (closed loop: every socket keeps one message in flight).
  const saturation = [];
  for (let i = 0; i < (quick ? 1 : 2); i++) {
    saturation.push(
      await withServer('baseline', async (lg) => {
        const closed = await lg.all('echoClosed', () => ({ seconds: 3, payload: PAYLOAD }));
        return closed.reduce((a, r) => a + r.count, 0) / 3;
      }),
    );
  }
  const rate = Math.round(median(saturation) / 2);
  log(`tail: bare saturation ${Math.round(median(saturation))} msg/s over ${CONNS} connections; measuring at ${rate} msg/s`);
  const runs = await alternate(rounds, ['baseline', 'switchboard'], (kind) =>
    withServer(kind, async (lg, server) => {
      const c0 = cpuMicros(server.pid);
      const paced = await lg.all('echoPaced', () => ({ seconds, payload: PAYLOAD, rate: rate / 2 }));
      const c1 = cpuMicros(server.pid);
      const n = paced.reduce((a, r) => a + r.count, 0);
      const m = { rate: n / seconds, latency: latency(paced), cpuPerMessageUs: (c1 - c0) / n, sent: Math.round(rate * seconds), answered: n };
      log(`tail ${kind}: ${Math.round(m.rate)} msg/s, p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms, p99.9 ${m.latency.p999} ms, max ${m.latency.max} ms, ${round(m.cpuPerMessageUs)} µs CPU/msg`);
      return m;
    }),
  );
  const med = (kind, f) => medianOf(runs, kind, f);
  const p99 = { sb: med('switchboard', (m) => m.latency.p99), base: med('baseline', (m) => m.latency.p99) };
  const allowed = round(1.2 * p99.base + 0.2, 3);
  return {
    figures: { saturation, rate, runs },
    ratios: [
      // The goal is affine (1.2 × bare + 0.2 ms): the ratio is Switchboard's p99 over that bound.
      ratio('echo p99 over its bound (1.2 × bare p99 + 0.2 ms), half the bare saturation rate, 1,000 conns', p99.sb, allowed, 1, 'lower', 'ms'),
      ratio('echo p99, half the bare saturation rate, 1,000 conns', p99.sb, p99.base, null, 'lower', 'ms'),
      ratio('echo p99.9, half the bare saturation rate, 1,000 conns', med('switchboard', (m) => m.latency.p999), med('baseline', (m) => m.latency.p999), null, 'lower', 'ms'),
      ratio('echo p50, half the bare saturation rate, 1,000 conns', med('switchboard', (m) => m.latency.p50), med('baseline', (m) => m.latency.p50), null, 'lower', 'ms'),
      ratio('echo server CPU per message, half the bare saturation rate, 1,000 conns', med('switchboard', (m) => m.cpuPerMessageUs), med('baseline', (m) => m.cpuPerMessageUs), null, 'lower', 'µs'),
    ],
    notes: [`rate ${rate} msg/s (bare closed-loop ${Math.round(median(saturation))} msg/s over 1,000 connections, load-generator bound); p99 bound ${allowed} ms`],
  };
}
