// Cluster mode on a Sentinel-managed Redis: a primary, a replica and three sentinels. When the
// primary is killed, the sentinels promote the replica and the nodes follow: live connections are
// never answered 410, calls that need Redis answer 503 meanwhile, and cross-node calls work again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient, sleep, until, untilAsync } from '../../helpers/client.js';
import { startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import type { GatewayProcess } from '../../helpers/process.js';
import { auditRedis } from '../../helpers/redis-audit.js';
import { startRedis, startSentinel, type RedisServer, type SentinelServer } from '../../helpers/redis-server.js';
import { call } from '../../helpers/signed.js';

const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;
const NAME = 'sbmaster';

describe('cluster: Sentinel failover', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let sentinels: SentinelServer[] = [];
  let rec: EventRecorder;
  let cluster: ProcessCluster;
  let tags = 0;

  async function connect(node: GatewayProcess): Promise<{ client: TestClient; id: string }> {
    const tag = `s${++tags}`;
    const client = await TestClient.connect(`${node.url}?tag=${tag}`);
    return { client, id: await rec.idOf(tag) };
  }

  before(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    await untilAsync(async () => (await replica.command('INFO', 'replication')).includes('master_link_status:up'), 'replica in sync', 20_000);
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel({ name: NAME, primaryPort: primary.port, quorum: 2 }));
    // A failover needs the sentinels to know the replica and each other (hello messages every 2 s).
    await untilAsync(async () => (await sentinels[0]!.command('SENTINEL', 'CKQUORUM', NAME)).startsWith('+OK 3 usable'), 'sentinels see each other', 20_000);
    await untilAsync(async () => (await sentinels[0]!.command('SENTINEL', 'REPLICAS', NAME)).includes(String(replica.port)), 'sentinels see the replica', 20_000);
    rec = await startEventRecorder();
    cluster = await startProcessCluster({
      size: 2,
      redis: { sentinel: { name: NAME, nodes: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })) } },
      config: { routes: rec.routes() as any },
    });
  });

  after(async () => {
    await cluster?.close();
    await rec?.close();
    for (const s of sentinels) await s.stop();
    await replica?.stop();
    await primary?.stop();
  });

  it('primary killed: never 410 for a live connection, 503 while failing over, cross-node calls answer 200 again, audit clean', async () => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const a = await connect(A);
    const b = await connect(B);
    assert.equal((await call(target(B), 'POST', `/@connections/${a.id}`, 'before')).status, 200);
    assert.equal((await a.client.next()).text, 'before');

    await primary.kill('SIGKILL');
    const killedAt = Date.now();
    const statuses = new Set<number>();
    // Both directions until each answers 200: meanwhile only 503 (nothing attempted).
    for (const [from, to] of [[B, a], [A, b]] as const) {
      for (;;) {
        const res = await call(target(from), 'POST', `/@connections/${to.id}`, 'after');
        statuses.add(res.status);
        assert.notEqual(res.status, 410, 'a live connection is never 410 during a failover');
        if (res.status === 200) break;
        assert.equal(res.status, 503, `503 while failing over, got ${res.status}`);
        assert.ok(Date.now() - killedAt < 20_000, 'cross-node calls did not come back');
        await sleep(100);
      }
      assert.equal((await to.client.next()).text, 'after');
    }
    assert.ok(statuses.has(503), 'the failover was noticed (503 meanwhile)');
    // The replica is the primary now, and the nodes' index is whole there.
    assert.match(await replica.command('ROLE'), /master/);
    for (const c of [a, b]) assert.equal(c.client.ws.readyState, 1);
    assert.equal(rec.of('$disconnect').length, 0, 'nobody was disconnected by the failover');
    const listed = (await call(target(A), 'GET', '/@connections')).json().items.map((i: any) => i.connectionId).sort();
    assert.deepEqual(listed, [a.id, b.id].sort());
    await untilAsync(async () => (await auditRedis(replica.url, { apiId: 'switchboard' })).length === 0, 'audit clean on the new primary', 10_000);
    // New clients are accepted and reachable from the other node.
    const fresh = await connect(A);
    assert.equal((await call(target(B), 'POST', `/@connections/${fresh.id}`, 'new')).status, 200);
    assert.equal((await fresh.client.next()).text, 'new');
    for (const c of [a, b, fresh]) c.client.close();
    await until(() => rec.of('$disconnect').length === 3, '$disconnect of each', 10_000);
  });
});
