import type { NodeSummary } from '../registry/registry.js';
import type { ClusterNode } from './node.js';
import { command, pairsOf } from './scripts.js';

/**
 * The nodes holding a lease in Redis (alive, or suspected while their lease has run out and the
 * reaper has not yet judged them), with how many connections each holds and who they are.
 * Three round trips whatever the number of connections: the lease table, then one pipeline of
 * set sizes and info hashes.
 */
export async function listNodes(node: ClusterNode, timeoutMs: number): Promise<NodeSummary[]> {
  const k = node.keys;
  const leases = pairsOf(await command<Array<[string, number]> | string[]>(node.cmd, ['ZRANGE', k.nodes, '0', '-1', 'WITHSCORES'], timeoutMs));
  const now = node.redisNow();
  return Promise.all(
    leases.map(async ([id, expires]) => {
      const [count, info] = await Promise.all([
        command<number>(node.cmd, ['SCARD', k.node(id)], timeoutMs),
        command<Record<string, string> | null>(node.cmd, ['HGETALL', k.info(id)], timeoutMs),
      ]);
      const fields = info ?? {};
      const s: NodeSummary = { nodeId: id, connections: Number(count), state: expires > now ? 'alive' : 'suspected', self: id === node.nodeId };
      if (fields.host) s.host = fields.host;
      if (fields.pid) s.pid = Number(fields.pid);
      if (fields.started) s.startedAt = Number(fields.started);
      return s;
    }),
  );
}
