import type { ConfigInput } from '../../src/config/schema.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';

/**
 * Short cluster timings for tests: death is noticed in about two seconds instead of six, with room
 * left for a loaded machine (a node whose event loop is held up briefly must not look dead).
 */
export const FAST_CLUSTER = Object.freeze({
  heartbeatMs: 250,
  leaseMs: 1000,
  deadAfterMs: 3000,
  reaperIntervalMs: 100,
  requestTimeoutMs: 1000,
});

/**
 * N real `switchboard start` processes sharing one Redis: a cluster as users run it. Nodes can be
 * killed, frozen, resumed, stopped (SIGTERM drain) and replaced; each is a GatewayProcess.
 */
export interface ProcessCluster {
  readonly nodes: GatewayProcess[];
  /** Starts one more node with the same configuration (e.g. to replace a killed one). */
  add(): Promise<GatewayProcess>;
  signal(i: number, sig: NodeJS.Signals): void;
  /** Stops every node still running (SIGTERM, then SIGKILL). */
  close(): Promise<void>;
}

export async function startProcessCluster(opts: {
  size: number;
  /** Standalone Redis; or give `redis` (e.g. `{ sentinel: { name, nodes } }`). */
  redisUrl?: string;
  redis?: Record<string, unknown>;
  /** Gateway configuration without `cluster` (routes, limits, …). */
  config: ConfigInput;
  /** Overrides of FAST_CLUSTER and other cluster keys. */
  cluster?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): Promise<ProcessCluster> {
  const config = { ...opts.config, cluster: { redis: opts.redis ?? { url: opts.redisUrl }, ...FAST_CLUSTER, ...opts.cluster } } as ConfigInput;
  const nodes: GatewayProcess[] = [];
  const add = async () => {
    const node = await startGatewayProcess(config, { env: opts.env });
    nodes.push(node);
    return node;
  };
  try {
    for (let i = 0; i < opts.size; i++) await add();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop(2000)));
    throw err;
  }
  return {
    nodes,
    add,
    signal: (i, sig) => {
      if (nodes[i]!.alive()) process.kill(nodes[i]!.pid, sig);
    },
    close: async () => {
      // A frozen node must be woken to hear SIGTERM; SIGKILL follows after the grace anyway.
      for (const n of nodes) if (n.alive()) process.kill(n.pid, 'SIGCONT');
      await Promise.all(nodes.map((n) => n.stop(3000)));
    },
  };
}
