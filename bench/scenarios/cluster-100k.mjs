// cluster-100k: 100,000 idle connections held by a local cluster of 6 nodes on one Redis.
// Reports gateway RSS and Redis memory per connection, and how long closing one principal over
// every node takes. Every connection has one of 10 principals (p0 … p9, 10,000 each, spread
// evenly over the 6 nodes); two principals are closed one after the other, each by one
// `DELETE @principals/{p}` sent to node 0.
//
// Slow (about 2 minutes) and heavy, so not part of `npm run bench`: run it by name,
//   npm run bench -- cluster-100k
// Each node holds 16,667 connections, under the 20,000 open files a process may have here; 8
// load-generator processes hold 12,500 client sockets each, from the 16 loopback addresses.
import { readdirSync } from 'node:fs';
import { LoadGenerator } from '../lib/loadgen.mjs';
import { fdLimit, rssBytes, sleep } from '../lib/proc.mjs';
import { rawCommand } from '../lib/redis.mjs';
import { round } from '../lib/stats.mjs';
import { call, startSetup } from './cluster.mjs';

export const description = '100,000 idle connections on a local 6-node cluster: memory per connection, principal close over all nodes';
const NODES = 6;
const TOTAL = 100_000;
const PRINCIPALS = 10;
const ALL_KEY = 'sb:{switchboard/bench}:all';

const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

export async function run({ log }) {
  if (!process.argv.slice(2).includes('cluster-100k')) return { skipped: 'slow: run it by name (npm run bench -- cluster-100k)' };
  const perPrincipal = TOTAL / PRINCIPALS;
  const perNode = Math.ceil(TOTAL / NODES / PRINCIPALS) * PRINCIPALS;
  if (fdLimit() < perNode + 500) return { skipped: `the open-file limit (${fdLimit()}) is below ${perNode + 500} per node` };
  const setup = await startSetup('cluster', { nodes: NODES });
  const lg = new LoadGenerator(8);
  try {
    const redis = setup.redis;
    const nodePids = setup.nodes.map((n) => n.pid);
    const zcard = async () => Number((await rawCommand(redis.port, ['ZCARD', ALL_KEY])).slice(1));
    await sleep(1000);
    const rss0 = nodePids.reduce((a, p) => a + rssBytes(p), 0);
    const mem0 = await redis.usedMemory();

    // Each principal has exactly 10,000 connections spread over every node (1,667 on nodes 0-3,
    // 1,666 on nodes 4-5); each node holds 16,660-16,670.
    const t0 = performance.now();
    let opened = 0;
    for (const [n, node] of setup.nodes.entries()) {
      for (let p = 0; p < PRINCIPALS; p++) {
        const count = Math.floor(perPrincipal / NODES) + (n < perPrincipal % NODES ? 1 : 0);
        await lg.connect(`${node.url}?user=p${p}`, count);
        opened += count;
      }
      log(`node ${n}: ${opened} connections open so far`);
    }
    const openSeconds = (performance.now() - t0) / 1000;
    await sleep(3000); // let the heap settle
    const rss1 = nodePids.reduce((a, p) => a + rssBytes(p), 0);
    const mem1 = await redis.usedMemory();
    const indexed = await zcard();
    if (indexed !== TOTAL) throw new Error(`Redis indexes ${indexed} connections, expected ${TOTAL}`);
    const maxFds = Math.max(...nodePids.map(fds));
    const out = {
      connections: TOTAL,
      openSeconds: round(openSeconds),
      handshakesPerSecond: Math.round(TOTAL / openSeconds),
      gatewayRssMiB: round(rss1 / 2 ** 20),
      gatewayRssPerConnectionKiB: round((rss1 - rss0) / TOTAL / 1024),
      redisUsedMemoryMiB: round(mem1 / 2 ** 20),
      redisBytesPerConnection: Math.round((mem1 - mem0) / TOTAL),
      maxDescriptorsPerNode: maxFds,
      closes: [],
    };
    log(`opened ${TOTAL} in ${out.openSeconds} s; gateway RSS ${out.gatewayRssMiB} MiB (${out.gatewayRssPerConnectionKiB} KiB/conn), Redis ${out.redisUsedMemoryMiB} MiB (${out.redisBytesPerConnection} B/conn), ≤ ${maxFds} descriptors per node`);

    const A = setup.nodes[0];
    for (const p of ['p0', 'p1']) {
      const before = await zcard();
      const c0 = performance.now();
      const res = await call(A, 'DELETE', `/@principals/${p}`);
      const answerMs = performance.now() - c0;
      // The answer is recorded as it came (a 500 "not confirmed" is a figure here, not a crash).
      const body = res.status === 200 ? JSON.parse(res.text) : {};
      const reasons = {};
      for (const f of body.failed ?? []) reasons[f.reason ?? f.error ?? '?'] = (reasons[f.reason ?? f.error ?? '?'] ?? 0) + 1;
      const answer = res.status === 200 ? `200, closed ${body.closed}${body.failed?.length ? `, failed ${JSON.stringify(reasons)}` : ''}` : `${res.status} ${res.text.slice(0, 120)}`;
      // Unindexed everywhere: every owner ran its close through Redis (bounded wait).
      const deadline = Date.now() + 60_000;
      while ((await zcard()) > before - perPrincipal && Date.now() < deadline) await sleep(10);
      const unindexedMs = performance.now() - c0;
      const left = (await zcard()) - (before - perPrincipal);
      out.closes.push({ principal: p, status: res.status, answer, answerMs: Math.round(answerMs), unindexedMs: Math.round(unindexedMs), stillIndexed: left });
      log(`DELETE @principals/${p} on node 0 (${perPrincipal} connections over ${NODES} nodes): answered ${answer} in ${Math.round(answerMs)} ms; ${left > 0 ? `${left} still indexed after 60 s` : `gone from Redis in ${Math.round(unindexedMs)} ms`}`);
      await sleep(1000);
    }
    return {
      figures: out,
      ratios: [],
      notes: [
        `${TOTAL.toLocaleString('en')} idle connections over ${NODES} nodes (≤ ${maxFds} descriptors each) on one Redis, opened in ${out.openSeconds} s (${out.handshakesPerSecond}/s)`,
        `gateway RSS ${out.gatewayRssMiB} MiB in all, ${out.gatewayRssPerConnectionKiB} KiB per connection; Redis used_memory ${out.redisUsedMemoryMiB} MiB, ${out.redisBytesPerConnection} B per connection`,
        ...out.closes.map((c) => `DELETE @principals/${c.principal} (${perPrincipal.toLocaleString('en')} connections over ${NODES} nodes) sent to one node: answered ${c.answer} in ${c.answerMs} ms; ${c.stillIndexed > 0 ? `${c.stillIndexed} still indexed after 60 s` : `out of Redis in ${c.unindexedMs} ms`}`),
      ],
    };
  } finally {
    await lg.close();
    await setup.stop();
  }
}
