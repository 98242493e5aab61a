// Redis goes away (killed, paused, flushed, its subscriber connections killed) and comes back:
// local traffic keeps working, calls that need Redis answer 503 at once, nobody is reaped, and on
// recovery the index is rebuilt from the nodes.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { FAST_CLUSTER, startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import type { GatewayProcess } from '../../helpers/process.js';
import { auditRedis } from '../../helpers/redis-audit.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { call } from '../../helpers/signed.js';

const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;

/** Repeats a call while it answers 503 (a node still reconnecting), for up to 5 s; any other answer is returned. */
async function answered(make: () => Promise<{ status: number }>): Promise<{ status: number }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const res = await make();
    if (res.status !== 503 || Date.now() > deadline) return res;
    await sleep(50);
  }
}

describe('cluster: Redis outages', () => {
  let redis: RedisServer | undefined;
  let rec: EventRecorder | undefined;
  let cluster: ProcessCluster | undefined;
  let tags = 0;

  async function setup(opts: { appendonly?: boolean } = {}) {
    redis = await startRedis(opts);
    rec = await startEventRecorder();
    cluster = await startProcessCluster({ size: 2, redisUrl: redis.url, config: { routes: rec.routes() as any } });
    return { redis, rec, cluster, A: cluster.nodes[0]!, B: cluster.nodes[1]! };
  }
  async function connect(node: GatewayProcess, query = ''): Promise<{ client: TestClient; id: string }> {
    const tag = `o${++tags}`;
    const client = await TestClient.connect(`${node.url}?tag=${tag}${query ? `&${query}` : ''}`);
    return { client, id: await rec!.idOf(tag) };
  }

  afterEach(async () => {
    await cluster?.close();
    await rec?.close();
    await redis?.stop();
    cluster = rec = redis = undefined;
  });

  for (const appendonly of [false, true]) {
    it(`Redis killed and restarted (${appendonly ? 'with' : 'without'} its data): local work goes on, remote calls 503 at once, then everything is rebuilt`, async (t) => {
      const { redis, rec, A, B } = await setup({ appendonly });
      const a1 = await connect(A, 'user=alice&group=g');
      const b1 = await connect(B, 'user=alice');
      const goner = await connect(A, 'group=g');
      const firstPage = (await call(target(A), 'GET', '/@connections?limit=1')).json();
      assert.ok(firstPage.nextToken, 'a cursor from before the outage');

      await redis.kill('SIGKILL');
      await sleep(FAST_CLUSTER.heartbeatMs * 3);
      // Local traffic and calls for local connections keep working.
      assert.equal((await a1.client.request('local')).text, 'echo: local');
      assert.equal((await call(target(A), 'POST', `/@connections/${a1.id}`, 'own')).status, 200);
      assert.equal((await a1.client.next()).text, 'own');
      // Calls that need Redis answer 503 at once.
      const t0 = Date.now();
      assert.equal((await call(target(B), 'POST', `/@connections/${a1.id}`, 'remote')).status, 503);
      assert.ok(Date.now() - t0 < FAST_CLUSTER.requestTimeoutMs / 2, 'answered at once, not after a timeout');
      t.diagnostic(`remote POST during the outage: 503 in ${Date.now() - t0} ms`);
      assert.equal((await call(target(A), 'POST', '/@principals/alice', 'fan')).status, 503);
      assert.equal((await call(target(B), 'GET', '/@connections')).status, 503);
      await a1.client.expectSilence(100); // nothing of the refused fan-out was delivered
      await assert.rejects(TestClient.connect(A.url), (err: any) => err.status === 503);
      // A connection closed during the outage runs its $disconnect once.
      goner.client.close();
      await until(() => rec.of('$disconnect').some((e) => e.connectionId === goner.id), '$disconnect during the outage', 10_000);

      await redis.restart();
      const restartedAt = Date.now();
      // Recovery: within 2 s listing returns exactly the open connections, with the old cursor still valid.
      const deadline = Date.now() + 3000;
      let ids: string[] = [];
      for (;;) {
        const res = await call(target(B), 'GET', '/@connections');
        if (res.status === 200) {
          ids = res.json().items.map((i: any) => i.connectionId).sort();
          if (ids.length === 2) break;
        } else assert.equal(res.status, 503, `lookups answer 503 while rebuilding, got ${res.status}`);
        assert.ok(Date.now() < deadline, `not rebuilt in time: ${ids}`);
        await sleep(50);
      }
      assert.deepEqual(ids, [a1.id, b1.id].sort());
      t.diagnostic(`listing complete again ${Date.now() - restartedAt} ms after Redis came back`);
      // Each node reconnects on its own: A may still answer 503 (never anything else) for a moment.
      assert.equal((await answered(() => call(target(A), 'GET', `/@connections?nextToken=${encodeURIComponent(firstPage.nextToken)}`))).status, 200);
      const alice = (await call(target(B), 'GET', '/@principals/alice/connections')).json().items.map((i: any) => i.connectionId).sort();
      assert.deepEqual(alice, [a1.id, b1.id].sort());
      assert.deepEqual((await call(target(B), 'GET', '/@groups/g/connections')).json().items.map((i: any) => i.connectionId), [a1.id]);
      assert.equal((await answered(() => call(target(B), 'POST', `/@connections/${a1.id}`, 'back'))).status, 200);
      assert.equal((await a1.client.next()).text, 'back');
      // No live connection was disconnected by the outage.
      for (const c of [a1, b1]) assert.equal(rec.of('$disconnect').filter((e) => e.connectionId === c.id).length, 0);
      assert.equal((await TestClient.connect(A.url)).ws.readyState, 1);
      assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
    });
  }

  it('Redis down longer than deadAfterMs: nobody is reaped after recovery', async () => {
    const { redis, rec, A, B } = await setup();
    const a1 = await connect(A);
    await redis.kill('SIGKILL');
    await sleep(FAST_CLUSTER.deadAfterMs + 500);
    await redis.restart();
    const deadline = Date.now() + 5000;
    for (;;) {
      const res = await call(target(B), 'POST', `/@connections/${a1.id}`, 'alive');
      assert.notEqual(res.status, 410, 'a live connection is never 410 after an outage');
      if (res.status === 200) break;
      assert.ok(Date.now() < deadline, 'not recovered');
      await sleep(50);
    }
    assert.equal((await a1.client.next()).text, 'alive');
    await sleep(FAST_CLUSTER.leaseMs * 2);
    assert.equal(rec.of('$disconnect').length, 0);
    assert.equal(a1.client.ws.readyState, 1);
  });

  it('Redis paused: calls answer within the deadline instead of hanging, a POST made during the pause is not delivered late', async () => {
    const { redis, A, B } = await setup();
    const a1 = await connect(A);
    redis.pause();
    try {
      const t0 = Date.now();
      const res = await call(target(B), 'POST', `/@connections/${a1.id}`, 'during pause');
      assert.ok(Date.now() - t0 < FAST_CLUSTER.requestTimeoutMs + 1000, 'answered within the deadline');
      assert.ok(res.status === 503 || res.status === 500, `got ${res.status}`);
      await sleep(1000);
    } finally {
      redis.resume();
    }
    await a1.client.expectSilence(FAST_CLUSTER.requestTimeoutMs + 500);
    const deadline = Date.now() + 5000;
    for (;;) {
      const res = await call(target(B), 'POST', `/@connections/${a1.id}`, 'after');
      if (res.status === 200) break;
      assert.notEqual(res.status, 410);
      assert.ok(Date.now() < deadline, 'not recovered');
      await sleep(50);
    }
    assert.equal((await a1.client.next()).text, 'after');
  });

  it('subscriber connections killed: each node notices by its probe and resubscribes; meanwhile 503, never 410', async () => {
    const { redis, A, B } = await setup();
    const a1 = await connect(A);
    await redis.killSubscribers();
    const deadline = Date.now() + FAST_CLUSTER.heartbeatMs * 3 + 3000;
    for (;;) {
      const res = await call(target(B), 'POST', `/@connections/${a1.id}`, 'probe');
      assert.notEqual(res.status, 410);
      if (res.status === 200) break;
      assert.ok(Date.now() < deadline, 'subscription not restored');
      await sleep(50);
    }
    assert.equal((await a1.client.next()).text, 'probe');
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });
});
