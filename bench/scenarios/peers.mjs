// peers: Switchboard beside the gateways people use instead.
//  1. serverless-offline's WebSocket emulation running the same inline echo (goal: Switchboard ≥ 10×).
//  2. Pushpin's WebSocket-over-HTTP in front of an HTTP echo backend, against Switchboard's HTTP
//     integration to the same backend (one backend process speaks both protocols).
// Both are installed by bench/peers/setup.sh; a peer that is missing or cannot start here is
// reported with the reason instead of a number.
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { sleep, startNode, startProcess, treeCpuMicros } from '../lib/proc.mjs';
import { BENCH_DIR, handler, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'echo vs serverless-offline; HTTP-integration echo vs Pushpin WebSocket-over-HTTP';
const PEERS = path.join(BENCH_DIR, 'peers');
const PAYLOAD = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) });
const CONNS = 100;

/** Closed-loop echo throughput and server CPU per message (the server's whole process tree). */
async function echoLoad(url, pids, seconds) {
  const lg = new LoadGenerator(2);
  try {
    await lg.connect(url, CONNS);
    await lg.all('echoClosed', () => ({ seconds: 1, payload: PAYLOAD }));
    const c0 = treeCpuMicros(pids());
    const res = await lg.all('echoClosed', () => ({ seconds, payload: PAYLOAD }));
    const n = res.reduce((a, r) => a + r.count, 0);
    // `stalled`: sockets whose last message was never answered (the loop ends anyway, 5 s later).
    return { throughput: n / seconds, cpuPerMessageUs: (treeCpuMicros(pids()) - c0) / n, latency: latency(res), stalled: res.reduce((a, r) => a + r.stalled, 0) };
  } finally {
    await lg.close();
  }
}

/** A note for every server that left messages unanswered during the closed loop. */
function lostNotes(runs) {
  return Object.entries(runs).flatMap(([kind, ms]) => {
    const lost = ms.reduce((a, m) => a + m.stalled, 0);
    return lost ? [`${kind} left ${lost} messages unanswered over ${ms.length} runs (counted out of the throughput; the loop ends 5 s after its time)`] : [];
  });
}

function freePort() {
  return 20000 + Math.floor(Math.random() * 20000);
}

// --- serverless-offline -----------------------------------------------------------------

async function startServerlessOffline() {
  const bin = path.join(PEERS, 'node_modules', 'serverless', 'bin', 'serverless.js');
  if (!existsSync(bin)) throw new Skip('serverless-offline is not installed (run: bash bench/peers/setup.sh)');
  const [ws, http, lambda] = [freePort(), freePort(), freePort()];
  const env = { SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', SLS_WS_PORT: String(ws), SLS_HTTP_PORT: String(http), SLS_LAMBDA_PORT: String(lambda), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
  const s = await startNode([bin, 'offline', 'start'], { cwd: path.join(PEERS, 'sls'), env, ready: /Offline \[websocket\] listening on (ws:\/\/\S+)/, timeoutMs: 60_000 });
  return { url: s.match[1], pids: () => [s.pid], stop: s.stop };
}

// --- Pushpin ----------------------------------------------------------------------------

class Skip extends Error {}

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`]).toString().trim();
  } catch {
    return '';
  }
}

async function startBackend() {
  const s = await startNode([path.join(PEERS, 'backend.mjs'), '0'], { ready: /Backend listening on (http:\/\/\S+)/ });
  return { url: s.match[1], pid: s.pid, stop: s.stop };
}

/** Pushpin with private run/log folders and its own zurl (outbound HTTP), routing over_http to the backend. */
async function startPushpin(backendUrl) {
  if (!which('pushpin') || !which('zurl')) throw new Skip('pushpin is not installed (run: bash bench/peers/setup.sh; Debian package pushpin)');
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-pushpin-'));
  for (const d of ['run', 'log', 'zurl']) mkdirSync(path.join(dir, d));
  writeFileSync(
    path.join(dir, 'zurl.conf'),
    `[General]\nin_spec=ipc://${dir}/zurl/zurl-in\nin_stream_spec=ipc://${dir}/zurl/zurl-in-stream\nout_spec=ipc://${dir}/zurl/zurl-out\nin_req_spec=ipc://${dir}/zurl/zurl-req\ndefpolicy=allow\nallow=127.0.0.1\ndeny=\nmax_open_requests=20000\nbuffer_size=200000\ntimeout=600\nin_hwm=10000\nout_hwm=10000\n`,
  );
  let conf = readFileSync('/etc/pushpin/pushpin.conf', 'utf8')
    .replace(/^rundir=.*$/m, `rundir=${dir}/run`)
    .replace(/^logdir=.*$/m, `logdir=${dir}/log`)
    .replace(/^routesfile=.*$/m, `routesfile=${dir}/routes`)
    .replace(/^stats_connection_ttl=.*$/m, 'stats_connection_ttl=120')
    // Its handler binds fixed TCP ports (5560-5563): an offset per instance avoids a stopped one's.
    .replace(/^port_offset=.*$/m, `port_offset=${100 + Math.floor(Math.random() * 5000)}`);
  conf = conf.replace('[proxy]\n', `[proxy]\nzurl_out_specs=ipc://${dir}/zurl/zurl-in\nzurl_out_stream_specs=ipc://${dir}/zurl/zurl-in-stream\nzurl_in_specs=ipc://${dir}/zurl/zurl-out\n`);
  writeFileSync(path.join(dir, 'pushpin.conf'), conf);
  const target = new URL(backendUrl);
  writeFileSync(path.join(dir, 'routes'), `* ${target.hostname}:${target.port},over_http\n`);
  const zurl = await startProcess('zurl', [`--config=${dir}/zurl.conf`], { ready: /started/, timeoutMs: 10_000 });
  const port = freePort();
  const pushpin = await startProcess('pushpin', [`--config=${dir}/pushpin.conf`, `--port=127.0.0.1:${port}`, '--merge-output'], { ready: /listening on 127\.0\.0\.1/, timeoutMs: 20_000 });
  return {
    url: `ws://127.0.0.1:${port}/`,
    pids: () => [pushpin.pid, zurl.pid],
    stop: async () => {
      await pushpin.stop();
      await zurl.stop();
    },
  };
}

// --- the scenario -------------------------------------------------------------------------

export async function run({ quick, log }) {
  const seconds = quick ? 3 : 6;
  const rounds = quick ? 1 : 2;
  const ratios = [];
  const notes = [];
  const figures = {};

  // 1. serverless-offline vs Switchboard, inline echo handler.
  try {
    const runs = await alternate(rounds, ['serverlessOffline', 'switchboard'], async (kind) => {
      const server = kind === 'switchboard' ? await startSwitchboard({ echo: { handler: handler('echo'), routeResponse: true } }) : await startServerlessOffline();
      try {
        const m = await echoLoad(server.url, server.pids ?? (() => [server.pid]), seconds);
        log(`peers echo ${kind}: ${Math.round(m.throughput)} msg/s, p50 ${m.latency.p50} ms, ${round(m.cpuPerMessageUs)} µs CPU/msg${m.stalled ? `, ${m.stalled} of ${CONNS} sockets never got their last answer` : ''}`);
        return m;
      } finally {
        await server.stop();
        await sleep(300);
      }
    });
    figures.serverlessOffline = runs;
    notes.push(...lostNotes(runs));
    const med = (k, f) => medianOf(runs, k, f);
    ratios.push(ratio('echo vs serverless-offline (100 conns)', med('switchboard', (m) => m.throughput), med('serverlessOffline', (m) => m.throughput), 10, 'higher', 'msg/s'));
    notes.push('serverless-offline needs a $connect route (it answers 502 without one; AWS accepts), so its config has a no-op $connect');
  } catch (err) {
    if (!(err instanceof Skip)) throw err;
    notes.push(`serverless-offline not run: ${err.message}`);
  }

  // 2. Pushpin (WebSocket-over-HTTP) vs Switchboard's HTTP integration, same backend.
  let backend;
  try {
    backend = await startBackend();
    const runs = await alternate(rounds, ['pushpin', 'switchboard'], async (kind) => {
      const server = kind === 'switchboard' ? await startSwitchboard({ $default: { http: `${backend.url}/switchboard`, routeResponse: true } }) : await startPushpin(backend.url);
      try {
        const pids = server.pids ?? (() => [server.pid]);
        const m = await echoLoad(server.url, () => [...pids(), backend.pid], seconds);
        log(`peers http echo ${kind}: ${Math.round(m.throughput)} msg/s, p50 ${m.latency.p50} ms, ${round(m.cpuPerMessageUs)} µs CPU/msg (gateway + backend)${m.stalled ? `, ${m.stalled} of ${CONNS} sockets never got their last answer` : ''}`);
        return m;
      } finally {
        await server.stop();
        await sleep(300);
      }
    });
    figures.pushpin = runs;
    notes.push(...lostNotes(runs));
    const med = (k, f) => medianOf(runs, k, f);
    ratios.push(ratio('HTTP-integration echo vs Pushpin (100 conns)', med('switchboard', (m) => m.throughput), med('pushpin', (m) => m.throughput), null, 'higher', 'msg/s'));
    ratios.push(ratio('HTTP-integration CPU per message vs Pushpin (gateway + backend)', med('switchboard', (m) => m.cpuPerMessageUs), med('pushpin', (m) => m.cpuPerMessageUs), null, 'lower', 'µs'));
    notes.push('Pushpin 1.36 (Debian, default settings): its processes (condure, proxy, handler, zurl) share the server core with the backend, and spend about 1 ms of CPU per WebSocket-over-HTTP message there, which is what bounds it; no goal was set, the ratios are for information');
  } catch (err) {
    if (!(err instanceof Skip)) throw err;
    notes.push(`Pushpin not run: ${err.message}`);
  } finally {
    await backend?.stop();
  }

  if (ratios.length === 0) return { skipped: notes.join('; '), notes };
  return { figures, ratios, notes };
}
