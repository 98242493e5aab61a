import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ClusterNode } from '../../src/cluster/node.js';
import { InvalidCursor, type ConnectionRecord } from '../../src/registry/registry.js';
import type { RedisRegistry } from '../../src/registry/registry-redis.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startRegistryNode } from './harness.js';

function record(id: string, principalId?: string, more: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return { id, stage: 'dev', nodeId: 'n1', connectedAt: 1_000, lastActiveAt: 2_000, identity: { sourceIp: '127.0.0.1', userAgent: 'ua/1' }, principalId, ...more };
}

const ids = (xs: Array<{ record: ConnectionRecord }>) => xs.map((x) => x.record.id);

describe('RedisRegistry', () => {
  let redis: RedisServer;
  let node: ClusterNode;
  let r: RedisRegistry;
  let prefix = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    node?.crash();
    await redis.stop();
  });
  beforeEach(async () => {
    node?.crash();
    ({ node, registry: r } = await startRegistryNode(redis.url, 'n1', `t${++prefix}`));
  });

  it('adds, gets, counts and removes; remove returns the claim once', async () => {
    await r.add(record('a', undefined, { domainName: 'example.com', authorizer: { role: 'admin' } }));
    await r.add(record('b', 'alice'));
    const a = await r.get('a');
    assert.equal(a?.id, 'a');
    assert.equal(a?.nodeId, 'n1');
    assert.equal(a?.connectedAt, 1_000);
    assert.deepEqual(a?.identity, { sourceIp: '127.0.0.1', userAgent: 'ua/1' });
    assert.equal(a?.domainName, 'example.com');
    assert.deepEqual(a?.authorizer, { role: 'admin' });
    assert.equal((await r.get('b'))?.principalId, 'alice');
    assert.equal(await r.count(), 2);
    assert.equal(await r.remove('a'), true);
    assert.equal(await r.remove('a'), false, 'second remove does not claim');
    assert.equal(await r.get('a'), undefined);
    assert.equal(await r.count(), 1);
  });

  it('indexes principals and groups, and forgets them on remove', async () => {
    await r.add(record('a', 'alice'));
    await r.add(record('b', 'alice'));
    await r.add(record('d'));
    await r.setPrincipal('d', 'alice');
    assert.deepEqual(ids((await r.list({ principal: 'alice', limit: 10 })).items), ['a', 'b', 'd']);
    await r.setPrincipal('d', 'bob');
    assert.deepEqual(ids((await r.list({ principal: 'alice', limit: 10 })).items), ['a', 'b']);
    assert.equal(await r.join('a', 'g1'), true);
    assert.equal(await r.join('a', 'g2'), true);
    assert.equal(await r.join('b', 'g1'), true);
    assert.equal(await r.join('zzz', 'g1'), false, 'unknown connection');
    assert.deepEqual((await r.get('a'))?.groups, ['g1', 'g2']);
    await r.leave('b', 'g1');
    await r.leave('b', 'g1');
    assert.deepEqual(ids((await r.list({ group: 'g1', limit: 10 })).items), ['a']);
    await r.remove('a');
    assert.deepEqual((await r.list({ group: 'g1', limit: 10 })).items, []);
    assert.deepEqual((await r.list({ group: 'g2', limit: 10 })).items, []);
    assert.deepEqual(ids((await r.list({ principal: 'alice', limit: 10 })).items), ['b']);
  });

  it('keys long principal and group names by digest and still finds them', async () => {
    const long = 'p'.repeat(1024);
    await r.add(record('a', long));
    await r.join('a', long);
    assert.deepEqual(ids((await r.list({ principal: long, limit: 10 })).items), ['a']);
    assert.deepEqual(ids((await r.list({ group: long, limit: 10 })).items), ['a']);
    assert.equal((await r.get('a'))?.principalId, long);
  });

  it('lists in pages without loss or repetition while connections come and go; cursors work from another node', async () => {
    for (let i = 0; i < 250; i++) await r.add(record(`c${i}`, i % 2 ? 'odd' : 'even'));
    for (let i = 0; i < 250; i += 5) await r.join(`c${i}`, 'fives');
    const other = await startRegistryNode(redis.url, 'n2', `t${prefix}`);
    try {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await (pages % 2 ? other.registry : r).list({ limit: 40, cursor });
        seen.push(...ids(page.items));
        cursor = page.cursor;
        if (pages === 1) {
          await r.remove('c0');
          await other.registry.add(record('late', undefined, { nodeId: 'n2' }));
        }
        pages++;
      } while (cursor !== undefined);
      assert.equal(new Set(seen).size, seen.length, 'no repetition');
      for (let i = 0; i < 250; i++) assert.ok(seen.includes(`c${i}`), `c${i} listed`);
      assert.ok(seen.includes('late'));
      assert.equal((await other.registry.get('late'))?.nodeId, 'n2');
      const odd = await r.list({ principal: 'odd', limit: 1000 });
      assert.equal(odd.items.length, 125);
      assert.equal(odd.cursor, undefined);
      const fives = await r.list({ group: 'fives', limit: 1000 });
      assert.equal(fives.items.length, 49);
      assert.ok(fives.items.every((x) => x.groups.includes('fives')));
    } finally {
      other.node.crash();
    }
  });

  it('rejects cursors it did not issue', async () => {
    await r.add(record('a'));
    for (const bad of ['garbage!', 'djE6', Buffer.from('v2:1').toString('base64url'), '%%']) {
      await assert.rejects(async () => r.list({ limit: 10, cursor: bad }), InvalidCursor, bad);
    }
  });

  it('re-projection with the original seq keeps the listing order after Redis lost the data', async () => {
    for (const id of ['a', 'b', 'c']) await r.add(record(id, 'alice', { groups: [] }));
    const seqs = new Map(r.seqs);
    await redis.flushall();
    for (const id of ['c', 'a', 'b']) await r.project(record(id, 'alice', { groups: ['g'] }), seqs.get(id));
    assert.deepEqual(ids((await r.list({ limit: 10 })).items), ['a', 'b', 'c']);
    assert.deepEqual(ids((await r.list({ group: 'g', limit: 10 })).items), ['a', 'b', 'c']);
    await r.add(record('d'));
    assert.ok(r.seqs.get('d')! > seqs.get('c')!, 'the counter continues after the highest re-projected seq');
  });

  it('answers unavailable (503) instead of guessing while Redis is down, and queues the owner removal', async () => {
    await r.add(record('a'));
    node.crash();
    await assert.rejects(() => r.get('a'), { name: 'RegistryUnavailable' });
    await assert.rejects(() => r.add(record('b')), { name: 'RegistryUnavailable' });
    assert.equal(r.available(), false);
    assert.equal(await r.remove('a'), true, 'the owner keeps its claim');
    assert.ok(r.pendingRemovals.has('a'));
  });
});
