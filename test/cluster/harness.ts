import { clusterConfig, type ClusterConfig, type ClusterConfigInput } from '../../src/cluster/config.js';
import { StageKeys } from '../../src/cluster/keys.js';
import { ClusterNode, type NodeEvents } from '../../src/cluster/node.js';
import { RedisRegistry } from '../../src/registry/registry-redis.js';

/** Short timings for tests (the design's test plan). */
export const FAST = { heartbeatMs: 100, leaseMs: 500, deadAfterMs: 2000, reaperIntervalMs: 100, requestTimeoutMs: 500 } as const;

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
