import { createClient } from 'redis';
import { member, StageKeys } from '../../src/cluster/keys.js';

/**
 * Checks the cluster's Redis invariants for one stage and returns the violations (empty = clean):
 * every id in `all` has its record, a `loc` entry and membership in the set of a node present in
 * `nodes`; every id in a principal or group index is in `all` and its record names that principal
 * or group; no record exists without an `all` entry; a reaped node's ghost hash expires.
 */
export async function auditRedis(url: string, o: { keyPrefix?: string; apiId?: string; stage?: string } = {}): Promise<string[]> {
  const k = new StageKeys(o.keyPrefix ?? 'sb', o.apiId ?? 'api', o.stage ?? 'dev');
  const c = createClient({ url });
  await c.connect();
  const bad: string[] = [];
  try {
    const all = new Set((await c.sendCommand<string[]>(['ZRANGE', k.all, '0', '-1'])).map(String));
    const nodes = new Set((await c.sendCommand<string[]>(['ZRANGE', k.nodes, '0', '-1'])).map(String));
    const loc = (await c.sendCommand<Record<string, string>>(['HGETALL', k.loc])) ?? {};
    const scan = async (pattern: string) => {
      const out: string[] = [];
      for await (const keys of c.scanIterator({ MATCH: pattern, COUNT: 1000 })) out.push(...keys.map(String));
      return out;
    };
    const records = new Map<string, Record<string, string>>();
    for (const key of await scan(k.base.replace(/[{}]/g, (m) => `\\${m}`) + 'c:*')) {
      const id = key.slice(k.base.length + 2);
      records.set(id, await c.sendCommand<Record<string, string>>(['HGETALL', key]));
      if (!all.has(id)) bad.push(`record without an all entry: ${id}`);
    }
    for (const id of all) {
      const rec = records.get(id);
      if (!rec) {
        bad.push(`all has ${id} but no record`);
        continue;
      }
      if (loc[id] !== rec.n) bad.push(`loc of ${id} is ${loc[id]}, record says ${rec.n}`);
      if (!nodes.has(rec.n!)) bad.push(`${id} belongs to ${rec.n}, not a live node`);
      if (Number(await c.sendCommand(['SISMEMBER', k.node(rec.n!), id])) !== 1) bad.push(`${id} missing from n:${rec.n}`);
      if (rec.p && (await c.sendCommand(['ZSCORE', k.principal(rec.p), id])) === null) bad.push(`${id} missing from its principal index`);
      for (const g of rec.g ? (JSON.parse(rec.g) as string[]) : []) if ((await c.sendCommand(['ZSCORE', k.group(g), id])) === null) bad.push(`${id} missing from group ${g}`);
    }
    for (const id of Object.keys(loc)) if (!all.has(id)) bad.push(`loc entry of a connection not in all: ${id}`);
    const esc = k.base.replace(/[{}]/g, (m) => `\\${m}`);
    for (const [kind, field] of [['p', 'p'], ['g', 'g']] as const) {
      for (const key of await scan(esc + kind + ':*')) {
        const name = key.slice(k.base.length + 2);
        for (const id of (await c.sendCommand<string[]>(['ZRANGE', key, '0', '-1'])).map(String)) {
          const rec = records.get(id);
          if (!all.has(id) || !rec) bad.push(`${kind}:${name} holds ${id}, which is not open`);
          else if (field === 'p' ? member(rec.p ?? '') !== name : !(rec.g ? (JSON.parse(rec.g) as string[]).map(member) : []).includes(name)) bad.push(`${kind}:${name} holds ${id} but its record disagrees`);
        }
      }
    }
    // A reaped node's ghost hash only serves fan-outs that were waiting on it: it must expire.
    for (const key of await scan(esc + 'ghost:*')) if (Number(await c.sendCommand(['PTTL', key])) < 0) bad.push(`${key} never expires`);
  } finally {
    await c.close();
  }
  return bad;
}
