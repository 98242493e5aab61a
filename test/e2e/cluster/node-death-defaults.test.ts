// The one slow scenario: a node killed with the default cluster timings (heartbeat 1 s, lease 5 s,
// reaper 1 s). Its connections answer 410 from a survivor within about 6 s and their $disconnect
// runs once, with 1006, as docs/cluster.md promises.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { startProcessCluster, type ProcessCluster } from '../../helpers/cluster-process.js';
import { startEventRecorder, type EventRecorder } from '../../helpers/event-recorder.js';
import type { GatewayProcess } from '../../helpers/process.js';
import { auditRedis } from '../../helpers/redis-audit.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { call } from '../../helpers/signed.js';

const target = (n: GatewayProcess) => ({ port: n.port, stage: new URL(n.url).pathname.slice(1) }) as any;
const DEFAULTS = { heartbeatMs: 1000, leaseMs: 5000, deadAfterMs: 30_000, reaperIntervalMs: 1000, requestTimeoutMs: 2000 };

describe('cluster: node death with default timings', () => {
  let redis: RedisServer;
  let rec: EventRecorder;
  let cluster: ProcessCluster;
  let startedAt = 0;

  before(async () => {
    redis = await startRedis();
    rec = await startEventRecorder();
    cluster = await startProcessCluster({ size: 2, redisUrl: redis.url, config: { routes: rec.routes() as any }, cluster: DEFAULTS });
    startedAt = Date.now();
  });
  after(async () => {
    await cluster?.close();
    await rec?.close();
    await redis?.stop();
  });

  it('SIGKILL: 503 while the lease runs, 410 from the survivor within 7 s, $disconnect once with 1006', async (t) => {
    const [A, B] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const client = await TestClient.connect(`${A.url}?tag=slow`);
    const id = await rec.idOf('slow');
    // A survivor judges peers only after it has been connected to Redis for 2 × leaseMs (so that
    // after a Redis outage live peers get to heartbeat first): nodes here have run that long.
    await sleep(Math.max(0, startedAt + 2 * DEFAULTS.leaseMs - Date.now()));
    cluster.signal(0, 'SIGKILL');
    await A.exited;
    const killedAt = Date.now();
    for (;;) {
      const res = await call(target(B), 'POST', `/@connections/${id}`, 'x');
      assert.notEqual(res.status, 200, 'a killed node’s connection never answers 200');
      if (res.status === 410) {
        t.diagnostic(`410 from the survivor ${Date.now() - killedAt} ms after the kill`);
        break;
      }
      assert.equal(res.status, 503, `only 503 before the lease runs out, got ${res.status}`);
      assert.ok(Date.now() - killedAt < 7000, 'no 410 within 7 s of the kill');
      await sleep(100);
    }
    await until(() => rec.of('$disconnect').some((e) => e.connectionId === id), '$disconnect of the lost connection', 7000 - (Date.now() - killedAt) + 2000);
    t.diagnostic(`$disconnect (1006) run by the survivor ${Date.now() - killedAt} ms after the kill`);
    await sleep(DEFAULTS.reaperIntervalMs * 2);
    const runs = rec.of('$disconnect').filter((e) => e.connectionId === id);
    assert.deepEqual(runs.map((e) => e.disconnectStatusCode), [1006], 'exactly once, with 1006');
    assert.equal(client.ws.readyState === 1 ? 'open' : 'closed', 'closed');
    assert.deepEqual(await auditRedis(redis.url, { apiId: 'switchboard' }), []);
  });
});
