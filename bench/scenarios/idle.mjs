// idle: many idle connections — server RSS per connection against the bare ws server, and the
// time to open them. The issue asks for 50,000; a process here may hold at most `ulimit -Hn`
// descriptors (20,000 on these machines, and unprivileged code cannot raise it), so the
// scenario opens as many as fit and says so.
import { LoadGenerator } from '../lib/loadgen.mjs';
import { fdLimit, rssBytes, sleep } from '../lib/proc.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'RSS per idle connection and time to open them vs bare ws';
const WANTED = 50_000;

async function measure(kind, n) {
  const server = kind === 'baseline' ? await startBaseline('bare-echo.mjs') : await startSwitchboard({ $default: { handler: handler('echo'), routeResponse: true } });
  const lg = new LoadGenerator(4);
  try {
    await sleep(1000);
    const before = rssBytes(server.pid);
    const t0 = Date.now();
    await lg.connect(server.url, n);
    const openMs = Date.now() - t0;
    await sleep(3000); // let the heap settle
    const after = rssBytes(server.pid);
    return { n, openMs, perConnBytes: (after - before) / n, rssBefore: before, rssAfter: after };
  } finally {
    await lg.close();
    await server.stop();
    await sleep(500);
  }
}

export async function run({ quick, log }) {
  const limit = fdLimit();
  const n = Math.min(quick ? 5000 : WANTED, limit - 1000);
  const notes = n < WANTED && !quick ? [`${n.toLocaleString('en')} connections, not ${WANTED.toLocaleString('en')}: the hard limit on open files here is ${limit} per process`] : [];
  const rounds = quick ? 1 : 2;
  const runs = await alternate(rounds, ['baseline', 'switchboard'], async (kind) => {
    const m = await measure(kind, n);
    log(`idle ${kind}: ${n} connections opened in ${m.openMs} ms, ${round(m.perConnBytes / 1024)} KiB RSS per connection`);
    return m;
  });
  const med = (kind, f) => medianOf(runs, kind, f);
  return {
    figures: runs,
    notes,
    ratios: [
      ratio(`idle memory per connection (${n.toLocaleString('en')} conns)`, med('switchboard', (m) => m.perConnBytes / 1024), med('baseline', (m) => m.perConnBytes / 1024), 1.5, 'lower', 'KiB'),
      ratio(`time to open ${n.toLocaleString('en')} connections`, med('switchboard', (m) => m.openMs), med('baseline', (m) => m.openMs), null, 'lower', 'ms'),
    ],
  };
}
