#!/usr/bin/env node
// node bench/profile.mjs push|echo|cluster-push|cluster-handshakes [--metrics] [--baseline] [--seconds N] [--rate R] [--top N]
// Runs one server under `node --cpu-prof` with the scenario's paced load (the same load
// generator as the bench), and prints where the server's CPU goes during the measured window
// only (startup and connecting are cut out): the top frames by self time, and by file, in µs
// per request/message. Writes the .cpuprofile under bench/results/profiles/ (git-ignored).
// Not a benchmark: the profiler itself costs CPU; compare profiles with each other.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LoadGenerator } from './lib/loadgen.mjs';
import { cpuMicros, sleep } from './lib/proc.mjs';
import { startScraper } from './lib/scrape.mjs';
import { BENCH_DIR, ROOT, handler, startBaseline, startSwitchboard } from './lib/servers.mjs';
import { startSetup } from './scenarios/cluster.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const scenario = args[0];
const metrics = args.includes('--metrics');
const baseline = args.includes('--baseline');
const seconds = Number(opt('--seconds', 8));
const top = Number(opt('--top', 25));
const dir = path.join(BENCH_DIR, 'results', 'profiles', `${scenario}-${baseline ? 'baseline' : metrics ? 'metrics' : 'switchboard'}-${Date.now()}`);
mkdirSync(dir, { recursive: true });
const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${opt('--interval', 100)}`];
const monoUs = () => Number(process.hrtime.bigint() / 1000n); // the clock V8's profile timestamps use (CLOCK_MONOTONIC)

const setups = {
  push: {
    rate: 3000,
    start: () => (baseline ? startBaseline('bare-push.mjs', { nodeArgs }) : startSwitchboard({ whoami: { handler: handler('whoami'), routeResponse: true } }, { metrics, nodeArgs })),
    async load(server, lg, rate) {
      const ids = await lg.connect(server.url, 1000, true);
      const pathPrefix = baseline ? '/push/' : '/bench/@connections/';
      const job = (extra) => () => ({ origin: server.origin, pathPrefix, ids, payload: 'x'.repeat(64), signed: !baseline, concurrency: 16, ...extra });
      await lg.all('push', job({ seconds: 1 }));
      const [t0, c0] = [monoUs(), cpuMicros(server.pid)];
      const res = await lg.all('push', job({ seconds, rate: rate / 2 }));
      return { t0, t1: monoUs(), cpu: cpuMicros(server.pid) - c0, n: res.reduce((a, r) => a + (r.statuses[200] ?? 0), 0) };
    },
  },
  echo: {
    rate: 8000,
    start: () => (baseline ? startBaseline('bare-echo.mjs', { nodeArgs }) : startSwitchboard({ echo: { handler: handler('echo'), routeResponse: true } }, { metrics, nodeArgs })),
    async load(server, lg, rate) {
      const payload = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) });
      await lg.connect(server.url, 100);
      await lg.all('echoClosed', () => ({ seconds: 1, payload }));
      const [t0, c0] = [monoUs(), cpuMicros(server.pid)];
      const res = await lg.all('echoPaced', () => ({ seconds, payload, rate: rate / 2 }));
      return { t0, t1: monoUs(), cpu: cpuMicros(server.pid) - c0, n: res.reduce((a, r) => a + r.count, 0) };
    },
  },
};

// cluster-push: SigV4 POSTs to node B of a 2-node cluster for clients held by node A (both profiled;
// --rate 0 runs closed-loop, as the throughput figure does).
setups['cluster-push'] = {
  rate: 2000,
  async start() {
    const s = await startSetup('cluster', { nodeArgs });
    return { ...s, pid: s.pids[1], names: ['A (holder)', 'B (takes the call)', 'redis'] };
  },
  async load(setup, lg, rate) {
    const [A, B] = setup.nodes;
    const ids = await lg.connect(A.url, 1000, true);
    const job = (extra) => () => ({ origin: B.origin, pathPrefix: '/bench/@connections/', ids, payload: 'x'.repeat(64), signed: true, concurrency: 16, ...extra });
    await lg.all('push', job({ seconds: 1 }));
    const [t0, c0] = [monoUs(), setup.pids.map(cpuMicros)];
    const res = await lg.all('push', job(rate > 0 ? { seconds, rate: rate / 2 } : { seconds }));
    const n = res.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    console.log(`process CPU per request: ${setup.pids.map((p, i) => `${setup.names[i]} ${((cpuMicros(p) - c0[i]) / n).toFixed(1)} µs`).join(', ')}; ${(n / seconds).toFixed(0)} req/s`);
    return { t0, t1: monoUs(), cpu: cpuMicros(setup.pid) - c0[1], n };
  },
};

// cluster-handshakes: 5,000 clients opened on node A of a 2-node cluster (a registry write before each 101).
setups['cluster-handshakes'] = {
  rate: 0,
  async start() {
    const s = await startSetup('cluster', { nodeArgs });
    return { ...s, pid: s.pids[0], names: ['A (takes the handshakes)', 'B (idle)', 'redis'] };
  },
  async load(setup, lg) {
    const [A] = setup.nodes;
    await lg.connect(A.url, 200);
    const [t0, c0] = [monoUs(), setup.pids.map(cpuMicros)];
    const n = 5000;
    await lg.connect(A.url, n);
    console.log(`process CPU per handshake: ${setup.pids.map((p, i) => `${setup.names[i]} ${((cpuMicros(p) - c0[i]) / n).toFixed(1)} µs`).join(', ')}`);
    return { t0, t1: monoUs(), cpu: cpuMicros(setup.pid) - c0[0], n };
  },
};

const setup = setups[scenario];
if (!setup) {
  console.error(`usage: node bench/profile.mjs ${Object.keys(setups).join('|')} [--metrics] [--baseline] [--seconds N] [--rate R]`);
  process.exit(2);
}
const rate = Number(opt('--rate', setup.rate));
const server = await setup.start();
const lg = new LoadGenerator(2);
const stopScraper = server.adminUrl ? startScraper(server.adminUrl) : null;
let window;
try {
  window = await setup.load(server, lg, rate);
  if (stopScraper) await stopScraper();
} finally {
  await lg.close();
  await server.stop();
}
await sleep(200);
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
if (files.length === 0) throw new Error(`no profile written in ${dir}`);
for (const file of files) {
  const i = server.pids ? server.pids.findIndex((p) => file.includes(`.${p}.`)) : -1;
  if (i >= 0) console.log(`\n=== ${server.names[i]} ===`);
  summarize(JSON.parse(readFileSync(path.join(dir, file), 'utf8')), window, file);
}

function summarize(profile, { t0, t1, n, cpu }, file) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map(); // node id → µs in the window
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < t0 || t > t1) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  if (total === 0) throw new Error(`no samples in the window (profile ${profile.startTime}…${profile.endTime}, window ${t0}…${t1})`);
  const short = (url) => url.replace(`file://${ROOT}/`, '').replace(/^node:/, 'node:');
  const frame = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
  const add = (map, key, v) => map.set(key, (map.get(key) ?? 0) + v);
  const frames = new Map();
  const files = new Map();
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    add(frames, frame(cf), us);
    add(files, cf.url ? short(cf.url).replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, '$1 (dep)') : cf.functionName, us);
  }
  const busy = total - idle;
  const per = (us) => (us / n).toFixed(2).padStart(7);
  console.log(`\n${scenario}${baseline ? ' baseline' : metrics ? ' metrics on' : ''}: ${n} requests in ${((t1 - t0) / 1e6).toFixed(1)} s; main thread busy ${per(busy)} µs per request in the profile (100 µs sampling); process CPU ${per(cpu)} µs per request (/proc, all threads, profiler's own cost included)`);
  console.log(`\ntop frames by self time (µs per request):`);
  for (const [name, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${per(us)}  ${name}`);
  console.log(`\nby file / package (µs per request):`);
  for (const [name, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${per(us)}  ${name}`);
  console.log(`\nprofile: ${path.relative(ROOT, path.join(dir, file))}`);
}
