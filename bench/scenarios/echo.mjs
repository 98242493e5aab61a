// echo: a custom route with a route response from an inline handler, against a bare ws echo
// server. Throughput closed-loop at 100 and 1,000 connections, and server CPU per message at a
// fixed offered rate below saturation (the client core saturates first on this machine).
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { otherThreadsLine, pairedRatio, sideBySide } from '../lib/side-by-side.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'custom route + route response (inline handler) vs bare ws echo';
/** Side by side, each server gets half the single-server rate: the server core carries the same. */
const SIDE_RATE = 4000;
const PAYLOAD = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) }); // 70 bytes, as in research/peers.md §6.3

/** `metrics`: Switchboard with its admin listener on (Prometheus metrics; the side-by-side measurement scrapes it every second). */
function start(kind) {
  return kind === 'baseline' ? startBaseline('bare-echo.mjs') : startSwitchboard({ echo: { handler: handler('echo'), routeResponse: true } }, { metrics: kind === 'metrics' });
}

/** One measurement of one server: closed-loop throughput, then CPU per message at `rate`. */
async function measure(kind, conns, { seconds, rate }) {
  const server = await start(kind);
  const lg = new LoadGenerator(2);
  try {
    await lg.connect(`${server.url}`, conns);
    await lg.all('echoClosed', () => ({ seconds: 1, payload: PAYLOAD })); // warm-up
    const closed = await lg.all('echoClosed', () => ({ seconds, payload: PAYLOAD }));
    const count = closed.reduce((a, r) => a + r.count, 0);
    // Sockets whose last message was never answered (a lost message; 0 for a correct server).
    const out = { throughput: count / seconds, latency: latency(closed), stalled: closed.reduce((a, r) => a + r.stalled, 0) };
    if (rate) {
      const c0 = cpuMicros(server.pid);
      const paced = await lg.all('echoPaced', () => ({ seconds, payload: PAYLOAD, rate: rate / 2 }));
      const c1 = cpuMicros(server.pid);
      const n = paced.reduce((a, r) => a + r.count, 0);
      out.cpuPerMessageUs = (c1 - c0) / n;
      out.pacedRate = n / seconds;
      out.pacedLatency = latency(paced);
    }
    return out;
  } finally {
    await lg.close();
    await server.stop();
    await sleep(300);
  }
}

export async function run({ quick, log }) {
  const seconds = quick ? 3 : 6;
  // Three rounds (A B, B A, A B): its two goals are the tightest, and on this shared machine the
  // same server's CPU per message varies by up to a third between rounds; a median of three
  // holds one bad round out.
  const rounds = quick ? 1 : 3;
  const figures = {};
  const ratios = [];
  for (const conns of [100, 1000]) {
    const rate = conns === 100 ? 8000 : 0; // CPU per message measured at 100 connections
    const runs = await alternate(rounds, ['baseline', 'switchboard'], async (kind) => {
      const m = await measure(kind, conns, { seconds, rate });
      log(`echo ${conns} conns ${kind}: ${Math.round(m.throughput)} msg/s, p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms${m.cpuPerMessageUs ? `, ${round(m.cpuPerMessageUs)} µs CPU/msg at ${Math.round(m.pacedRate)} msg/s` : ''}${m.stalled ? `, ${m.stalled} sockets never got an answer` : ''}`);
      return m;
    });
    const med = (kind, f) => medianOf(runs, kind, f);
    figures[`${conns}conns`] = runs;
    ratios.push(ratio(`echo throughput, ${conns} connections`, med('switchboard', (m) => m.throughput), med('baseline', (m) => m.throughput), 0.8, 'higher', 'msg/s'));
    if (rate) ratios.push(ratio(`echo server CPU per message (${rate} msg/s, ${conns} conns)`, med('switchboard', (m) => m.cpuPerMessageUs), med('baseline', (m) => m.cpuPerMessageUs), 1.05, 'lower', 'µs'));
  }
  // Metrics on / off: both servers at once, side by side, where CPU per message is measured
  // (100 connections, the same total rate on the server core), each window a ratio.
  const onOff = await sideBySide({
    kinds: ['switchboard', 'metrics'],
    quick,
    start,
    prepare: (server, lg) => lg.connect(server.url, 100),
    window: async (_ctx, lg, secs) => (await lg.all('echoPaced', () => ({ seconds: secs, payload: PAYLOAD, rate: SIDE_RATE }))).reduce((a, r) => a + r.count, 0),
    log,
  });
  figures.metricsSideBySide = onOff;
  ratios.push(pairedRatio(`echo server CPU per message, metrics on / off (side by side, ${SIDE_RATE} msg/s each, 100 conns)`, onOff, 'metrics', 'switchboard', 1.03));
  ratios.push(otherThreadsLine('metrics on / off: the extra CPU off the main thread (admin thread, V8 helpers), as a share of metrics-off CPU', onOff, 'metrics', 'switchboard'));
  const lost = [figures['100conns'], figures['1000conns']].flatMap((runs) => runs.switchboard).reduce((a, m) => a + m.stalled, 0);
  return { figures, ratios, ...(lost ? { notes: [`Switchboard left ${lost} messages unanswered`] } : {}) };
}
