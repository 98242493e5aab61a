// What a cluster node tells Prometheus on its admin listener: bus and registry latency by
// operation and outcome, whether Redis is there (with /ready following it), and the node-life
// counters (reaped nodes, $disconnects run for them, stale requests, resubscriptions).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient, sleep, untilAsync } from '../../helpers/client.js';
import { FAST_CLUSTER, startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import { Scrape } from '../../helpers/metrics.js';
import type { GatewayProcess } from '../../helpers/process.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { encodeFrame, FrameType } from '../../../src/cluster/frame.js';
import { StageKeys } from '../../../src/cluster/keys.js';
import { createClient } from 'redis';
import { call } from '../../helpers/signed.js';

const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;
const TOKEN = 'cluster-metrics-token-0123456789';

/** The admin URL a node printed at start (admin port 0: a free one). */
function adminUrl(n: GatewayProcess): string {
  const m = /admin:\s+(http:\/\/\S+)/.exec(n.stdout());
  assert.ok(m, `no admin URL in the startup summary: ${n.stdout()}`);
  return m[1]!;
}
async function scrape(n: GatewayProcess): Promise<Scrape> {
  const get = () => fetch(`${adminUrl(n)}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  // Once more on a network error: a kept-alive socket can meet the server's keep-alive timeout
  // (5 s idle) just as it is reused, which fetch reports as "fetch failed".
  const res = await get().catch(get);
  assert.equal(res.status, 200);
  return new Scrape(await res.text());
}
const ready = async (n: GatewayProcess) => (await fetch(`${adminUrl(n)}/ready`)).status;
const count = (s: Scrape, name: string, labels: Record<string, string>) => s.get(`${name}_count`, labels);

describe('cluster: metrics and readiness on the admin listener', () => {
  let redis: RedisServer;
  let rec: EventRecorder;
  let cluster: ProcessCluster;
  let tags = 0;

  async function connect(node: GatewayProcess, query = ''): Promise<{ client: TestClient; id: string }> {
    const tag = `m${++tags}`;
    const client = await TestClient.connect(`${node.url}?tag=${tag}${query ? `&${query}` : ''}`);
    return { client, id: await rec.idOf(tag) };
  }

  before(async () => {
    redis = await startRedis();
    rec = await startEventRecorder();
    cluster = await startProcessCluster({ size: 2, redisUrl: redis.url, config: { routes: rec.routes() as any, admin: { port: 0, token: TOKEN } } as any });
  });
  after(async () => {
    await cluster?.close();
    await rec?.close();
    await redis?.stop();
  });

  it('bus and registry latency move with cross-node traffic, by operation and outcome', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const before = await scrape(B);
    assert.equal(before.get('switchboard_redis_available'), 1);
    const a = await connect(A, 'user=alice');
    assert.equal((await call(target(B), 'POST', `/@connections/${a.id}`, 'x')).status, 200);
    assert.equal((await call(target(B), 'GET', `/@connections/${a.id}`)).status, 200);
    assert.equal((await call(target(B), 'PUT', `/@groups/g/connections/${a.id}`)).status, 204);
    assert.equal((await call(target(B), 'POST', '/@principals/alice', 'y')).status, 200);
    assert.equal((await call(target(B), 'GET', '/@connections')).status, 200);
    a.client.close();
    await untilAsync(async () => (await call(target(B), 'POST', `/@connections/${a.id}`, 'z')).status === 410, 'closed connection is gone', 10_000);

    const s = await scrape(B);
    const moved = (op: string, outcome: string) => count(s, 'switchboard_bus_request_latency_ms', { operation: op, outcome }) - count(before, 'switchboard_bus_request_latency_ms', { operation: op, outcome });
    assert.ok(moved('send', 'ok') >= 1, 'send ok');
    assert.ok(moved('info', 'ok') >= 1, 'info ok');
    assert.ok(moved('join', 'ok') >= 1, 'join ok');
    assert.ok(moved('fanOut', 'ok') >= 1, 'fanOut ok');
    assert.ok(moved('send', 'gone') >= 1, 'send gone');
    assert.ok(count(s, 'switchboard_registry_latency_ms', { operation: 'list', outcome: 'ok' }) > count(before, 'switchboard_registry_latency_ms', { operation: 'list', outcome: 'ok' }));
    // The owner wrote the record (add) and removed it (remove). The 410 can come from the owner
    // (the socket is gone) before its removal from Redis has been answered: wait for it.
    await untilAsync(async () => count(await scrape(A), 'switchboard_registry_latency_ms', { operation: 'remove', outcome: 'ok' }) >= 1, 'the owner\'s registry remove', 10_000);
    assert.ok(count(await scrape(A), 'switchboard_registry_latency_ms', { operation: 'add', outcome: 'ok' }) >= 1);
    // Low cardinality: no connection id ever appears in a label.
    assert.ok(!s.text.includes(a.id));
  });

  it('subscribers killed: each node counts one restored subscription', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const before = await Promise.all([A, B].map(async (n) => (await scrape(n)).get('switchboard_cluster_resubscribes_total')));
    await redis.killSubscribers();
    for (const [i, n] of [A, B].entries()) {
      await untilAsync(async () => (await scrape(n)).get('switchboard_cluster_resubscribes_total') > before[i]!, 'resubscribe counted', FAST_CLUSTER.heartbeatMs * 3 + 3000);
    }
  });

  it('a bus request that arrives after its deadline (it sat in a stalled Redis) is dropped and counted as stale', async () => {
    const [A] = cluster.nodes as [GatewayProcess];
    const a = await connect(A);
    const before = (await scrape(A)).get('switchboard_cluster_stale_requests_total');
    // What a request published before a Redis stall looks like when it finally arrives: a
    // timestamp older than requestTimeoutMs, on A's command channel.
    const keys = new StageKeys('sb', 'switchboard', 'dev');
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const ids = (await c.sendCommand<string[]>(['ZRANGE', keys.nodes, '0', '-1'])).map(String);
      let idOfA = '';
      for (const id of ids) if (String(await c.sendCommand(['HGET', keys.info(id), 'pid'])) === String(A.pid)) idOfA = id;
      assert.ok(idOfA, 'A is in the nodes table');
      const frame = encodeFrame(FrameType.SEND, { rid: 1, from: 'test', ts: Date.now() - 10 * FAST_CLUSTER.requestTimeoutMs, id: a.id }, 'late');
      assert.equal(Number(await c.sendCommand(['PUBLISH', keys.channel(idOfA), frame])), 1);
    } finally {
      await c.close();
    }
    await untilAsync(async () => (await scrape(A)).get('switchboard_cluster_stale_requests_total') === before + 1, 'stale request counted', 10_000);
    await a.client.expectSilence(200);
    a.client.close();
  });

  it('Redis killed: redis_available 0 and /ready 503 on every node, back to 1 and 200 when it returns', async () => {
    const nodes = cluster.nodes.slice(0, 2);
    for (const n of nodes) assert.equal(await ready(n), 200);
    await redis.kill('SIGKILL');
    for (const n of nodes) {
      await untilAsync(async () => (await scrape(n)).get('switchboard_redis_available') === 0, 'redis_available 0', 10_000);
      assert.equal(await ready(n), 503);
    }
    await redis.restart();
    for (const n of nodes) {
      await untilAsync(async () => (await scrape(n)).get('switchboard_redis_available') === 1, 'redis_available 1', 10_000);
      await untilAsync(async () => (await ready(n)) === 200, '/ready 200', 10_000);
    }
  });

  it('a node killed: the survivors count one reaped node and one $disconnect per lost connection', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const C = await cluster.add();
    const lost = [await connect(C), await connect(C)];
    const total = async (name: string) => (await scrape(A)).get(name) + (await scrape(B)).get(name);
    const reaped0 = await total('switchboard_cluster_nodes_reaped_total');
    const ran0 = await total('switchboard_cluster_dead_disconnects_total');
    cluster.signal(2, 'SIGKILL');
    await C.exited;
    // The survivors came back from the previous test's Redis restart moments ago: they judge no peer
    // dead before their reaper grace (2 × leaseMs of steady connection), then the lease must run out.
    // An eventual outcome, not a timing promise (node-death tests hold the times): on a loaded
    // machine a survivor's heartbeat can run late, its Redis link is marked down, and its grace
    // starts over before it may judge anyone.
    const bound = 3 * FAST_CLUSTER.leaseMs + FAST_CLUSTER.reaperIntervalMs + 15_000;
    await untilAsync(async () => (await total('switchboard_cluster_nodes_reaped_total')) === reaped0 + 1, 'one node reaped', bound);
    await untilAsync(async () => (await total('switchboard_cluster_dead_disconnects_total')) === ran0 + lost.length, 'a $disconnect per lost connection', bound);
    assert.deepEqual(lost.map((l) => rec.of('$disconnect').filter((e) => e.connectionId === l.id).map((e) => e.disconnectStatusCode)), [[1006], [1006]]);
  });
});
