import { command } from './scripts.js';
import type { RedisRegistry } from '../registry/registry-redis.js';
import type { ClusterConfig } from './config.js';
import type { ClusterNode } from './node.js';
import type { ConnectionRecord } from '../registry/registry.js';

export interface ReconcileOptions {
  node: ClusterNode;
  registry: RedisRegistry;
  config: ClusterConfig;
  /** This node's open connections (the hub's records, with principal and groups). */
  records: () => Iterable<ConnectionRecord>;
}

/**
 * Redis came back with its data: write what could not be written during the outage (removals,
 * memberships), then compare this node's set in Redis with its live connections: records of
 * connections that closed meanwhile go, missing ones are projected.
 */
export async function recover(o: ReconcileOptions): Promise<void> {
  const { node, registry } = o;
  await retryPending(o);
  const live = new Map<string, ConnectionRecord>();
  for (const r of o.records()) live.set(r.id, r);
  const inRedis = new Set<string>();
  let cursor = '0';
  do {
    const [next, ids] = await command<[string, string[]]>(node.cmd, ['SSCAN', node.keys.node(node.nodeId), cursor, 'COUNT', '500'], o.config.requestTimeoutMs);
    cursor = String(next);
    for (const id of ids) inRedis.add(String(id));
  } while (cursor !== '0');
  for (const id of inRedis) if (!live.has(id)) await registry.removeNow(id);
  for (const [id, rec] of live) if (!inRedis.has(id)) await registry.project(rec, registry.seqs.get(id) ?? rec.seq);
}

/**
 * Redis lost its data (restart without persistence, flush): project every local connection again
 * with its original seq, so cursors issued before stay valid. The rebuild key (opened by the
 * heartbeat that noticed) makes lookup misses answer 503 rather than 410 meanwhile; it is
 * refreshed here while the projection runs.
 */
export async function rebuild(o: ReconcileOptions): Promise<void> {
  const { node, registry, config } = o;
  registry.rebuilding = true;
  try {
    registry.pendingRemovals.clear(); // their records went with the data
    registry.dirty.clear();
    const window = String(2 * config.leaseMs);
    // 200 records at a time: they go out as one script run, and the rebuild window is renewed between.
    let n = 0;
    let chunk: Array<Promise<number>> = [];
    for (const rec of o.records()) {
      if (n++ % 200 === 0) {
        await Promise.all(chunk);
        chunk = [];
        await command(node.cmd, ['SET', node.keys.rebuild, '1', 'PX', window], config.requestTimeoutMs);
      }
      chunk.push(registry.project(rec, registry.seqs.get(rec.id) ?? rec.seq));
    }
    await Promise.all(chunk);
  } finally {
    registry.rebuilding = false;
  }
}

/**
 * Writes that failed while Redis stayed reachable (a command past its deadline on a loaded node):
 * retried on a timer, so the record of a closed connection does not outlive it and an open one's
 * memberships catch up, without waiting for an outage's recovery.
 */
export async function retryPending(o: ReconcileOptions): Promise<void> {
  const { registry } = o;
  for (const id of [...registry.pendingRemovals]) await registry.removeNow(id);
  if (registry.dirty.size === 0) return;
  const live = new Map<string, ConnectionRecord>();
  for (const r of o.records()) live.set(r.id, r);
  for (const id of [...registry.dirty]) {
    const rec = live.get(id);
    if (rec) await registry.project(rec, registry.seqs.get(id));
    else registry.dirty.delete(id);
  }
}
