import type { NodeSummary } from '../registry/registry.js';
import type { ClusterNode } from './node.js';
import { command } from './scripts.js';

/**
 * The nodes holding a lease in Redis (alive, or suspected while their lease has run out and the
 * reaper has not yet judged them), with how many connections each holds and who they are.
 * Three round trips whatever the number of connections: the lease table, then one pipeline of
 * set sizes and info hashes.
 */
export async function listNodes(node: ClusterNode, timeoutMs: number): Promise<NodeSummary[]> {
  const k = node.keys;
  const raw = await command<unknown[]>(node.cmd, ['ZRANGE', k.nodes, '0', '-1', 'WITHSCORES'], timeoutMs);
  // RESP2 answers a flat [member, score, …]; RESP3 pairs [[member, score], …].
  const leases: Array<[string, number]> = [];
  if (raw.length > 0 && Array.isArray(raw[0])) for (const pair of raw as unknown[][]) leases.push([String(pair[0]), Number(pair[1])]);
  else for (let i = 0; i + 1 < raw.length; i += 2) leases.push([String(raw[i]), Number(raw[i + 1])]);
  const now = node.redisNow();
  return Promise.all(
    leases.map(async ([id, expires]) => {
      const [count, info] = await Promise.all([
        command<number>(node.cmd, ['SCARD', k.node(id)], timeoutMs),
        command<unknown>(node.cmd, ['HGETALL', k.info(id)], timeoutMs),
      ]);
      const fields = infoFields(info);
      const s: NodeSummary = { nodeId: id, connections: Number(count), state: expires > now ? 'alive' : 'suspected', self: id === node.nodeId };
      if (fields.host) s.host = fields.host;
      if (fields.pid) s.pid = Number(fields.pid);
      if (fields.started) s.startedAt = Number(fields.started);
      return s;
    }),
  );
}

function infoFields(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = String(v[i + 1]);
    return out;
  }
  if (v instanceof Map) return Object.fromEntries([...v].map(([a, b]) => [String(a), String(b)]));
  return (v ?? {}) as Record<string, string>;
}
