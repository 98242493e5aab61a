import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, until, untilAsync } from '../helpers/client.js';
import { auditRedis } from '../helpers/redis-audit.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { StageKeys } from '../../src/cluster/keys.js';
import { FAST, startNode, type TestNode } from './harness.js';

/** A send's outcome, or the name of the error it threw (BusUnavailable → 503, BusUnconfirmed → 500). */
async function attempt(n: TestNode, id: string, data = 'x'): Promise<string> {
  try {
    return await n.services.bus.send(id, data, false);
  } catch (err) {
    return (err as Error).name;
  }
}

/** Polls sends until one answers `want`; returns every answer seen on the way. */
async function pollUntil(n: TestNode, id: string, want: string, timeoutMs: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await attempt(n, id);
    seen.push(r);
    if (r === want) return seen;
    if (Date.now() > deadline) throw new Error(`no "${want}" within ${timeoutMs} ms; saw ${[...new Set(seen)].join(', ')}`);
    await sleep(20);
  }
}

const nodes: TestNode[] = [];
async function node(url: string, id: string, prefix: string, o: Parameters<typeof startNode>[2] = {}): Promise<TestNode> {
  const n = await startNode(url, id, { keyPrefix: prefix, ...o });
  nodes.push(n);
  return n;
}

describe('cluster node life over a real Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const n of nodes) n.services.node.crash();
    await redis.stop();
  });

  it('a node that dies (its Redis connections drop) → 410 for its ids, indexes cleaned, $disconnect 1006 once each', async () => {
    const p = 'kill';
    const [a, b, c] = [await node(redis.url, 'A', p), await node(redis.url, 'B', p), await node(redis.url, 'C', p)];
    await a.hub.open('a1', { principal: 'alice', groups: ['g'] });
    await a.hub.open('a2', { principal: 'alice' });
    await b.hub.open('b1', { principal: 'alice', groups: ['g'] });
    assert.equal(await attempt(b, 'a1'), 'ok');
    a.services.node.crash();
    // A send that reaches Redis before Redis has seen A's subscriber go is published to it (one
    // receiver) and never answered: 500, "may have been delivered", which is the truth then. From
    // the moment Redis counts no subscriber on A's channel, every answer must be 503 until the 410.
    const channel = new StageKeys(p, 'api', 'dev').channel('A');
    await untilAsync(async () => /:0\s*$/.test(await redis.command('PUBSUB', 'NUMSUB', channel)), 'Redis sees A\'s subscriber gone', 5000);
    const seen = await pollUntil(b, 'a1', 'gone', FAST.leaseMs + FAST.reaperIntervalMs + 1000);
    assert.ok(!seen.includes('ok'), 'never delivered after the crash');
    assert.ok(seen.every((s) => s === 'gone' || s === 'BusUnavailable'), `only 503 before 410: ${seen.join(',')}`);
    await until(() => b.disconnects.length + c.disconnects.length >= 2, '$disconnect for both connections', 2 * FAST.leaseMs + 2000);
    await sleep(300);
    const ran = [...b.disconnects, ...c.disconnects];
    assert.deepEqual(ran.map((d) => d.rec.id).sort(), ['a1', 'a2'], 'once each');
    assert.ok(ran.every((d) => d.code === 1006 && d.rec.principalId === 'alice'));
    assert.deepEqual((await b.services.registry.list({ principal: 'alice', limit: 10 })).items.map((x) => x.record.id), ['b1']);
    assert.deepEqual((await b.services.registry.list({ group: 'g', limit: 10 })).items.map((x) => x.record.id), ['b1']);
    assert.ok((await redis.command('EXISTS', `${p}:{api/dev}:dead:A`)).startsWith(':1'), 'tombstone');
    const fan = await b.services.bus.fanOut({ principal: 'alice' }, 'after', false);
    assert.deepEqual(fan, { sent: 1, failed: [] });
    assert.deepEqual(await auditRedis(redis.url, { keyPrefix: p }), []);
  });

  it('a frozen node (lease expired, still subscribed) → 503 until deadAfterMs, then 410; when it wakes it closes its clients without $disconnect and rejoins', async () => {
    const p = 'freeze';
    const [a, b] = [await node(redis.url, 'A', p), await node(redis.url, 'B', p)];
    await a.hub.open('a1');
    a.services.node.heartbeatPaused = true;
    const frozenAt = Date.now();
    await sleep(FAST.leaseMs + 2 * FAST.heartbeatMs);
    assert.equal(await attempt(b, 'a1'), 'BusUnavailable', 'suspected: not attempted');
    const seen = await pollUntil(b, 'a1', 'gone', FAST.deadAfterMs + 1500);
    assert.ok(Date.now() - frozenAt >= FAST.deadAfterMs, '410 only after deadAfterMs');
    assert.ok(!seen.includes('ok'));
    await until(() => b.disconnects.length === 1, '$disconnect by the survivor', 3000);
    a.services.node.heartbeatPaused = false;
    await until(() => a.hub.evicted.length === 1, 'the woken node closes its clients', 3000);
    assert.deepEqual(a.hub.evicted, [{ id: 'a1', code: 1001, runDisconnect: false }]);
    await until(() => a.services.available() && a.services.nodeId !== 'A', 'rejoined under a new id', 3000);
    await a.hub.open('a3');
    assert.equal(await attempt(b, 'a3'), 'ok');
    assert.equal(a.disconnects.length + b.disconnects.length, 1, 'no second $disconnect');
    assert.deepEqual(await auditRedis(redis.url, { keyPrefix: p }), []);
  });

  it('a subscriber killed by Redis is restored (probe); calls meanwhile answer 503, never 410', async () => {
    const p = 'probe';
    const [a, b] = [await node(redis.url, 'A', p), await node(redis.url, 'B', p)];
    await a.hub.open('a1');
    await redis.killSubscribers();
    const seen = await pollUntil(b, 'a1', 'ok', 3000);
    assert.ok(!seen.includes('gone'), seen.join(','));
    assert.equal(await attempt(a, 'a1'), 'ok');
  });

  it('a reaper that dies mid-reap: another finishes after the lock expires and takes over its $disconnect entries', async () => {
    const p = 'reaper';
    const a = await node(redis.url, 'A', p);
    let hung = 0;
    let b!: TestNode;
    b = await node(redis.url, 'B', p, {
      tuning: {
        reapBatch: 2,
        afterReapBatch: async () => {
          await until(() => hung > 0, 'B started a $disconnect', 3000);
          b.services.node.crash();
          await new Promise(() => {}); // dies mid-reap
        },
      },
    });
    (b.services.worker as unknown as { o: { run: unknown } }).o.run = () => {
      hung++;
      return new Promise(() => {});
    };
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5'];
    for (const id of ids) await a.hub.open(id, { principal: 'dave' });
    await sleep(2 * FAST.leaseMs); // B's reaper grace
    a.services.node.crash();
    await until(() => hung > 0 && !b.services.available(), 'B dies holding the lock and pending entries', 5000);
    const c = await node(redis.url, 'C', p);
    await until(() => new Set(c.disconnects.map((d) => d.rec.id)).size === 5, 'C ran $disconnect for all five', 8000);
    assert.ok(c.disconnects.length <= 5 + 2, 'duplicates only from the batch in flight');
    assert.deepEqual((await c.services.registry.list({ principal: 'dave', limit: 10 })).items, []);
    assert.equal(await attempt(c, 'a5'), 'gone');
    assert.equal((await redis.command('XLEN', `${p}:{api/dev}:disconnects`)).trim(), ':0');
    assert.deepEqual(await auditRedis(redis.url, { keyPrefix: p }), []);
  });
});

describe('cluster across Redis outages', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const n of nodes) n.services.node.crash();
    await redis.stop();
  });

  it('Redis paused: calls answer 503 within the deadline, the request is not delivered late, and all recovers', async () => {
    const p = 'pause';
    const [a, b] = [await node(redis.url, 'A', p), await node(redis.url, 'B', p)];
    await a.hub.open('a1');
    redis.pause();
    const t0 = Date.now();
    const r = await attempt(b, 'a1', 'late?');
    const took = Date.now() - t0;
    assert.ok(r === 'BusUnavailable' || r === 'BusUnconfirmed', r);
    assert.ok(took < FAST.requestTimeoutMs * 4, `answered in ${took} ms instead of hanging`);
    assert.equal(await attempt(a, 'a1', 'local'), 'ok', 'local calls need no Redis');
    await sleep(1500);
    redis.resume();
    await pollUntil(b, 'a1', 'ok', 5000);
    await sleep(200);
    assert.ok(!a.hub.received('a1').includes('late?'), 'no late delivery');
    assert.deepEqual(b.disconnects, []);
  });

  it('Redis restarted without its data: lookups answer 503 (never 410) until every node re-projected; seq order and cursors survive', async () => {
    const p = 'regen';
    const [a, b] = [await node(redis.url, 'A', p), await node(redis.url, 'B', p)];
    for (let i = 0; i < 6; i++) await (i % 2 ? b : a).hub.open(`x${i}`, { principal: 'eve', groups: ['g'] });
    const page1 = await b.services.registry.list({ limit: 3 });
    assert.ok(page1.cursor);
    await redis.restart();
    const seen = await pollUntil(b, 'x0', 'ok', 8000);
    assert.ok(!seen.includes('gone'), seen.join(','));
    await until(() => a.services.available() && b.services.available(), 'both nodes available', 5000);
    const rest = await b.services.registry.list({ limit: 10, cursor: page1.cursor });
    assert.deepEqual([...page1.items, ...rest.items].map((x) => x.record.id), ['x0', 'x1', 'x2', 'x3', 'x4', 'x5']);
    assert.equal((await a.services.registry.list({ group: 'g', limit: 10 })).items.length, 6);
    const fan = await a.services.bus.fanOut({ principal: 'eve' }, 'back', false);
    assert.deepEqual(fan, { sent: 6, failed: [] });
    assert.deepEqual([...a.disconnects, ...b.disconnects], [], 'nobody reaped');
    assert.deepEqual(await auditRedis(redis.url, { keyPrefix: p }), []);
  });
});
