// Nodes die in the three ways processes die: killed (SIGKILL), frozen (SIGSTOP) and stopped
// (SIGTERM). Survivors answer for the dead node's connections, clean its index and run each lost
// connection's $disconnect exactly once.
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { FAST_CLUSTER, startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import type { GatewayProcess } from '../../helpers/process.js';
import { auditRedis } from '../../helpers/redis-audit.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { call } from '../../helpers/signed.js';

const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;

describe('cluster: node death', () => {
  let redis: RedisServer;
  let rec: EventRecorder;
  let cluster: ProcessCluster;
  let tags = 0;

  async function connect(node: GatewayProcess, query = ''): Promise<{ client: TestClient; id: string }> {
    const tag = `d${++tags}`;
    const client = await TestClient.connect(`${node.url}?tag=${tag}${query ? `&${query}` : ''}`);
    return { client, id: await rec.idOf(tag) };
  }
  const disconnectsOf = (id: string) => rec.of('$disconnect').filter((e) => e.connectionId === id);

  beforeEach(async () => {
    redis = await startRedis();
    rec = await startEventRecorder();
    cluster = await startProcessCluster({ size: 3, redisUrl: redis.url, config: { routes: rec.routes() as any } });
  });
  afterEach(async () => {
    await cluster?.close();
    await rec?.close();
    await redis?.stop();
  });
  after(() => {});

  it('SIGKILL: never 200 after the kill, 410 within lease + reaper + 1 s, indexes clean, $disconnect 1006 once by a survivor', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const lost = [await connect(A, 'user=alice&group=g'), await connect(A, 'user=alice&group=g')];
    const kept = await connect(B, 'user=alice&group=g');
    cluster.signal(0, 'SIGKILL');
    await A.exited;
    const killedAt = Date.now();
    const bound = FAST_CLUSTER.leaseMs + FAST_CLUSTER.reaperIntervalMs + 1000;
    let goneAt = 0;
    while (!goneAt) {
      const res = await call(target(B), 'POST', `/@connections/${lost[0]!.id}`, 'x');
      assert.notEqual(res.status, 200, 'a killed node’s connection never answers 200');
      if (res.status === 410) goneAt = Date.now();
      else assert.equal(res.status, 503, `only 503 before the lease runs out, got ${res.status}`);
      assert.ok(Date.now() - killedAt < bound + 2000, 'no 410 within the bound');
      await sleep(25);
    }
    assert.ok(goneAt - killedAt <= bound, `410 after ${goneAt - killedAt} ms (bound ${bound})`);
    await until(() => lost.every((l) => disconnectsOf(l.id).length === 1), '$disconnect of each lost connection', bound + 2000);
    for (const l of lost) {
      const [d] = disconnectsOf(l.id);
      assert.equal(d!.disconnectStatusCode, 1006);
    }
    const principal = (await call(target(B), 'GET', '/@principals/alice/connections')).json();
    assert.deepEqual(principal.items.map((i: any) => i.connectionId), [kept.id]);
    const group = (await call(target(B), 'GET', '/@groups/g/connections')).json();
    assert.deepEqual(group.items.map((i: any) => i.connectionId), [kept.id]);
    await sleep(300);
    for (const l of lost) assert.equal(disconnectsOf(l.id).length, 1, 'exactly once');
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('SIGKILL during a group send: the dead node\'s members are named unknown, also when it is reaped before the send gives up on it', async () => {
    // A request deadline longer than lease + reaper: the send is still waiting for A when A is reaped.
    await cluster.close();
    cluster = await startProcessCluster({ size: 3, redisUrl: redis.url, config: { routes: rec.routes() as any }, cluster: { requestTimeoutMs: 4000 } });
    const [A, B, C] = cluster.nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const onA = [await connect(A, 'group=gk'), await connect(A, 'group=gk')];
    const onB = await connect(B, 'group=gk');
    const onC = await connect(C, 'group=gk');
    cluster.signal(0, 'SIGKILL');
    await A.exited;
    // Sent at once: A's lease still runs, so the send waits for A, which is reaped meanwhile.
    const res = await call(target(B), 'POST', '/@groups/gk', 'to the group');
    assert.equal(res.status, 200);
    const body = res.json() as { sent: number; failed: Array<{ connectionId: string; reason: string }> };
    assert.equal(body.sent, 2);
    assert.deepEqual(body.failed.map((f) => f.connectionId).sort(), onA.map((a) => a.id).sort());
    for (const f of body.failed) assert.equal(f.reason, 'unknown', 'A may have delivered before it died');
    assert.equal((await onB.client.next()).text, 'to the group');
    assert.equal((await onC.client.next()).text, 'to the group');
    await until(() => onA.every((l) => disconnectsOf(l.id).length === 1), '$disconnect of each lost connection', 5000);
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('SIGSTOP: 503 within the request deadline and never 410 before deadAfterMs; on SIGCONT the node closes its clients without a second $disconnect', async () => {
    const [A, B, C] = cluster.nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const frozen = await connect(A);
    cluster.signal(0, 'SIGSTOP');
    const stoppedAt = Date.now();
    let goneAt = 0;
    while (!goneAt) {
      const t0 = Date.now();
      const res = await call(target(B), 'POST', `/@connections/${frozen.id}`, 'x');
      assert.ok(Date.now() - t0 < FAST_CLUSTER.requestTimeoutMs + 1000, 'a call to a frozen node does not hang');
      if (res.status === 410) goneAt = Date.now();
      else assert.ok(res.status === 503 || res.status === 500, `503 (or 500 when in flight) while frozen, got ${res.status}`);
      await sleep(50);
    }
    assert.ok(goneAt - stoppedAt >= FAST_CLUSTER.leaseMs, 'not judged dead before its lease ran out');
    assert.ok(goneAt - stoppedAt <= FAST_CLUSTER.deadAfterMs + FAST_CLUSTER.leaseMs + 1000, `410 after ${goneAt - stoppedAt} ms`);
    await until(() => disconnectsOf(frozen.id).length === 1, 'survivor ran $disconnect', 10_000);
    cluster.signal(0, 'SIGCONT');
    const closed = await frozen.client.waitClose(3000);
    assert.equal(closed.code, 1001);
    await sleep(500);
    assert.equal(disconnectsOf(frozen.id).length, 1, 'no second $disconnect from the woken node');
    // It rejoined and serves new clients, reachable from the others.
    const fresh = await connect(A);
    const res = await call(target(C), 'POST', `/@connections/${fresh.id}`, 'after wake');
    assert.equal(res.status, 200);
    assert.equal((await fresh.client.next()).text, 'after wake');
    fresh.client.close();
    await until(() => disconnectsOf(fresh.id).length === 1, 'fresh $disconnect', 10_000);
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('SIGTERM: clients get 1001, $disconnect once each by the node itself, the node leaves at once, broadcasts do not wait', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const onA = [await connect(A), await connect(A)];
    const onB = await connect(B);
    const stopping = A.stop(10_000);
    for (const c of onA) assert.equal((await c.client.waitClose(5000)).code, 1001);
    const t0 = Date.now();
    const during = await call(target(B), 'POST', '/@broadcast', 'during');
    assert.equal(during.status, 200);
    assert.ok(Date.now() - t0 < FAST_CLUSTER.requestTimeoutMs, 'broadcast answered without waiting for the draining node');
    assert.equal(await stopping, 0);
    const t1 = Date.now();
    const res = await call(target(B), 'POST', '/@broadcast', 'after');
    assert.ok(Date.now() - t1 < FAST_CLUSTER.requestTimeoutMs, 'broadcast after the drain does not wait for a timeout');
    assert.equal(res.json().sent, 1);
    assert.equal(res.json().failed.length, 0);
    for (const c of onA) assert.equal(disconnectsOf(c.id).length, 1);
    for (const c of onA) assert.equal((await call(target(B), 'POST', `/@connections/${c.id}`, 'x')).status, 410);
    onB.client.close();
    await until(() => disconnectsOf(onB.id).length === 1, 'B $disconnect', 10_000);
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });
});
