import { clusterConfig, type ClusterConfig, type ClusterConfigInput } from '../../src/cluster/config.js';
import { StageKeys } from '../../src/cluster/keys.js';
import { ClusterNode, type NodeEvents } from '../../src/cluster/node.js';
import { RedisRegistry } from '../../src/registry/registry-redis.js';

/** Short timings for tests (the design's test plan). */
// Leases and deadlines leave room for a loaded machine (test files run side by side): an event loop
// held up for a few hundred milliseconds must not make a live node look dead.
export const FAST = { heartbeatMs: 250, leaseMs: 1000, deadAfterMs: 3000, reaperIntervalMs: 100, requestTimeoutMs: 1000 } as const;

export function testConfig(url: string, more: Partial<ClusterConfigInput> = {}): ClusterConfig {
  return clusterConfig({ redis: { url }, ...FAST, ...more });
}

export const NO_EVENTS: NodeEvents = { frame() {}, async dead() {}, async regen() {}, async recovered() {} };

/** A joined node with its registry (no bus), for registry tests. */
export async function startRegistryNode(url: string, nodeId: string, keyPrefix = 'sb'): Promise<{ node: ClusterNode; registry: RedisRegistry }> {
  const config = testConfig(url, { keyPrefix });
  const node = new ClusterNode({ config, keys: new StageKeys(config.keyPrefix, 'api', 'dev'), nodeId });
  await node.start(NO_EVENTS);
  return { node, registry: new RedisRegistry({ node, stage: 'dev', timeoutMs: 1000 }) };
}

import pino from 'pino';
import { createClusterServices, type ClusterParts, type ClusterTuning } from '../../src/cluster/cluster.js';
import type { ConnectionRecord } from '../../src/registry/registry.js';
import { MemHub } from './mem-hub.js';

/** A cluster node in this process: Redis registry + bus + node life, a MemHub, and the $disconnect calls it ran. */
export interface TestNode {
  services: ClusterParts;
  hub: MemHub;
  disconnects: Array<{ rec: ConnectionRecord; code: number; reason: string }>;
}

export async function startNode(url: string, nodeId: string, o: { keyPrefix?: string; config?: Partial<ClusterConfigInput>; tuning?: ClusterTuning } = {}): Promise<TestNode> {
  const config = testConfig(url, { keyPrefix: o.keyPrefix ?? 'sb', ...o.config });
  const services = createClusterServices(config, 'dev', 'api', { nodeId, reapLockMs: 1000, claimIdleMs: 1000, ...o.tuning });
  const hub = new MemHub(services.registry, () => services.nodeId);
  const disconnects: TestNode['disconnects'] = [];
  await services.start({ hub, logger: pino({ level: 'silent' }), runDisconnect: async (rec, code, reason) => void disconnects.push({ rec, code, reason }) });
  return { services, hub, disconnects };
}
