// cluster: what cluster mode costs against one node, on the same machine, in the same run.
// Every Switchboard here runs `switchboard start` from dist/; a cluster is 2 nodes on one
// redis-server (free loopback port, no persistence). Gateways and Redis share core 0, the load
// generator has core 1: on 2 cores this measures overhead, not scale-out.
//  - push: 1,000 clients on node A; SigV4 POSTs to A (the owner: no Redis on the path) and to B
//    (routed through Redis and back), against one node;
//  - fan-out: a 10,000-member group split 5,000/5,000 over A and B, sent on A, against one node
//    holding all 10,000;
//  - handshakes/s: 5,000 clients opened on a cluster node (a registry write before every 101)
//    against one node;
//  - Redis commands per management call (INFO commandstats deltas) against the design's cost
//    table, and Redis memory per connection (INFO memory).
import path from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { LoadGenerator, latency } from '../lib/loadgen.mjs';
import { cpuMicros, sleep } from '../lib/proc.mjs';
import { callDelta, haveRedis, startRedis } from '../lib/redis.mjs';
import { BENCH_DIR, startSwitchboard } from '../lib/servers.mjs';
import { BENCH_CREDS, signer } from '../lib/sigv4.mjs';
import { alternate, medianOf, ratio, round } from '../lib/stats.mjs';

export const description = '2-node cluster on one Redis vs one node: push (owner / other node), fan-out, handshakes, Redis commands and memory';

const HANDLERS = path.join(BENCH_DIR, 'fixtures', 'cluster-handlers.mjs');
const h = (name) => `${HANDLERS}#${name}`;
export const ROUTES = { $connect: { handler: h('connect') }, whoami: { handler: h('whoami'), routeResponse: true } };
const PAYLOAD = 'x'.repeat(64);
/** The design's measured Redis memory per connection (synthetic records, 100-byte user agent). */
const SPEC_BYTES_PER_CONNECTION = 1366;

/**
 * Starts what a measurement compares: `single` (one node, no Redis) or a cluster of `nodes`
 * nodes on a fresh Redis. Resolves with { nodes, redis?, pids, stop }.
 */
export async function startSetup(kind, { nodes = 2, cluster = {}, node, nodeArgs } = {}) {
  if (kind === 'single') {
    const s = await startSwitchboard(ROUTES, { node, nodeArgs });
    return { nodes: [s], pids: [s.pid], stop: () => s.stop() };
  }
  const redis = await startRedis();
  const started = [];
  try {
    for (let i = 0; i < nodes; i++) started.push(await startSwitchboard(ROUTES, { node, nodeArgs, config: { cluster: { redis: { url: redis.url }, ...cluster } } }));
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    await redis.stop();
    throw err;
  }
  return {
    nodes: started,
    redis,
    pids: [...started.map((s) => s.pid), redis.pid],
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
      await redis.stop();
    },
  };
}

const cpuOf = (pids) => pids.reduce((a, p) => a + cpuMicros(p), 0);

/** push: `single`, `owner` (calls to the node holding the clients) or `remote` (to the other node). */
export async function measurePush(kind, { seconds, concurrency, rate }) {
  const setup = await startSetup(kind === 'single' ? 'single' : 'cluster');
  const lg = new LoadGenerator(2);
  try {
    const holder = setup.nodes[0];
    const target = kind === 'remote' ? setup.nodes[1] : holder;
    const ids = await lg.connect(holder.url, 1000, true);
    const job = (extra) => () => ({ origin: target.origin, pathPrefix: '/bench/@connections/', ids, payload: PAYLOAD, signed: true, concurrency: concurrency / 2, ...extra, ...(extra.rate ? { rate: extra.rate / 2 } : {}) });
    await lg.all('push', job({ seconds: 1 })); // warm-up
    await lg.all('reset');
    const closed = await lg.all('push', job({ seconds }));
    await sleep(300);
    const delivered = await lg.received();
    const requests = closed.reduce((a, r) => a + r.count, 0);
    const ok = closed.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    if (ok < requests) throw new Error(`push ${kind}: ${requests - ok} of ${requests} answered ${JSON.stringify(closed.map((r) => r.statuses))}`);
    if (delivered < ok) throw new Error(`push ${kind}: ${ok - delivered} pushes answered 200 but not delivered`);
    const out = { throughput: ok / seconds, requests, delivered, latency: latency(closed) };
    // Server CPU (every node and Redis) per request at a fixed rate below saturation.
    const c0 = setup.pids.map(cpuMicros);
    const paced = await lg.all('push', job({ seconds, rate }));
    const n = paced.reduce((a, r) => a + (r.statuses[200] ?? 0), 0);
    // Per process: [holder, other node, Redis] in a cluster, [node] alone.
    out.cpuSplitUs = setup.pids.map((p, i) => round((cpuMicros(p) - c0[i]) / n));
    out.cpuPerRequestUs = out.cpuSplitUs.reduce((a, b) => a + b, 0);
    out.pacedRate = n / seconds;
    return out;
  } finally {
    await lg.close();
    await setup.stop();
    await sleep(300);
  }
}

/** Signed POST/PUT/GET/DELETE from this process (management calls, not load). */
export async function call(node, method, p, body = '') {
  const host = new URL(node.origin).host;
  const headers = await signerFor(method)(host, `/bench${p}`, body);
  const res = await request(`${node.origin}/bench${p}`, { method, headers, body: method === 'GET' || method === 'DELETE' ? undefined : body });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}
const signers = new Map();
function signerFor(method) {
  if (!signers.has(method)) signers.set(method, methodSigner(method));
  return signers.get(method);
}
// lib/sigv4.mjs signs POSTs; the other methods use the same credentials with their own method.
function methodSigner(method) {
  if (method === 'POST') return signer();
  const s = new SignatureV4({ credentials: BENCH_CREDS, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  return async (host, p, body) => {
    const [hostname, port] = host.split(':');
    const [pathname, query] = p.split('?');
    const q = Object.fromEntries(new URLSearchParams(query ?? ''));
    const headers = { host, ...(body ? { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(body)) } : {}) };
    return (await s.sign(new HttpRequest({ method, hostname, port: Number(port), path: pathname, query: q, headers, body: body || undefined }))).headers;
  };
}

/** fan-out: one group send at a time, `sends` times, deliveries counted at the clients. */
export async function measureFanout(kind, { sends, members }) {
  const setup = await startSetup(kind);
  const lg = new LoadGenerator(2);
  try {
    const [A, B] = setup.nodes;
    if (kind === 'single') await lg.connect(A.url, members);
    else {
      await lg.connect(A.url, members / 2);
      await lg.connect(B.url, members / 2);
    }
    const send = async () => {
      const r = await call(A, 'POST', '/@groups/bench', PAYLOAD);
      const body = r.status === 200 ? JSON.parse(r.text) : null;
      if (body?.sent !== members) throw new Error(`fanout ${kind}: group send answered ${r.status} ${r.text.slice(0, 300)}`);
    };
    await send(); // warm-up
    await sleep(500);
    await lg.all('reset');
    const c0 = cpuOf(setup.pids);
    const t0 = performance.now();
    for (let i = 0; i < sends; i++) await send();
    const want = sends * members;
    let got = 0;
    const deadline = Date.now() + 60_000;
    while ((got = await lg.received()) < want && Date.now() < deadline) await sleep(20);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuOf(setup.pids) - c0;
    if (got < want) throw new Error(`fanout ${kind}: only ${got} of ${want} messages arrived`);
    return { deliveredPerSecond: got / seconds, seconds, delivered: got, cpuPerDeliveryUs: cpu / got };
  } finally {
    await lg.close();
    await setup.stop();
    await sleep(500);
  }
}

/** handshakes/s: `count` clients opened on node A (400 handshakes in flight), and Redis memory per connection. */
export async function measureHandshakes(kind, { count }) {
  const setup = await startSetup(kind);
  const lg = new LoadGenerator(2);
  try {
    const A = setup.nodes[0];
    await lg.connect(A.url, 200); // warm-up: JIT, handler import, Redis scripts loaded
    const m0 = setup.redis ? await setup.redis.usedMemory() : 0;
    const c0 = cpuOf(setup.pids);
    const t0 = performance.now();
    await lg.connect(A.url, count);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuOf(setup.pids) - c0;
    const out = { handshakesPerSecond: count / seconds, seconds, cpuPerHandshakeUs: cpu / count };
    if (setup.redis) out.redisBytesPerConnection = ((await setup.redis.usedMemory()) - m0) / count;
    return out;
  } finally {
    await lg.close();
    await setup.stop();
    await sleep(500);
  }
}

/** A WebSocket client in this process that learns its connection id. */
function client(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error(`no answer from ${url}`)), 10_000);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.once('message', (d) => {
        clearTimeout(timer);
        resolve({ ws, id: JSON.parse(d.toString()).connectionId });
      });
      ws.send('{"action":"whoami"}');
    });
  });
}
const closed = (ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', r)));

/**
 * The design's cost table, in INFO commandstats terms: EVALSHA calls per management call, and
 * PUBLISH calls (every bus message, whether a script or the client published it). Commands run
 * inside scripts are counted by Redis too; they are reported, not checked.
 */
const COST_TABLE = [
  { op: '$connect accepted', evalsha: 1, publish: 0 },
  { op: 'close (client)', evalsha: 1, publish: 0 },
  { op: 'POST, local', evalsha: 0, publish: 0 },
  { op: 'GET, local', evalsha: 0, publish: 0 },
  { op: 'DELETE, local', evalsha: 1, publish: 0 },
  { op: 'POST, remote', evalsha: 1, publish: 2 },
  { op: 'GET, remote', evalsha: 1, publish: 2 },
  { op: 'DELETE, remote', evalsha: 2, publish: 2 }, // route + the owner's close (conn_remove)
  { op: 'join, local', evalsha: 1, publish: 0 },
  { op: 'join, remote', evalsha: 2, publish: 2 },
  { op: 'leave, local', evalsha: 1, publish: 0 },
  { op: 'leave, remote', evalsha: 2, publish: 2 },
  { op: 'group send (2 live nodes)', evalsha: 1, publish: 2 },
  { op: 'principal close (2 live nodes)', evalsha: 1, publish: 2, plus: 'each closed connection: 1 EVALSHA (conn_remove)' },
  { op: 'list page of 10 (one node in the page is remote)', evalsha: 0, zrange: 1, hgetall: 10, publish: 2 },
];

/**
 * Runs each operation `reps` times on a 2-node cluster with slow heartbeats (so that background
 * commands hardly count) and takes INFO commandstats deltas per call, minus the background
 * measured over an idle window as long as the calls took.
 */
export async function measureCommands({ reps }) {
  // Heartbeats and reaper ticks every 10 s: a few background scripts per window, subtracted below.
  const setup = await startSetup('cluster', { cluster: { heartbeatMs: 10_000, leaseMs: 60_000, deadAfterMs: 120_000, reaperIntervalMs: 10_000 } });
  const [A, B] = setup.nodes;
  const redis = setup.redis;
  const clients = [];
  try {
    const connect = async (node, user = 'cmd') => {
      const c = await client(`${node.url}?user=${user}`);
      clients.push(c);
      return c;
    };
    const perCall = async (n, fn) => {
      const b0 = await redis.commandCalls();
      const t0 = Date.now();
      for (let i = 0; i < n; i++) await fn(i);
      const ms = Date.now() - t0;
      const b1 = await redis.commandCalls();
      // Background over an idle window as long as the calls took (heartbeats, reaper ticks).
      await sleep(Math.min(ms, 3000));
      const b2 = await redis.commandCalls();
      const calls = callDelta(b0, b1);
      const idle = callDelta(b1, b2);
      const scale = ms / Math.min(ms, 3000);
      const out = {};
      for (const [k, v] of Object.entries(calls)) if (k !== 'info') out[k] = round(Math.max(0, v - (idle[k] ?? 0) * scale) / n, 2);
      return out;
    };
    const ok = (r, want) => {
      if (r.status !== want) throw new Error(`commands: answered ${r.status} ${r.text.slice(0, 200)}, expected ${want}`);
    };
    const measured = {};
    // $connect, then the client's close: `reps` clients on A.
    const own = [];
    measured['$connect accepted'] = await perCall(reps, async () => own.push(await connect(A)));
    measured['close (client)'] = await perCall(reps, async (i) => {
      own[i].ws.close();
      await closed(own[i].ws);
    });
    await sleep(300); // the last conn_remove runs after the close handshake
    const target = await connect(A);
    await connect(B); // so that a page and a fan-out span both nodes
    measured['POST, local'] = await perCall(reps, async () => ok(await call(A, 'POST', `/@connections/${target.id}`, PAYLOAD), 200));
    measured['GET, local'] = await perCall(reps, async () => ok(await call(A, 'GET', `/@connections/${target.id}`), 200));
    measured['POST, remote'] = await perCall(reps, async () => ok(await call(B, 'POST', `/@connections/${target.id}`, PAYLOAD), 200));
    measured['GET, remote'] = await perCall(reps, async () => ok(await call(B, 'GET', `/@connections/${target.id}`), 200));
    measured['join, local'] = await perCall(reps, async (i) => ok(await call(A, 'PUT', `/@groups/l${i}/connections/${target.id}`), 204));
    measured['leave, local'] = await perCall(reps, async (i) => ok(await call(A, 'DELETE', `/@groups/l${i}/connections/${target.id}`), 204));
    measured['join, remote'] = await perCall(reps, async (i) => ok(await call(B, 'PUT', `/@groups/r${i}/connections/${target.id}`), 204));
    measured['leave, remote'] = await perCall(reps, async (i) => ok(await call(B, 'DELETE', `/@groups/r${i}/connections/${target.id}`), 204));
    measured['group send (2 live nodes)'] = await perCall(reps, async () => ok(await call(A, 'POST', '/@groups/bench', PAYLOAD), 200));
    // A page of 10 from A, whose items live on A and B: 5 of each.
    for (let i = 0; i < 4; i++) await connect(A, 'page'), await connect(B, 'page');
    await connect(A, 'page');
    await connect(B, 'page');
    measured['list page of 10 (one node in the page is remote)'] = await perCall(reps, async () => ok(await call(A, 'GET', '/@principals/page/connections?limit=10'), 200));
    // Closes: one connection per call, on the node taking the call or the other one.
    const victims = { local: [], remote: [] };
    for (let i = 0; i < reps; i++) victims.local.push(await connect(A, 'v')), victims.remote.push(await connect(A, 'v'));
    measured['DELETE, local'] = await perCall(reps, async (i) => ok(await call(A, 'DELETE', `/@connections/${victims.local[i].id}`), 204));
    measured['DELETE, remote'] = await perCall(reps, async (i) => ok(await call(B, 'DELETE', `/@connections/${victims.remote[i].id}`), 204));
    // A principal close with one connection on each node: the fan-out plus one close per connection.
    const pairs = [];
    for (let i = 0; i < reps; i++) pairs.push([await connect(A, `pc${i}`), await connect(B, `pc${i}`)]);
    const pc = await perCall(reps, async (i) => ok(await call(A, 'DELETE', `/@principals/pc${i}`), 200));
    measured['principal close (2 live nodes)'] = { ...pc, evalsha: round(pc.evalsha - 2, 2) }; // minus the 2 conn_remove
    await sleep(300);

    const rows = COST_TABLE.map((row) => {
      const m = measured[row.op] ?? {};
      const checked = Object.keys(row).filter((k) => k !== 'op' && k !== 'plus');
      const mismatch = checked.filter((k) => Math.abs((m[k] ?? 0) - row[k]) >= 0.05);
      return { op: row.op, expected: Object.fromEntries(checked.map((k) => [k, row[k]])), measured: m, met: mismatch.length === 0, mismatch };
    });
    return { rows };
  } finally {
    for (const c of clients) c.ws.terminate();
    await setup.stop();
  }
}

export async function run({ quick, log }) {
  if (!haveRedis()) return { skipped: 'no redis-server binary (apt-get install redis-server)' };
  const rounds = quick ? 1 : 2;
  const pushRuns = await alternate(rounds, ['single', 'owner', 'remote'], async (kind) => {
    const m = await measurePush(kind, { seconds: quick ? 3 : 6, concurrency: 32, rate: 2000 });
    log(`push ${kind}: ${Math.round(m.throughput)} req/s (${m.delivered}/${m.requests} delivered), p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms, ${round(m.cpuPerRequestUs)} µs CPU/request (nodes + Redis: ${m.cpuSplitUs.join(' + ')}) at ${Math.round(m.pacedRate)} req/s`);
    return m;
  });
  const fanoutRuns = await alternate(rounds, ['single', 'cluster'], async (kind) => {
    const m = await measureFanout(kind, { sends: quick ? 10 : 30, members: 10_000 });
    log(`fanout ${kind}: ${Math.round(m.deliveredPerSecond)} deliveries/s, ${round(m.cpuPerDeliveryUs)} µs CPU per delivery`);
    return m;
  });
  const handshakeRuns = await alternate(quick ? 1 : 3, ['single', 'cluster'], async (kind) => {
    const m = await measureHandshakes(kind, { count: 5000 });
    log(`handshakes ${kind}: ${Math.round(m.handshakesPerSecond)}/s, ${round(m.cpuPerHandshakeUs)} µs CPU each${m.redisBytesPerConnection ? `, Redis ${Math.round(m.redisBytesPerConnection)} B per connection` : ''}`);
    return m;
  });
  const commands = await measureCommands({ reps: quick ? 50 : 200 });
  for (const r of commands.rows) log(`commands ${r.op}: ${JSON.stringify(r.measured)}${r.met ? '' : ` — table: ${JSON.stringify(r.expected)}`}`);

  const pm = (kind, f) => medianOf(pushRuns, kind, f);
  const fm = (kind, f) => medianOf(fanoutRuns, kind, f);
  const hm = (kind, f) => medianOf(handshakeRuns, kind, f);
  const matched = commands.rows.filter((r) => r.met).length;
  const cmdRatio = ratio('Redis commands per management call as in the cost table (calls matching)', matched, commands.rows.length, 1, 'higher', 'calls');
  return {
    figures: { push: pushRuns, fanout: fanoutRuns, handshakes: handshakeRuns, commands: commands.rows },
    ratios: [
      ratio('cluster push, call on the other node (SigV4) vs one node', pm('remote', (m) => m.throughput), pm('single', (m) => m.throughput), 0.7, 'higher', 'req/s'),
      ratio('cluster push, call on the owner vs one node', pm('owner', (m) => m.throughput), pm('single', (m) => m.throughput), 0.9, 'higher', 'req/s'),
      ratio('cluster push CPU per request, other node (nodes + Redis, 2,000 req/s)', pm('remote', (m) => m.cpuPerRequestUs), pm('single', (m) => m.cpuPerRequestUs), null, 'lower', 'µs'),
      ratio('cluster fan-out deliveries/s, 10,000 members over 2 nodes vs one node', fm('cluster', (m) => m.deliveredPerSecond), fm('single', (m) => m.deliveredPerSecond), 0.8, 'higher', 'msg/s'),
      ratio('cluster handshakes/s (registry write before the 101) vs one node', hm('cluster', (m) => m.handshakesPerSecond), hm('single', (m) => m.handshakesPerSecond), 0.8, 'higher', '/s'),
      cmdRatio,
      ratio('Redis memory per connection (INFO used_memory delta / 5,000) vs the design’s 1,366 B', hm('cluster', (m) => m.redisBytesPerConnection), SPEC_BYTES_PER_CONNECTION, null, 'lower', 'B'),
    ],
    notes: [
      'on 2 cores the gateways, Redis and the load generator share the machine: these ratios measure the overhead of cluster mode, not scale-out',
      ...commands.rows.filter((r) => !r.met).map((r) => `commands: ${r.op} measured ${JSON.stringify(r.measured)}, table ${JSON.stringify(r.expected)}`),
    ],
  };
}
