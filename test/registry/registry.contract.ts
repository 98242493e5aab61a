import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InvalidCursor, type ConnectionRecord, type Registry } from '../../src/registry/registry.js';

/** A record as a gateway node would register it. */
export function record(id: string, principalId?: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return { id, stage: 'dev', nodeId: 'n1', connectedAt: 1_000, lastActiveAt: 2_000, identity: { sourceIp: '127.0.0.1' }, principalId, ...extra };
}

/** Ids of every listed connection matching a filter, in listing order (all pages). */
export async function listIds(r: Registry, filter: { principal?: string; group?: string } = {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await r.list({ ...filter, limit: 1000, cursor });
    ids.push(...page.items.map((x) => x.record.id));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}

/**
 * The behaviour every Registry implementation must have (memory, Redis). Call it from one test
 * file per implementation with a factory for a fresh, empty, started registry; `dispose` (when
 * given) is called after each test with what `create` returned.
 */
export function registryContract(name: string, create: () => Registry | Promise<Registry>, dispose?: (r: Registry) => void | Promise<void>): void {
  describe(`Registry contract: ${name}`, () => {
    let r: Registry;
    beforeEach(async () => {
      r = await create();
    });
    afterEach(async () => {
      await dispose?.(r);
    });

    it('is available once started', () => {
      assert.equal(r.available(), true);
    });

    it('adds, gets, counts and removes; remove returns the claim once', async () => {
      await r.add(record('a'));
      await r.add(record('b', 'alice'));
      assert.equal((await r.get('a'))?.id, 'a');
      assert.equal(await r.count(), 2);
      assert.equal(await r.remove('a'), true, 'the first remove claims it');
      assert.equal(await r.get('a'), undefined);
      assert.equal(await r.count(), 1);
      assert.equal(await r.remove('a'), false, 'a second remove claims nothing');
      assert.equal(await r.remove('never-there'), false);
    });

    it('many adds at once: each record is kept whole with its principal and groups, in the order of adding; a remove made while its add is under way still removes it', async () => {
      const ids = Array.from({ length: 450 }, (_, i) => `many${String(i).padStart(3, '0')}`);
      const adds = ids.map((id, i) => r.add(record(id, i % 2 === 0 ? 'even' : undefined, { groups: i % 3 === 0 ? ['third'] : undefined })));
      const removed = r.remove(ids[7]!);
      await Promise.all(adds);
      assert.equal(await removed, true, 'the remove claims the connection it overtook');
      const kept = ids.filter((_, i) => i !== 7);
      assert.equal(await r.count(), kept.length);
      assert.deepEqual(await listIds(r), kept);
      assert.deepEqual(await listIds(r, { principal: 'even' }), kept.filter((id) => Number(id.slice(4)) % 2 === 0));
      assert.deepEqual(await listIds(r, { group: 'third' }), kept.filter((id) => Number(id.slice(4)) % 3 === 0));
      assert.equal(await r.get(ids[7]!), undefined);
      assert.equal((await r.get(ids[449]!))?.nodeId, 'n1');
    });

    it('concurrent removes of one connection: exactly one claims it', async () => {
      await r.add(record('x'));
      const claims = await Promise.all([r.remove('x'), r.remove('x'), r.remove('x')]);
      assert.equal(claims.filter(Boolean).length, 1);
    });

    it('keeps what a survivor needs: node, identity, principal, domain name, authorizer context, groups', async () => {
      await r.add(record('a', 'alice', { nodeId: 'n7', domainName: 'ws.example.com', authorizer: { principalId: 'alice', tier: 'gold' }, groups: ['g1', 'g2'], identity: { sourceIp: '10.0.0.1', userAgent: 'ua/1' } }));
      const got = await r.get('a');
      assert.ok(got);
      assert.equal(got.nodeId, 'n7');
      assert.equal(got.stage, 'dev');
      assert.equal(got.connectedAt, 1_000);
      assert.equal(got.principalId, 'alice');
      assert.equal(got.domainName, 'ws.example.com');
      assert.deepEqual(got.authorizer, { principalId: 'alice', tier: 'gold' });
      assert.deepEqual([...(got.groups ?? [])].sort(), ['g1', 'g2']);
      assert.deepEqual(got.identity, { sourceIp: '10.0.0.1', userAgent: 'ua/1' });
      assert.deepEqual(await listIds(r, { group: 'g2' }), ['a'], 'groups given at add are indexed');
    });

    it('indexes principals from the record and from setPrincipal, and forgets them on remove', async () => {
      await r.add(record('a', 'alice'));
      await r.add(record('b', 'alice'));
      await r.add(record('c', 'bob'));
      await r.add(record('d'));
      await r.setPrincipal('d', 'alice');
      assert.deepEqual((await listIds(r, { principal: 'alice' })).sort(), ['a', 'b', 'd']);
      assert.equal((await r.get('d'))?.principalId, 'alice');
      await r.setPrincipal('d', 'bob');
      assert.deepEqual((await listIds(r, { principal: 'alice' })).sort(), ['a', 'b']);
      await r.remove('a');
      assert.deepEqual(await listIds(r, { principal: 'alice' }), ['b']);
      assert.deepEqual(await listIds(r, { principal: 'nobody' }), []);
    });

    it('joins and leaves groups; a removed connection leaves all its groups', async () => {
      await r.add(record('a'));
      await r.add(record('b'));
      assert.equal(await r.join('a', 'g1'), true);
      assert.equal(await r.join('a', 'g2'), true);
      assert.equal(await r.join('b', 'g1'), true);
      assert.equal(await r.join('zzz', 'g1'), false, 'unknown connection');
      assert.deepEqual((await listIds(r, { group: 'g1' })).sort(), ['a', 'b']);
      await r.leave('b', 'g1');
      await r.leave('b', 'g1'); // idempotent
      assert.deepEqual(await listIds(r, { group: 'g1' }), ['a']);
      await r.remove('a');
      assert.deepEqual(await listIds(r, { group: 'g1' }), []);
      assert.deepEqual(await listIds(r, { group: 'g2' }), []);
    });

    it('lists in a stable order (the order of adding), filtered lists too', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
      for (const id of ids) await r.add(record(id, 'p'));
      for (const id of [...ids].reverse()) await r.join(id, 'g'); // joined in reverse: the listing order stays
      assert.deepEqual(await listIds(r), ids);
      assert.deepEqual(await listIds(r, { principal: 'p' }), ids);
      assert.deepEqual(await listIds(r, { group: 'g' }), ids);
      assert.deepEqual(await listIds(r), ids, 'the same order when asked again');
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

    it('records of several nodes live side by side, each naming its node', async () => {
      await r.add(record('a', 'alice', { nodeId: 'n1' }));
      await r.add(record('b', 'alice', { nodeId: 'n2' }));
      const page = await r.list({ principal: 'alice', limit: 10 });
      assert.deepEqual(page.items.map((x) => [x.record.id, x.record.nodeId]), [['a', 'n1'], ['b', 'n2']]);
    });

    it('rejects cursors it did not issue', async () => {
      await r.add(record('a'));
      for (const bad of ['garbage!', 'djE6', Buffer.from('v2:1').toString('base64url'), '']) {
        await assert.rejects(async () => r.list({ limit: 10, cursor: bad === '' ? '%%' : bad }), InvalidCursor, bad);
      }
    });
  });
}
