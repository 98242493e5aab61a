// handshakes: connections opened per second against a gateway whose $connect has a handler and
// a REQUEST authorizer (both inline), against a bare `ws` server that runs the same two
// functions inline before its upgrade (baselines/bare-handshake.mjs). Every connection is
// closed as soon as it is open, so each one costs the server an open and a close.
// Closed loop (throughput), then a fixed rate below saturation: handshake time p50/p99 and
// server CPU per handshake.
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = '$connect handler + REQUEST authorizer (inline) vs a bare ws server running the same two functions inline';
const WORKERS = 2;
/** Handshakes in flight per worker in the closed loop. */
const CONCURRENCY = 32;
/** The fixed rate (handshakes/s, all workers) for handshake time and CPU: below both servers' saturation here. */
const RATE = 1000;
/**
 * Source addresses of the handshakes (all of 127/8 is loopback). A run opens about 250,000
 * connections, each left in TIME_WAIT by the client for a minute; over the 16 addresses the
 * other scenarios use, finding a free local port for each bind became slow enough that whole
 * rounds fell to 200 handshakes/s. 512 addresses keep each one's ports mostly free.
 */
const SOURCES = Array.from({ length: 512 }, (_, i) => `127.${10 + (i >> 8)}.${i & 255}.1`);

function start(kind) {
  if (kind === 'baseline') return startBaseline('bare-handshake.mjs');
  return startSwitchboard({
    $connect: { handler: handler('connectBench'), authorizer: { handler: handler('authorizeBench'), identitySource: ['route.request.querystring.token'] } },
    echo: { handler: handler('echo'), routeResponse: true },
  });
}

async function measure(kind, { seconds }) {
  const server = await start(kind);
  const lg = new LoadGenerator(WORKERS);
  try {
    const url = `${server.url}?token=bench-token`;
    const job = (extra) => (i) => ({ url, addresses: SOURCES.slice(i * (SOURCES.length / WORKERS), (i + 1) * (SOURCES.length / WORKERS)), concurrency: CONCURRENCY, ...extra });
    await lg.all('handshakes', job({ seconds: 1 })); // warm-up
    const closed = await lg.all('handshakes', job({ seconds }));
    const count = closed.reduce((a, r) => a + r.count, 0);
    const errors = closed.reduce((a, r) => a + r.errors, 0);
    const out = { throughput: count / seconds, errors, errorSamples: [...new Set(closed.flatMap((r) => r.errorSamples))], latency: latency(closed) };
    await sleep(500); // closes of the closed loop settle before the CPU window
    const c0 = cpuMicros(server.pid);
    const paced = await lg.all('handshakes', job({ seconds, rate: RATE / WORKERS, concurrency: 16 }));
    const c1 = cpuMicros(server.pid);
    const n = paced.reduce((a, r) => a + r.count, 0);
    out.errors += paced.reduce((a, r) => a + r.errors, 0);
    out.cpuPerHandshakeUs = (c1 - c0) / n;
    out.pacedRate = n / seconds;
    out.pacedLatency = latency(paced);
    return out;
  } finally {
    await lg.close();
    await server.stop();
    await sleep(300);
  }
}

export async function run({ quick, log }) {
  const seconds = quick ? 3 : 5;
  const rounds = quick ? 1 : 3;
  const runs = await alternate(rounds, ['baseline', 'switchboard'], async (kind) => {
    const m = await measure(kind, { seconds });
    log(`handshakes ${kind}: ${Math.round(m.throughput)}/s closed loop (p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms); at ${Math.round(m.pacedRate)}/s: p50 ${m.pacedLatency.p50} ms, p99 ${m.pacedLatency.p99} ms, ${round(m.cpuPerHandshakeUs)} µs CPU/handshake${m.errors ? `; ${m.errors} failed (${m.errorSamples.join('; ')})` : ''}`);
    if (m.errors > 0) throw new Error(`${kind}: ${m.errors} handshakes failed: ${m.errorSamples.join('; ')}`);
    return m;
  });
  const med = (kind, f) => medianOf(runs, kind, f);
  return {
    figures: runs,
    ratios: [
      ratio('handshakes per second (authorizer + $connect, closed loop)', med('switchboard', (m) => m.throughput), med('baseline', (m) => m.throughput), 0.7, 'higher', 'conn/s'),
      ratio(`handshake time p50 at ${RATE}/s`, med('switchboard', (m) => m.pacedLatency.p50), med('baseline', (m) => m.pacedLatency.p50), null, 'lower', 'ms'),
      ratio(`handshake time p99 at ${RATE}/s`, med('switchboard', (m) => m.pacedLatency.p99), med('baseline', (m) => m.pacedLatency.p99), null, 'lower', 'ms'),
      ratio(`server CPU per handshake (open + close) at ${RATE}/s`, med('switchboard', (m) => m.cpuPerHandshakeUs), med('baseline', (m) => m.cpuPerHandshakeUs), null, 'lower', 'µs'),
    ],
  };
}
