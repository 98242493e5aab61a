// Several Switchboard variants side by side (the method of lib/side-by-side.mjs), for questions
// smaller than the scenarios' goals: what a setting, a build or a scrape interval costs.
//
//   node bench/variants.mjs echo|push ROUNDS WINDOWS VARIANT VARIANT …
//
// A variant is `name[:option,option…]`; the first is the base every other is divided by:
//   m               metrics on (admin listener), scraped every second
//   noscrape        with `m`: never scraped
//   scrape=MS       with `m`: scraped every MS milliseconds
//   path=/health    with `m`: what is fetched (default /metrics)
//   dist=DIR        another build's dist/ (e.g. a copy with an experiment in it)
//   env=NAME~VALUE  an environment variable for that server (one per variant)
// The servers share the server core at the scenario's side-by-side total rate (RATE=… to change
// it), each under its own load generator; WARM=… sets the warm-up in seconds (default 10).
// Prints each window's CPU per unit (all threads, and off the main thread), then each variant's
// median ratio to the base and its per-round medians.
import path from 'node:path';
import { LoadGenerator } from './lib/loadgen.mjs';
import { sleep, threadCpuSplit } from './lib/proc.mjs';
import { startScraper } from './lib/scrape.mjs';
import { handler, startSwitchboard } from './lib/servers.mjs';
import { median } from './lib/stats.mjs';

const [scenario, roundsArg, windowsArg, ...specs] = process.argv.slice(2);
if (!['echo', 'push'].includes(scenario) || !(Number(roundsArg) > 0) || !(Number(windowsArg) > 0) || specs.length < 2) {
  console.error('usage: node bench/variants.mjs echo|push ROUNDS WINDOWS VARIANT VARIANT …');
  process.exit(2);
}
const rounds = Number(roundsArg);
const windows = Number(windowsArg);
const variants = specs.map((spec) => {
  const [name, list = ''] = spec.split(':');
  const opts = Object.fromEntries(list.split(',').filter(Boolean).map((o) => (o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, true])));
  return { name, opts };
});
const total = Number(process.env.RATE ?? (scenario === 'echo' ? 8000 : 3000));
const rate = total / variants.length;
const warmUp = Number(process.env.WARM ?? 10);
const PAYLOAD = JSON.stringify({ action: 'echo', data: 'x'.repeat(40) });

async function start({ opts }) {
  const env = {};
  if (opts.env) env[opts.env.split('~')[0]] = opts.env.split('~')[1];
  const routes = scenario === 'echo' ? { echo: { handler: handler('echo'), routeResponse: true } } : { whoami: { handler: handler('whoami'), routeResponse: true } };
  const saved = process.env.SWITCHBOARD_DIST;
  if (opts.dist) process.env.SWITCHBOARD_DIST = path.resolve(opts.dist);
  try {
    return await startSwitchboard(routes, { metrics: Boolean(opts.m), node: { env } });
  } finally {
    if (saved === undefined) delete process.env.SWITCHBOARD_DIST;
    else process.env.SWITCHBOARD_DIST = saved;
  }
}

async function load(s, seconds) {
  if (scenario === 'echo') return (await s.lg.all('echoPaced', () => ({ seconds, payload: PAYLOAD, rate }))).reduce((a, r) => a + r.count, 0);
  const res = await s.lg.all('push', () => ({ origin: s.server.origin, pathPrefix: '/bench/@connections/', ids: s.ids, payload: 'x'.repeat(64), signed: true, concurrency: 16, seconds, rate }));
  return res.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
}

const ratios = variants.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...variants.keys()].reverse() : [...variants.keys()];
  const running = [];
  try {
    for (const i of order) running[i] = { server: await start(variants[i]), lg: new LoadGenerator(1) };
    for (const [i, s] of running.entries()) {
      const { opts } = variants[i];
      if (opts.m && !opts.noscrape) s.stop = startScraper(s.server.adminUrl, Number(opts.scrape ?? 1000), opts.path ?? '/metrics');
      if (scenario === 'echo') await s.lg.connect(s.server.url, 100);
      else s.ids = await s.lg.connect(s.server.url, 1000, true);
    }
    await Promise.all(running.map((s) => load(s, warmUp)));
    for (let w = 0; w < windows; w++) {
      const before = running.map((s) => threadCpuSplit(s.server.pid));
      const units = await Promise.all(running.map((s) => load(s, 5)));
      const after = running.map((s) => threadCpuSplit(s.server.pid));
      const all = after.map((a, i) => (a.main + a.other - before[i].main - before[i].other) / units[i]);
      const other = after.map((a, i) => (a.other - before[i].other) / units[i]);
      for (let i = 1; i < variants.length; i++) ratios[i].push(all[i] / all[0]);
      console.log(`round ${r + 1} window ${w + 1}: ${variants.map((v, i) => `${v.name} ${all[i].toFixed(2)} µs (${other[i].toFixed(2)} off main)`).join(', ')}`);
    }
  } finally {
    for (const s of running) {
      if (!s) continue;
      try {
        await s.stop?.();
      } catch (err) {
        console.error(err.message);
      }
      await s.lg.close();
      await s.server.stop();
    }
    await sleep(300);
  }
}
for (let i = 1; i < variants.length; i++) {
  const perRound = Array.from({ length: rounds }, (_, r) => median(ratios[i].slice(r * windows, (r + 1) * windows)).toFixed(3));
  console.log(`${specs[i]} / ${specs[0]}: median ${median(ratios[i]).toFixed(4)} (rounds ${perRound.join(' ')})`);
}
