import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusOverloaded } from '../../src/bus/bus-redis.js';
import { until } from '../helpers/client.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startNode, type TestNode } from './harness.js';

describe('RedisBus: three nodes in one process over a real Redis', () => {
  let redis: RedisServer;
  let a: TestNode, b: TestNode, c: TestNode;
  before(async () => {
    redis = await startRedis();
    [a, b, c] = await Promise.all([startNode(redis.url, 'A'), startNode(redis.url, 'B'), startNode(redis.url, 'C')]);
    await a.hub.open('a1', { principal: 'alice', groups: ['g'] });
    await a.hub.open('a2', { principal: 'bob', groups: ['g'] });
    await b.hub.open('b1', { principal: 'alice', groups: ['g'] });
    await b.hub.open('bfull', { principal: 'alice', full: true });
    await c.hub.open('c1', { principal: 'alice' });
    await c.hub.open('c2', { groups: ['g'] });
  });
  after(async () => {
    for (const n of [a, b, c]) n?.services.node.crash();
    await redis.stop();
  });

  it('sends to a local connection without Redis and to a remote one through its owner', async () => {
    assert.equal(await a.services.bus.send('a1', 'local', false), 'ok');
    assert.equal(await b.services.bus.send('a1', 'remote', false), 'ok');
    assert.equal(await c.services.bus.send('a1', Buffer.from([1, 2, 3]), true), 'ok');
    assert.deepEqual(a.hub.received('a1'), ['local', 'remote', '\u0001\u0002\u0003']);
    assert.equal(a.hub.conns.get('a1')!.received[2]!.binary, true);
  });

  it('answers gone for unknown ids and full for a full remote buffer', async () => {
    assert.equal(await b.services.bus.send('nope', 'x', false), 'gone');
    assert.equal(await a.services.bus.send('bfull', 'x', false), 'full');
  });

  it('info comes from the owner (live record), join/leave go through the owner', async () => {
    const rec = await b.services.bus.info('a1');
    assert.equal(rec?.id, 'a1');
    assert.equal(rec?.lastActiveAt, a.hub.conns.get('a1')!.rec.lastActiveAt + 1, 'from the live connection, not Redis');
    assert.equal(await b.services.bus.info('nope'), undefined);
    assert.equal(await c.services.bus.join('a1', 'extra'), true);
    assert.ok(a.hub.conns.get('a1')!.groups.has('extra'));
    assert.deepEqual((await c.services.registry.get('a1'))?.groups, ['g', 'extra']);
    await c.services.bus.leave('a1', 'extra');
    assert.deepEqual((await c.services.registry.get('a1'))?.groups, ['g']);
    assert.equal(await c.services.bus.join('nope', 'extra'), false);
  });

  it('fans out once per node and sums the outcome; except leaves the sender out', async () => {
    const before = b.hub.received('b1').length;
    const out = await c.services.bus.fanOut({ principal: 'alice' }, 'hi alice', false);
    assert.equal(out.sent, 3);
    assert.deepEqual(out.failed, [{ connectionId: 'bfull', reason: 'full' }]);
    assert.equal(b.hub.received('b1').length, before + 1, 'exactly one copy');
    const grp = await a.services.bus.fanOut({ group: 'g', except: 'a1' }, 'hi g', false);
    assert.equal(grp.sent, 3);
    assert.ok(!a.hub.received('a1').includes('hi g'));
    const all = await b.services.bus.fanOut({ all: true }, 'hi all', false);
    assert.equal(all.sent, 5);
    for (const [hub, id] of [[a.hub, 'a1'], [a.hub, 'a2'], [b.hub, 'b1'], [c.hub, 'c1'], [c.hub, 'c2']] as const) {
      assert.equal(hub.received(id).filter((m) => m === 'hi all').length, 1, id);
    }
  });

  it('names the members of a node that does not answer in time as unknown', async () => {
    c.services.bus.onFrame = () => {}; // C keeps its lease and subscription but serves nothing
    try {
      const out = await a.services.bus.fanOut({ principal: 'alice' }, 'slow', false);
      assert.equal(out.sent, 2);
      assert.deepEqual(out.failed.map((f) => `${f.connectionId}:${f.reason}`).sort(), ['bfull:full', 'c1:unknown']);
      await assert.rejects(() => a.services.bus.send('c1', 'x', false), { name: 'BusUnconfirmed' });
    } finally {
      delete (c.services.bus as { onFrame?: unknown }).onFrame; // back to the prototype's
    }
    assert.equal(await a.services.bus.send('c1', 'x', false), 'ok');
  });

  it('closes remotely and by selector; the owner removes the records at once', async () => {
    await b.hub.open('b2', { principal: 'carol' });
    await c.hub.open('c3', { principal: 'carol' });
    assert.equal(await a.services.bus.disconnect('b2', 4001, 'bye'), true);
    assert.equal(await a.services.bus.send('b2', 'x', false), 'gone');
    await b.hub.open('b2', { principal: 'carol' });
    const out = await a.services.bus.disconnectAll({ principal: 'carol' }, 4001, 'bye');
    assert.deepEqual(out, { closed: 2, failed: [] });
    await until(() => !b.hub.has('b2') && !c.hub.has('c3'), 'closed');
    assert.equal((await a.services.registry.list({ principal: 'carol', limit: 10 })).items.length, 0);
  });

  it('refuses beyond the in-flight cap with BusOverloaded (a BusUnavailable)', async () => {
    const bus = a.services.bus as unknown as { max: number };
    const saved = bus.max;
    bus.max = 0;
    try {
      await assert.rejects(() => a.services.bus.send('b1', 'x', false), BusOverloaded);
    } finally {
      bus.max = saved;
    }
  });
});
