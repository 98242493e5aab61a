import { after, before } from 'node:test';
import pino from 'pino';
import type { Bus, HubTarget } from '../../src/bus/bus.js';
import { createClusterServices, type ClusterParts } from '../../src/cluster/cluster.js';
import type { Hub } from '../../src/connection/hub.js';
import { testConfig } from '../cluster/harness.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { busContract } from './bus.contract.js';

let redis: RedisServer;
let made = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** The bus a gateway gets in cluster mode: starting it with the gateway's hub starts the whole node. */
function gatewayBus(s: ClusterParts): Bus {
  const b = s.bus;
  return {
    get nodeId() {
      return b.nodeId;
    },
    start: (hub: HubTarget) => s.start({ hub: hub as Hub, runDisconnect: async () => {}, logger: pino({ level: 'silent' }) }),
    close: () => s.close(),
    send: (...a) => b.send(...a),
    disconnect: (...a) => b.disconnect(...a),
    info: (...a) => b.info(...a),
    infoMany: (...a) => b.infoMany(...a),
    join: (...a) => b.join(...a),
    leave: (...a) => b.leave(...a),
    fanOut: (...a) => b.fanOut(...a),
    disconnectAll: (...a) => b.disconnectAll(...a),
  };
}

busContract(
  'RedisBus',
  async (n) => {
    const prefix = `bus${++made}`;
    const services = Array.from({ length: n }, (_, i) => createClusterServices(testConfig(redis.url, { keyPrefix: prefix, requestTimeoutMs: 2000, leaseMs: 2000, deadAfterMs: 4000 }), 'dev', 'api', { nodeId: `node-${i}` }));
    const silenced = new Map<number, (f: unknown) => void>();
    return {
      nodes: services.map((s) => ({ nodeId: s.nodeId, registry: s.registry, bus: gatewayBus(s) })),
      setUnresponsive(i, on) {
        const bus = services[i]!.bus as unknown as { onFrame: (f: unknown) => void };
        if (on) {
          silenced.set(i, bus.onFrame);
          bus.onFrame = () => {};
        } else {
          bus.onFrame = silenced.get(i)!;
          silenced.delete(i);
        }
      },
    };
  },
  { maxNodes: 3 },
);
