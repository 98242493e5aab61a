// A cluster of real `switchboard start` processes on one real redis-server: every management call
// made on any node acts on connections held by any node, exactly as on one node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import { CREDS } from '../../helpers/gateway.js';
import { switchboardArgv, type GatewayProcess } from '../../helpers/process.js';
import { auditRedis } from '../../helpers/redis-audit.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { call } from '../../helpers/signed.js';

/** What `call()` needs of a gateway: its port and stage. */
const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;
const sdk = (n: GatewayProcess) => new ApiGatewayManagementApiClient({ endpoint: n.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });

describe('cluster: management calls across three nodes', () => {
  let redis: RedisServer;
  let rec: EventRecorder;
  let cluster: ProcessCluster;
  let A: GatewayProcess, B: GatewayProcess, C: GatewayProcess;
  let tags = 0;

  /** Connects a client to `node` and learns its connection id from the recorder. */
  async function connect(node: GatewayProcess, query = ''): Promise<{ client: TestClient; id: string }> {
    const tag = `t${++tags}`;
    const client = await TestClient.connect(`${node.url}?tag=${tag}${query ? `&${query}` : ''}`);
    return { client, id: await rec.idOf(tag) };
  }

  before(async () => {
    redis = await startRedis();
    rec = await startEventRecorder();
    cluster = await startProcessCluster({ size: 3, redisUrl: redis.url, config: { routes: rec.routes() as any } });
    [A, B, C] = cluster.nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
  });

  after(async () => {
    await cluster?.close();
    await rec?.close();
    await redis?.stop();
  });

  it('POST, GET and DELETE made on other nodes reach a client on A; then 410 on every node and one $disconnect', async () => {
    const { client, id } = await connect(A);
    await sdk(B).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('text from B') }));
    const m1 = await client.next();
    assert.equal(m1.text, 'text from B');
    assert.equal(m1.binary, false);
    await sdk(C).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from([0xff, 0x00, 0xfe]) }));
    const m2 = await client.next();
    assert.equal(m2.binary, true);
    assert.deepEqual([...m2.data], [0xff, 0x00, 0xfe]);
    await client.expectSilence(100); // each delivered once

    const before = await sdk(C).send(new GetConnectionCommand({ ConnectionId: id }));
    assert.equal(before.Identity?.SourceIp, '127.0.0.1');
    await sleep(20);
    assert.equal((await client.request('hi')).text, 'echo: hi');
    const afterMsg = await sdk(B).send(new GetConnectionCommand({ ConnectionId: id }));
    assert.ok(afterMsg.LastActiveAt!.getTime() > before.LastActiveAt!.getTime(), 'LastActiveAt moves with a client message, seen from another node');

    const del = await call(target(C), 'DELETE', `/@connections/${id}?code=4001&reason=${encodeURIComponent('bye from C')}`);
    assert.equal(del.status, 204);
    assert.deepEqual(await client.waitClose(), { code: 4001, reason: 'bye from C' });
    for (const n of [A, B, C]) {
      await assert.rejects(sdk(n).send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') })), GoneException);
    }
    await until(() => rec.of('$disconnect').filter((e) => e.connectionId === id).length === 1, '$disconnect', 10_000);
    await sleep(200);
    assert.equal(rec.of('$disconnect').filter((e) => e.connectionId === id).length, 1, '$disconnect exactly once');
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('closes one principal’s connections on all three nodes from B, leaving others alone', async () => {
    const alice = await Promise.all([connect(A, 'user=alice'), connect(B, 'user=alice'), connect(C, 'user=alice')]);
    const bob = await connect(A, 'user=bob');
    const res = await call(target(B), 'DELETE', `/@principals/alice?code=4001&reason=${encodeURIComponent('password changed')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { closed: 3 });
    for (const a of alice) assert.deepEqual(await a.client.waitClose(), { code: 4001, reason: 'password changed' });
    for (const n of [A, B, C]) assert.deepEqual((await call(target(n), 'GET', '/@principals/alice/connections')).json(), { items: [] });
    assert.equal((await bob.client.request('still here')).text, 'echo: still here');
    await until(() => alice.every((a) => rec.of('$disconnect').some((e) => e.connectionId === a.id)), 'three $disconnects', 10_000);
    bob.client.close();
    await until(() => rec.of('$disconnect').some((e) => e.connectionId === bob.id), 'bob $disconnect', 10_000);
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('sends to a group spread over three nodes, honours exclude, joins through a non-owner node and closes the group', async () => {
    const members = [] as Array<{ client: TestClient; id: string }>;
    for (const n of [A, B, C, A, B, C]) members.push(await connect(n, 'group=room'));
    // A seventh joins through a node that does not hold it.
    const late = await connect(C);
    assert.equal((await call(target(A), 'PUT', `/@groups/room/connections/${late.id}`)).status, 204);
    members.push(late);
    const sent = await call(target(B), 'POST', `/@groups/room?exclude=${members[0]!.id}`, 'to the room');
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.json(), { sent: 6, failed: [] });
    for (const m of members.slice(1)) assert.equal((await m.client.next()).text, 'to the room');
    await members[0]!.client.expectSilence(100);
    const listed = await call(target(C), 'GET', '/@groups/room/connections');
    assert.deepEqual(new Set(listed.json().items.map((i: any) => i.connectionId)), new Set(members.map((m) => m.id)));
    const closed = await call(target(A), 'DELETE', '/@groups/room?code=4002&reason=done');
    assert.deepEqual(closed.json(), { closed: 7 });
    for (const m of members) assert.equal((await m.client.waitClose()).code, 4002);
    // Joining a closed connection is 410, wherever it is asked.
    assert.equal((await call(target(B), 'PUT', `/@groups/room/connections/${late.id}`)).status, 410);
    await until(() => members.every((m) => rec.of('$disconnect').some((e) => e.connectionId === m.id)), '$disconnects', 10_000);
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });

  it('broadcasts one copy to each of 90 clients over three nodes', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 90; i++) clients.push(await TestClient.connect(cluster.nodes[i % 3]!.url));
    const res = await call(target(C), 'POST', '/@broadcast', 'everyone');
    assert.deepEqual(res.json(), { sent: 90, failed: [] });
    for (const c of clients) assert.equal((await c.next()).text, 'everyone');
    await Promise.all(clients.map((c) => c.expectSilence(50)));
    for (const c of clients) c.close();
    await until(() => rec.of('$disconnect').length === rec.of('$connect').length, 'every $disconnect', 10_000);
  });

  it('GET @nodes on any node lists the three live nodes with their connection counts, and `switchboard nodes ls` prints them', async () => {
    const held = [await connect(A), await connect(A), await connect(C)];
    type Item = { nodeId: string; connections: number; state: string; self: boolean; pid: number };
    // Earlier tests' closes leave the index in the background: wait for the counts to settle.
    let items: Item[] = [];
    let byPid = new Map<number, Item>();
    const deadline = Date.now() + 5000;
    for (;;) {
      const res = await call(target(B), 'GET', '/@nodes');
      assert.equal(res.status, 200);
      items = res.json().items;
      byPid = new Map(items.map((n) => [n.pid, n]));
      if ([byPid.get(A.pid)?.connections, byPid.get(B.pid)?.connections, byPid.get(C.pid)?.connections].join() === '2,0,1') break;
      assert.ok(Date.now() < deadline, `counts did not settle: ${JSON.stringify(items)}`);
      await sleep(50);
    }
    assert.equal(items.length, 3);
    assert.ok(items.every((n) => n.state === 'alive'));
    assert.deepEqual(items.filter((n) => n.self).map((n) => n.pid), [B.pid]);
    const cli = spawnSync(process.execPath, switchboardArgv(['nodes', 'ls']), {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, SWITCHBOARD_ENDPOINT: C.managementEndpoint },
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    const lines = cli.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, cli.stdout);
    assert.ok(lines.some((l) => l.startsWith(`${byPid.get(A.pid)!.nodeId} `) && / 2 /.test(l)), cli.stdout);
    for (const h of held) h.client.close();
    await until(() => held.every((h) => rec.of('$disconnect').some((e) => e.connectionId === h.id)), '$disconnects', 10_000);
  });

  it('pages through connections on all nodes from random nodes without losing or repeating one that stays open', async () => {
    const stay: string[] = [];
    const churn: TestClient[] = [];
    for (let i = 0; i < 60; i++) stay.push((await connect(cluster.nodes[i % 3]!)).id);
    for (let i = 0; i < 10; i++) churn.push((await connect(cluster.nodes[i % 3]!)).client);
    const seen: string[] = [];
    let token: string | undefined;
    let page = 0;
    do {
      const node = cluster.nodes[page % 3]!;
      const res = await call(target(node), 'GET', `/@connections?limit=25${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`);
      assert.equal(res.status, 200);
      const body = res.json();
      for (const item of body.items) {
        seen.push(item.connectionId);
        assert.equal(typeof item.nodeId, 'string', 'each listing item names its node');
      }
      token = body.nextToken;
      // Churn between pages: some close, some open.
      churn.pop()?.close();
      if (page % 2 === 0) churn.push((await connect(cluster.nodes[page % 3]!)).client);
      page++;
    } while (token);
    assert.equal(new Set(seen).size, seen.length, 'no connection listed twice');
    for (const id of stay) assert.ok(seen.includes(id), `open connection ${id} listed`);
    assert.equal((await call(target(A), 'GET', '/@connections?nextToken=bogus')).status, 400);
    for (const c of churn) c.close();
  });
});
