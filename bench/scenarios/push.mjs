// push: SigV4-signed POST @connections with keep-alive (undici Pool), 1,000 connected clients,
// random targets — against a bare ws + node:http push server with no authentication.
// Signatures are computed before the measured window (one per target, valid for 5 minutes),
// so the load generator's core measures the server, not the signer; the gateway still verifies
// every request in full.
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { otherThreadsLine, pairedRatio, sideBySide } from '../lib/side-by-side.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'SigV4 PostToConnection, 1,000 clients, random targets vs unauthenticated bare ws+http push';
const CLIENTS = 1000;
const PAYLOAD = 'x'.repeat(64);

/** `metrics`: Switchboard with its admin listener on (Prometheus metrics; the side-by-side measurement scrapes it every second). */
function start(kind) {
  return kind === 'baseline' ? startBaseline('bare-push.mjs') : startSwitchboard({ whoami: { handler: handler('whoami'), routeResponse: true } }, { metrics: kind === 'metrics' });
}

/** Side by side, each server gets half the single-server rate: the server core carries the same. */
const SIDE_RATE = 1500;

/** A push job for one worker (`ids`: the connection ids of its server's clients). */
const pushJob = (server, ids, extra) => () => ({ origin: server.origin, pathPrefix: '/bench/@connections/', ids, payload: PAYLOAD, signed: true, concurrency: 16, ...extra });

async function measure(kind, { seconds, concurrency, rate }) {
  const server = await start(kind);
  const lg = new LoadGenerator(2);
  try {
    const ids = await lg.connect(server.url, CLIENTS, true);
    const pathPrefix = kind === 'baseline' ? '/push/' : '/bench/@connections/';
    const job = (extra) => (i) => ({ origin: server.origin, pathPrefix, ids, payload: PAYLOAD, signed: kind !== 'baseline', concurrency: concurrency / 2, ...extra, ...(extra.rate ? { rate: extra.rate / 2 } : {}) });
    await lg.all('push', job({ seconds: 1 })); // warm-up
    await lg.all('reset');
    const closed = await lg.all('push', job({ seconds }));
    await sleep(300);
    const delivered = await lg.received();
    const requests = closed.reduce((a, r) => a + r.count, 0);
    const ok = closed.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    const out = { throughput: ok / seconds, requests, delivered, latency: latency(closed) };
    const c0 = cpuMicros(server.pid);
    const paced = await lg.all('push', job({ seconds, rate }));
    const c1 = cpuMicros(server.pid);
    const n = paced.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    out.cpuPerRequestUs = (c1 - c0) / n;
    out.pacedRate = n / seconds;
    return out;
  } finally {
    await lg.close();
    await server.stop();
    await sleep(300);
  }
}

export async function run({ quick, log }) {
  const seconds = quick ? 3 : 6;
  const rounds = quick ? 1 : 2;
  const runs = await alternate(rounds, ['baseline', 'switchboard'], async (kind) => {
    const m = await measure(kind, { seconds, concurrency: 32, rate: 3000 });
    log(`push ${kind}: ${Math.round(m.throughput)} req/s (${m.delivered}/${m.requests} delivered), p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms, ${round(m.cpuPerRequestUs)} µs CPU/request at ${Math.round(m.pacedRate)} req/s`);
    if (m.delivered < m.requests) throw new Error(`${kind}: ${m.requests - m.delivered} pushes answered but not delivered`);
    return m;
  });
  // Metrics on / off: both servers at once, side by side (the same total rate on the server core), each window a ratio.
  const onOff = await sideBySide({
    kinds: ['switchboard', 'metrics'],
    quick,
    start,
    prepare: async (server, lg) => ({ server, ids: await lg.connect(server.url, CLIENTS, true) }),
    async window(ctx, lg, secs) {
      const res = await lg.all('push', pushJob(ctx.server, ctx.ids, { seconds: secs, rate: SIDE_RATE }));
      return res.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    },
    log,
  });
  const med = (kind, f) => medianOf(runs, kind, f);
  return {
    figures: { ...runs, metricsSideBySide: onOff },
    ratios: [
      ratio('push throughput (SigV4 vs no auth)', med('switchboard', (m) => m.throughput), med('baseline', (m) => m.throughput), 0.8, 'higher', 'req/s'),
      ratio('push server CPU per request (3,000 req/s)', med('switchboard', (m) => m.cpuPerRequestUs), med('baseline', (m) => m.cpuPerRequestUs), 1.3, 'lower', 'µs'),
      pairedRatio(`push server CPU per request, metrics on / off (side by side, ${SIDE_RATE} req/s each)`, onOff, 'metrics', 'switchboard', 1.03),
      otherThreadsLine('metrics on / off: the extra CPU off the main thread (admin thread, V8 helpers), as a share of metrics-off CPU', onOff, 'metrics', 'switchboard'),
    ],
  };
}
