import type { Logger } from 'pino';
import { RedisBus } from '../bus/bus-redis.js';
import { LogLimiter } from '../observability/log-limiter.js';
import { RedisRegistry } from '../registry/registry-redis.js';
import { resolveNodeId, type ClusterConfig } from './config.js';
import { DisconnectWorker } from './disconnects.js';
import { StageKeys } from './keys.js';
import { ClusterNode, type ClusterLog } from './node.js';
import { ObserverRelay, type ClusterObserver } from './observer.js';
import { Reaper } from './reaper.js';
import { rebuild, recover, retryPending } from './reconcile.js';
import type { Bus, HubTarget } from '../bus/bus.js';
import type { ConnectionRecord, NodeSummary, Registry } from '../registry/registry.js';
import { listNodes } from './nodes.js';

/** What cluster mode gives the gateway: a registry and a bus backed by Redis, and the node's life. */
export interface ClusterServices {
  /** This node's id (a fresh one after the node was fenced). */
  readonly nodeId: string;
  registry: Registry;
  bus: Bus;
  /** Heartbeat, probe, reaper and the $disconnect worker start here; resolves when joined. */
  start(hooks: ClusterHooks): Promise<void>;
  /** Graceful leave: leftover records removed, node announced gone, connections to Redis closed. */
  close(): Promise<void>;
  available(): boolean;
  /** The live (and suspected) nodes and their connection counts. */
  nodes(): Promise<NodeSummary[]>;
}

export interface ClusterHooks {
  hub: HubTarget & { evictAll(code: number, reason: string, o: { runDisconnect: boolean }): void; records(): Iterable<ConnectionRecord> };
  /** Runs the $disconnect route for a connection of a dead node (code 1006). */
  runDisconnect(rec: ConnectionRecord, code: number, reason: string): Promise<void>;
  logger: Logger;
  /** Where bus/registry latencies and node-life events are reported (the gateway's metrics). */
  observer?: ClusterObserver;
}

/** Knobs for tests and benches; production uses the defaults. */
export interface ClusterTuning {
  nodeId?: string;
  /** Reap lock lifetime (default 30 s). */
  reapLockMs?: number;
  reapBatch?: number;
  /** Idle time before a dead worker's $disconnect entries are taken over (default 34 s). */
  claimIdleMs?: number;
  afterReapBatch?: (deadNode: string) => Promise<void>;
  maxInFlight?: number;
}

/** The services plus their parts, for tests and the admin API. */
export interface ClusterParts extends ClusterServices {
  readonly node: ClusterNode;
  readonly registry: RedisRegistry;
  readonly bus: RedisBus;
  readonly reaper: Reaper;
  readonly worker: DisconnectWorker;
}

/**
 * Builds cluster mode for one stage from the `cluster` config key. Nothing connects until
 * `start(hooks)`: the gateway passes its hub (live connections) and its $disconnect runner then.
 */
export function createClusterServices(config: ClusterConfig, stage: string, apiId: string, tuning: ClusterTuning = {}): ClusterParts {
  let log: ClusterLog = () => {};
  const logVia: ClusterLog = (...a) => log(...a);
  let limiter: LogLimiter | undefined;
  const keys = new StageKeys(config.keyPrefix, apiId, stage);
  // The parts exist before the gateway binds its metrics: they report through a relay set at start.
  const observer = new ObserverRelay();
  const node = new ClusterNode({ config, keys, nodeId: tuning.nodeId ?? resolveNodeId(config), log: logVia, onResubscribed: () => observer.event('resubscribed') });
  const registry = new RedisRegistry({ node, stage, timeoutMs: config.requestTimeoutMs, acceptWhileDown: config.acceptWhileRegistryDown, observer });
  const reaper = new Reaper({ node, config, log: logVia, onReaped: () => observer.event('nodeReaped'), ...(tuning.reapLockMs ? { lockMs: tuning.reapLockMs } : {}), ...(tuning.reapBatch ? { batchSize: tuning.reapBatch } : {}), ...(tuning.afterReapBatch ? { afterBatch: tuning.afterReapBatch } : {}) });
  const bus = new RedisBus({ node, config, log: logVia, observer, onDeadNode: () => reaper.wake(), ...(tuning.maxInFlight ? { maxInFlight: tuning.maxInFlight } : {}) });
  let worker!: DisconnectWorker;
  let hooks: ClusterHooks | undefined;
  /** Retries registry writes that failed while Redis stayed reachable. */
  let retryTimer: NodeJS.Timeout | undefined;
  let retrying = false;

  const parts: ClusterParts = {
    get nodeId() {
      return node.nodeId;
    },
    node,
    registry,
    bus,
    reaper,
    get worker() {
      return worker;
    },
    available: () => registry.available(),
    nodes: () => listNodes(node, config.requestTimeoutMs),
    async start(h: ClusterHooks) {
      hooks = h;
      if (h.observer) observer.target = h.observer;
      limiter = new LogLimiter(h.logger);
      log = (level, key, fields, msg) => limiter!.log(level, `cluster-${key}`, fields, msg);
      worker = new DisconnectWorker({ node, config, parse: (id, hash) => registry.parse(id, hash), run: (rec, code, reason) => h.runDisconnect(rec, code, reason), log: logVia, onHandled: () => observer.event('deadDisconnect'), ...(tuning.claimIdleMs ? { claimIdleMs: tuning.claimIdleMs } : {}) });
      await bus.start(h.hub);
      const reconcile = { node, registry, config, records: () => h.hub.records() };
      await node.start({
        frame: (f) => bus.onFrame(f),
        async dead() {
          // A survivor already ran $disconnect for our connections: close them without a second one.
          h.hub.evictAll(1001, 'Going away', { runDisconnect: false });
          registry.seqs.clear();
          registry.dirty.clear();
        },
        regen: () => rebuild(reconcile),
        recovered: () => recover(reconcile),
      });
      reaper.start();
      worker.start();
      retryTimer = setInterval(() => {
        if (retrying || !node.available() || (registry.pendingRemovals.size === 0 && registry.dirty.size === 0)) return;
        retrying = true;
        retryPending(reconcile)
          .catch(() => {})
          .finally(() => (retrying = false));
      }, config.heartbeatMs);
      retryTimer.unref();
    },
    async close() {
      clearInterval(retryTimer);
      reaper.stop();
      worker?.stop();
      await bus.close();
      if (hooks && node.available()) {
        // Leftovers (closes whose removal is still queued): nothing of this node may outlive it.
        try {
          await recover({ node, registry, config, records: () => [] });
        } catch {
          /* the reaper of another node cleans up */
        }
      }
      await node.leave();
      limiter?.close();
    },
  };
  return parts;
}
