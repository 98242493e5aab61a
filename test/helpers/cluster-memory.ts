import type { ConfigInput } from '../../src/config/schema.js';
import type { Gateway } from '../../src/index.js';
import { MemoryBusNetwork } from '../../src/bus/bus-memory.js';
import { MemoryRegistry } from '../../src/registry/registry-memory.js';
import { FIXTURES, startGateway } from './gateway.js';

/** N real gateways in this process, sharing one MemoryRegistry and one MemoryBusNetwork: a cluster without Redis. */
export interface MemoryCluster {
  /** Node A, B, C…: node ids `A`, `B`, `C`… */
  nodes: Gateway[];
  registry: MemoryRegistry;
  network: MemoryBusNetwork;
  /** Open connections over all nodes. */
  connectionCount(): number;
  close(): Promise<void>;
}

export async function startMemoryCluster(config: ConfigInput, n = 3, baseDir = FIXTURES): Promise<MemoryCluster> {
  const registry = new MemoryRegistry();
  const network = new MemoryBusNetwork({ registry, requestTimeoutMs: 200 });
  const nodes: Gateway[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const nodeId = String.fromCharCode(65 + i);
      // One process-wide handler environment: only the first node sets it.
      nodes.push(await startGateway(i === 0 ? config : { ...config, handlerEnvironment: false }, baseDir, { registry, bus: network.node(nodeId), nodeId }));
    }
  } catch (err) {
    await Promise.all(nodes.map((g) => g.close()));
    throw err;
  }
  return {
    nodes,
    registry,
    network,
    connectionCount: () => nodes.reduce((sum, g) => sum + g.connectionCount(), 0),
    // Newest first, so the handler environment the first node set is restored last.
    close: async () => {
      for (const g of [...nodes].reverse()) await g.close();
    },
  };
}

/**
 * A three-node cluster seen as one Gateway: clients connect to node A (`url`), management calls go
 * to node `via` (`managementEndpoint`, `port`), the connection count covers every node, and
 * `close()` closes them all. Lets a test written for one gateway run unchanged against a cluster.
 */
export async function startClusterView(config: ConfigInput, via: number, baseDir = FIXTURES): Promise<Gateway> {
  const cluster = await startMemoryCluster(config, 3, baseDir);
  const a = cluster.nodes[0]!;
  const m = cluster.nodes[via]!;
  return {
    url: a.url,
    managementEndpoint: m.managementEndpoint,
    port: m.port,
    stage: a.stage,
    handlerCredentials: a.handlerCredentials,
    config: a.config,
    logger: a.logger,
    counters: a.counters,
    workers: a.workers,
    adminUrl: m.adminUrl,
    connectionCount: cluster.connectionCount,
    close: cluster.close,
  };
}

/** Where a parametrised test runs: one gateway, or three nodes with the client on A and calls on B or C. */
export const TOPOLOGIES: ReadonlyArray<{ name: string; start(config: ConfigInput, baseDir?: string): Promise<Gateway> }> = [
  { name: 'one gateway', start: (config, baseDir) => startGateway(config, baseDir) },
  { name: 'three nodes, client on A, calls on B', start: (config, baseDir) => startClusterView(config, 1, baseDir) },
  { name: 'three nodes, client on A, calls on C', start: (config, baseDir) => startClusterView(config, 2, baseDir) },
];
