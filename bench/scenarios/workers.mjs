// workers: the echo route with `isolation: worker` (a pool of worker threads) against the same
// route run in-process, both Switchboard. 8 connections closed-loop (one call each in flight, so
// a pool of 8 workers never refuses one), and server CPU per message at a fixed rate.
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { handler, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'echo route in worker threads (isolation: worker) vs in-process';
const PAYLOAD = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) });
const CONNS = 8;
const RATE = 2000;

function start(kind) {
  const route = { handler: handler('echo'), routeResponse: true };
  return startSwitchboard({ echo: kind === 'baseline' ? route : { ...route, isolation: 'worker', maxConcurrency: CONNS } });
}

async function measure(kind, { seconds }) {
  const server = await start(kind);
  const lg = new LoadGenerator(2);
  try {
    await lg.connect(`${server.url}`, CONNS);
    await lg.all('echoClosed', () => ({ seconds: 1, payload: PAYLOAD })); // warm-up (starts the workers)
    const closed = await lg.all('echoClosed', () => ({ seconds, payload: PAYLOAD }));
    const count = closed.reduce((a, r) => a + r.count, 0);
    const c0 = cpuMicros(server.pid);
    const paced = await lg.all('echoPaced', () => ({ seconds, payload: PAYLOAD, rate: RATE / 2 }));
    const c1 = cpuMicros(server.pid);
    const n = paced.reduce((a, r) => a + r.count, 0);
    return { throughput: count / seconds, latency: latency(closed), stalled: closed.reduce((a, r) => a + r.stalled, 0), cpuPerMessageUs: (c1 - c0) / n, pacedRate: n / seconds, pacedLatency: latency(paced) };
  } finally {
    await lg.close();
    await server.stop();
    await sleep(300);
  }
}

export async function run({ quick, log }) {
  const seconds = quick ? 3 : 6;
  const runs = await alternate(quick ? 1 : 3, ['baseline', 'switchboard'], async (kind) => {
    const m = await measure(kind, { seconds });
    log(`workers ${kind === 'baseline' ? 'inline' : 'worker'}: ${Math.round(m.throughput)} msg/s, p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms, ${round(m.cpuPerMessageUs)} µs CPU/msg at ${Math.round(m.pacedRate)} msg/s${m.stalled ? `, ${m.stalled} sockets never got an answer` : ''}`);
    return m;
  });
  const med = (kind, f) => medianOf(runs, kind, f);
  return {
    figures: { [`${CONNS}conns`]: runs },
    ratios: [
      ratio(`echo throughput, worker vs inline (${CONNS} connections)`, med('switchboard', (m) => m.throughput), med('baseline', (m) => m.throughput), null, 'higher', 'msg/s'),
      ratio(`echo server CPU per message, worker vs inline (${RATE} msg/s)`, med('switchboard', (m) => m.cpuPerMessageUs), med('baseline', (m) => m.cpuPerMessageUs), null, 'lower', 'µs'),
    ],
    notes: ['the baseline here is Switchboard itself with the handler in-process; no goal: the ratio is the price of isolation'],
  };
}
