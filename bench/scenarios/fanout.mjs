// fanout: one group of 10,000 members, a group send repeated — messages delivered per second
// at the clients, against a bare ws server looping over its sockets on an HTTP POST.
// Members join the group from the $connect handler's answer (switchboard.join).
import { request } from 'undici';
import { LoadGenerator } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { handler, startBaseline, startSwitchboard } from '../lib/servers.mjs';
import { signer } from '../lib/sigv4.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = 'group send to 10,000 members, deliveries/s at the clients vs a bare ws loop';
const MEMBERS = 10_000;
const PAYLOAD = JSON.stringify({ type: 'tick', data: 'x'.repeat(40) });

async function measure(kind, sends) {
  const server = kind === 'baseline' ? await startBaseline('bare-push.mjs') : await startSwitchboard({ $connect: { handler: handler('joinBench') } });
  const lg = new LoadGenerator(2);
  try {
    await lg.connect(server.url, MEMBERS);
    const path = kind === 'baseline' ? '/fanout' : '/bench/@groups/bench';
    const host = new URL(server.origin).host;
    const sign = signer();
    const send = async () => {
      const headers = kind === 'baseline' ? {} : await sign(host, path, PAYLOAD);
      const res = await request(`${server.origin}${path}`, { method: 'POST', headers, body: PAYLOAD });
      const body = await res.body.json();
      if (res.statusCode !== 200 || body.sent !== MEMBERS) throw new Error(`${kind}: send answered ${res.statusCode} ${JSON.stringify(body)}`);
    };
    await send(); // warm-up
    await sleep(500);
    await lg.all('reset');
    const c0 = cpuMicros(server.pid);
    const t0 = performance.now();
    for (let i = 0; i < sends; i++) await send();
    // Delivered means received by the clients: wait for the last frames (bounded).
    const want = sends * MEMBERS;
    let got = 0;
    const deadline = Date.now() + 60_000;
    while ((got = await lg.received()) < want && Date.now() < deadline) await sleep(20);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMicros(server.pid) - c0;
    if (got < want) throw new Error(`${kind}: only ${got} of ${want} messages arrived`);
    return { deliveredPerSecond: got / seconds, seconds, delivered: got, cpuPerDeliveryUs: cpu / got };
  } finally {
    await lg.close();
    await server.stop();
    await sleep(500);
  }
}

export async function run({ quick, log }) {
  const sends = quick ? 10 : 30;
  const rounds = quick ? 1 : 2;
  const runs = await alternate(rounds, ['baseline', 'switchboard'], async (kind) => {
    const m = await measure(kind, sends);
    log(`fanout ${kind}: ${sends} sends × ${MEMBERS} members: ${Math.round(m.deliveredPerSecond)} deliveries/s, ${round(m.cpuPerDeliveryUs)} µs server CPU per delivery`);
    return m;
  });
  const med = (kind, f) => medianOf(runs, kind, f);
  return {
    figures: runs,
    ratios: [ratio('fanout deliveries per second (10,000-member group)', med('switchboard', (m) => m.deliveredPerSecond), med('baseline', (m) => m.deliveredPerSecond), 0.9, 'higher', 'msg/s')],
  };
}
