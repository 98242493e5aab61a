import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { InvalidCursor, type ConnectionRecord, type Registry } from '../../src/registry/registry.js';

/** A record as a gateway node would register it. */
export function record(id: string, principalId?: string): ConnectionRecord {
  return { id, stage: 'dev', nodeId: 'n1', connectedAt: 1_000, lastActiveAt: 2_000, identity: { sourceIp: '127.0.0.1' }, principalId };
}

/**
 * The behaviour every Registry implementation must have (memory now; Redis for cluster mode).
 * Call it from one test file per implementation with a factory for a fresh, empty registry.
 */
export function registryContract(name: string, create: () => Registry | Promise<Registry>): void {
  describe(`Registry contract: ${name}`, () => {
    let r: Registry;
    beforeEach(async () => {
      r = await create();
    });

    it('adds, gets, counts and removes', async () => {
      await r.add(record('a'));
      await r.add(record('b', 'alice'));
      assert.equal((await r.get('a'))?.id, 'a');
      assert.equal(await r.count(), 2);
      await r.remove('a');
      assert.equal(await r.get('a'), undefined);
      assert.equal(await r.count(), 1);
      await r.remove('a'); // idempotent
    });

    it('indexes principals from the record and from setPrincipal, and forgets them on remove', async () => {
      await r.add(record('a', 'alice'));
      await r.add(record('b', 'alice'));
      await r.add(record('c', 'bob'));
      await r.add(record('d'));
      await r.setPrincipal('d', 'alice');
      assert.deepEqual((await r.principalMembers('alice')).map((x) => x.id).sort(), ['a', 'b', 'd']);
      await r.setPrincipal('d', 'bob');
      assert.deepEqual((await r.principalMembers('alice')).map((x) => x.id).sort(), ['a', 'b']);
      await r.remove('a');
      assert.deepEqual((await r.principalMembers('alice')).map((x) => x.id), ['b']);
      assert.deepEqual(await r.principalMembers('nobody'), []);
    });

    it('joins and leaves groups; a removed connection leaves all its groups', async () => {
      await r.add(record('a'));
      await r.add(record('b'));
      assert.equal(await r.join('a', 'g1'), true);
      assert.equal(await r.join('a', 'g2'), true);
      assert.equal(await r.join('b', 'g1'), true);
      assert.equal(await r.join('zzz', 'g1'), false, 'unknown connection');
      assert.deepEqual((await r.groupMembers('g1')).map((x) => x.id).sort(), ['a', 'b']);
      await r.leave('b', 'g1');
      await r.leave('b', 'g1'); // idempotent
      assert.deepEqual((await r.groupMembers('g1')).map((x) => x.id), ['a']);
      await r.remove('a');
      assert.deepEqual(await r.groupMembers('g1'), []);
      assert.deepEqual(await r.groupMembers('g2'), []);
    });

    it('lists in pages without loss or repetition, with filters, while connections come and go', async () => {
      for (let i = 0; i < 250; i++) await r.add(record(`c${i}`, i % 2 ? 'odd' : 'even'));
      for (let i = 0; i < 250; i += 5) await r.join(`c${i}`, 'fives');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await r.list({ limit: 40, cursor });
        seen.push(...page.items.map((x) => x.record.id));
        cursor = page.cursor;
        if (pages === 1) {
          await r.remove('c0'); // already listed
          await r.add(record('late')); // added mid-listing: appears at the end
        }
        pages++;
      } while (cursor !== undefined);
      assert.equal(new Set(seen).size, seen.length, 'no repetition');
      for (let i = 0; i < 250; i++) assert.ok(seen.includes(`c${i}`), `c${i} listed`);
      assert.ok(seen.includes('late'));
      const odd = await r.list({ principal: 'odd', limit: 1000 });
      assert.equal(odd.items.length, 125);
      assert.equal(odd.cursor, undefined);
      const fives = await r.list({ group: 'fives', limit: 1000 });
      assert.equal(fives.items.length, 49); // c0 was removed
      assert.ok(fives.items.every((x) => x.groups.includes('fives')));
    });

    it('rejects cursors it did not issue', async () => {
      await r.add(record('a'));
      for (const bad of ['garbage!', 'djE6', Buffer.from('v2:1').toString('base64url'), '']) {
        await assert.rejects(async () => r.list({ limit: 10, cursor: bad === '' ? '%%' : bad }), InvalidCursor, bad);
      }
    });
  });
}
