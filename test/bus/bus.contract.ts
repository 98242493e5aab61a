import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { BusUnavailable, BusUnconfirmed, type Bus } from '../../src/bus/bus.js';
import type { Gateway } from '../../src/index.js';
import type { Registry } from '../../src/registry/registry.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { FIXTURES, startGateway } from '../helpers/gateway.js';

/** What a bus implementation gives the contract: per node, the registry and bus a gateway runs with. */
export interface BusNodes {
  nodes: Array<{ nodeId: string; registry: Registry; bus: Bus }>;
  /** Makes node `i` stop answering (true) or answer again; without it the `unknown` cases are not run. */
  setUnresponsive?(i: number, unresponsive: boolean): void;
  /** Releases what the factory made beyond the gateways (which close their own registry and bus). */
  close?(): Promise<void>;
}

const H = './handlers.ts';
const ROUTES = { $connect: { handler: `${H}#connectAs` }, whoami: { handler: `${H}#whoami`, routeResponse: true } };

/**
 * The behaviour every Bus must have, checked through real gateways (one per node, each started
 * with the node's registry and bus) and real WebSocket clients; the buses are called directly.
 * `create(n)` makes `n` nodes; `maxNodes` 1 runs only the single-node cases (LocalBus).
 */
export function busContract(name: string, create: (n: number) => Promise<BusNodes>, o: { maxNodes: number }): void {
  const n = Math.min(3, o.maxNodes);
  describe(`Bus contract: ${name} (${n} node${n > 1 ? 's' : ''})`, () => {
    let made: BusNodes;
    let gws: Gateway[] = [];
    const clients: TestClient[] = [];
    const bus = (i: number) => made.nodes[i]!.bus;
    const last = () => n - 1;

    before(async () => {
      made = await create(n);
      for (let i = 0; i < n; i++) {
        const { registry, bus, nodeId } = made.nodes[i]!;
        gws.push(await startGateway({ routes: ROUTES, limits: { sendBufferBytes: 1024 }, ...(i > 0 ? { handlerEnvironment: false } : {}) }, FIXTURES, { registry, bus, nodeId }));
      }
    });
    after(async () => {
      for (const g of [...gws].reverse()) await g.close();
      gws = [];
      await made.close?.();
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.ws.terminate();
    });

    /** A client on node `i`, with `?user=&groups=` for its $connect. */
    async function on(i: number, query = ''): Promise<{ c: TestClient; id: string }> {
      const c = await TestClient.connect(`${gws[i]!.url}${query}`);
      clients.push(c);
      const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
      return { c, id };
    }

    it('send by id: text and binary delivered by the owner, `gone` for an unknown id', async () => {
      const a = await on(0);
      assert.equal(await bus(last()).send(a.id, 'hello', false), 'ok');
      assert.deepEqual([(await a.c.next()).text], ['hello']);
      assert.equal(await bus(last()).send(a.id, Buffer.from([1, 2, 255]), true), 'ok');
      const m = await a.c.next();
      assert.equal(m.binary, true);
      assert.deepEqual([...m.data], [1, 2, 255]);
      assert.equal(await bus(last()).send('nope-not-an-id', 'x', false), 'gone');
    });

    it('many requests at once for connections on several nodes (some unknown): each gets its own answer, in order per connection', async () => {
      const held = [];
      for (let i = 0; i < 8; i++) held.push(await on(i % n));
      const calls: Array<Promise<string>> = [];
      for (let k = 0; k < 20; k++) {
        for (const h of held) calls.push(bus(last()).send(h.id, `m${k}`, false));
        calls.push(bus(last()).send(`unknown-${k}`, 'x', false));
      }
      const infos = Promise.all(held.map((h) => bus(last()).info(h.id)));
      const answers = await Promise.all(calls);
      answers.forEach((a, i) => assert.equal(a, i % (held.length + 1) === held.length ? 'gone' : 'ok', `answer ${i}`));
      assert.deepEqual((await infos).map((r) => r?.id), held.map((h) => h.id));
      for (const h of held) {
        const got = [];
        for (let k = 0; k < 20; k++) got.push((await h.c.next()).text);
        assert.deepEqual(got, Array.from({ length: 20 }, (_, k) => `m${k}`));
      }
    });

    it('send by id: `full` when the recipient cannot take more', async () => {
      const a = await on(0);
      (a.c.ws as any)._socket.pause();
      let outcome = 'ok';
      for (let i = 0; i < 5000 && outcome === 'ok'; i++) outcome = await bus(last()).send(a.id, 'z'.repeat(4096), false);
      assert.equal(outcome, 'full');
    });

    it('info: the owner\'s exact record (node, identity, principal, groups, live lastActiveAt); undefined once closed', async () => {
      const a = await on(0, '?user=ann&groups=g1,g2');
      const first = await bus(last()).info(a.id);
      assert.ok(first);
      assert.equal(first.id, a.id);
      assert.equal(first.nodeId, made.nodes[0]!.nodeId);
      assert.equal(first.principalId, 'ann');
      assert.deepEqual([...(first.groups ?? [])].sort(), ['g1', 'g2']);
      assert.equal(first.identity.sourceIp, '127.0.0.1');
      await sleep(20);
      await a.c.request({ action: 'whoami' });
      const later = await bus(last()).info(a.id);
      assert.ok(later && later.lastActiveAt > first.lastActiveAt, 'lastActiveAt moved with a client message');
      assert.equal(await bus(last()).disconnect(a.id, 4001, 'bye'), true);
      assert.equal(await bus(last()).info(a.id), undefined);
      assert.equal(await bus(last()).info('nope-not-an-id'), undefined);
    });

    it('infoMany: one answer per id from its owner (exact lastActiveAt), null once closed', async () => {
      const a = await on(0);
      const b = await on(last());
      const ids = [
        { id: a.id, nodeId: made.nodes[0]!.nodeId },
        { id: b.id, nodeId: made.nodes[last()]!.nodeId },
      ];
      const first = await bus(last()).infoMany(ids);
      assert.equal(first.get(a.id)?.id, a.id);
      assert.equal(first.get(a.id)?.nodeId, made.nodes[0]!.nodeId);
      assert.equal(first.get(b.id)?.id, b.id);
      await sleep(20);
      await a.c.request({ action: 'whoami' });
      const later = await bus(last()).infoMany(ids);
      assert.ok(later.get(a.id)!.lastActiveAt > first.get(a.id)!.lastActiveAt, 'lastActiveAt moved with a client message');
      assert.equal(await bus(last()).disconnect(a.id, 4001, 'bye'), true);
      assert.equal((await bus(last()).infoMany(ids)).get(a.id), null);
    });

    it('disconnect: the close code and reason reach the client; false once it is not open', async () => {
      const a = await on(0);
      assert.equal(await bus(last()).disconnect(a.id, 4002, 'go away'), true);
      assert.deepEqual(await a.c.waitClose(), { code: 4002, reason: 'go away' });
      assert.equal(await bus(last()).disconnect(a.id, 4002, 'again'), false);
      assert.equal(await bus(last()).send(a.id, 'late', false), 'gone');
    });

    it('join and leave by id from any node; a fan-out to the group follows; joining an unknown id is false', async () => {
      const a = await on(0);
      assert.equal(await bus(last()).join(a.id, 'room'), true);
      assert.deepEqual(await bus(0).fanOut({ group: 'room' }, 'in room', false), { sent: 1, failed: [] });
      assert.equal((await a.c.next()).text, 'in room');
      await bus(last()).leave(a.id, 'room');
      assert.deepEqual(await bus(0).fanOut({ group: 'room' }, 'left', false), { sent: 0, failed: [] });
      assert.equal(await bus(last()).join('nope-not-an-id', 'room'), false);
      await bus(last()).leave('nope-not-an-id', 'room'); // no error
    });

    it('fanOut by principal, group and all, once per member over every node, leaving out `except`', async () => {
      const members = await Promise.all(Array.from({ length: n * 2 }, (_, i) => on(i % n, '?user=pat&groups=team')));
      const other = await on(last(), '?user=quinn');
      const except = members[0]!.id;
      const byPrincipal = await bus(0).fanOut({ principal: 'pat', except }, 'to pat', false);
      assert.deepEqual(byPrincipal, { sent: members.length - 1, failed: [] });
      for (const m of members.slice(1)) assert.equal((await m.c.next()).text, 'to pat');
      const byGroup = await bus(last()).fanOut({ group: 'team' }, 'to team', false);
      assert.deepEqual(byGroup, { sent: members.length, failed: [] });
      for (const m of members) assert.equal((await m.c.next()).text, 'to team');
      const all = await bus(0).fanOut({ all: true, except: other.id }, 'to all', false);
      assert.ok(all.sent >= members.length, `${all.sent} sent`);
      for (const m of members) assert.equal((await m.c.next()).text, 'to all');
      await members[0]!.c.expectSilence(50);
      await other.c.expectSilence(10);
    });

    it('fanOut names a member whose buffer is full as `full`, and one that is closing as `gone`', async () => {
      const slow = await on(0, '?user=sam');
      const closing = await on(0, '?user=sam');
      const fine = await on(last(), '?user=sam');
      (slow.c.ws as any)._socket.pause();
      (closing.c.ws as any)._socket.pause(); // never reads the close frame: stays closing
      for (let i = 0; i < 5000 && (await bus(0).send(slow.id, 'z'.repeat(4096), false)) === 'ok'; i++);
      assert.equal(await bus(last()).disconnect(closing.id, 4000, 'closing'), true);
      const out = await bus(last()).fanOut({ principal: 'sam' }, 'hi', false);
      assert.equal(out.sent, 1);
      assert.deepEqual(out.failed.map((f) => `${f.connectionId}:${f.reason}`).sort(), [`${closing.id}:gone`, `${slow.id}:full`].sort());
      assert.equal((await fine.c.next()).text, 'hi');
    });

    it('disconnectAll closes the members on every node, counts them, and leaves out `except`', async () => {
      const members = await Promise.all(Array.from({ length: n * 2 }, (_, i) => on(i % n, '?user=ray')));
      const keep = members[1]!;
      const out = await bus(0).disconnectAll({ principal: 'ray', except: keep.id }, 4003, 'all of ray');
      assert.deepEqual(out, { closed: members.length - 1, failed: [] });
      for (const m of members) if (m !== keep) assert.deepEqual(await m.c.waitClose(), { code: 4003, reason: 'all of ray' });
      assert.equal(keep.c.ws.readyState, 1);
      assert.deepEqual(await bus(last()).disconnectAll({ group: 'no-such-group' }, 4003, 'x'), { closed: 0, failed: [] });
    });

    if (n > 1) {
      it('operations by id reach the owner from every other node', async () => {
        const targets = await Promise.all(Array.from({ length: n }, (_, i) => on(i)));
        for (let from = 0; from < n; from++) {
          for (const t of targets) {
            assert.equal(await bus(from).send(t.id, `from ${from}`, false), 'ok');
            assert.equal((await t.c.next()).text, `from ${from}`);
          }
        }
      });
    }

    if (n > 1) {
      it('a node that does not answer: its members are `unknown` in fan-outs and closes; an operation by id is unconfirmed; others are served', async (t) => {
        if (made.setUnresponsive === undefined) return t.diagnostic('no setUnresponsive hook: not checked for this bus');
        const quiet = await on(1, '?user=una&groups=u');
        const heard = await on(0, '?user=una&groups=u');
        made.setUnresponsive(1, true);
        try {
          const out = await bus(0).fanOut({ principal: 'una' }, 'hello', false);
          assert.equal(out.sent, 1);
          assert.deepEqual(out.failed, [{ connectionId: quiet.id, reason: 'unknown' }]);
          assert.equal((await heard.c.next()).text, 'hello');
          await assert.rejects(bus(0).send(quiet.id, 'x', false), BusUnconfirmed);
          const closed = await bus(0).disconnectAll({ group: 'u', except: heard.id }, 4004, 'x');
          assert.deepEqual(closed, { closed: 0, failed: [{ connectionId: quiet.id, reason: 'unknown' }] });
        } finally {
          made.setUnresponsive(1, false);
        }
        assert.equal(await bus(0).send(quiet.id, 'back', false), 'ok');
        await until(() => quiet.c.inbox.some((m) => m.text === 'back'), 'delivered once the node answers again');
      });
    }

    it('a closed bus refuses with BusUnavailable (nothing attempted)', async () => {
      // A bus of its own, never started, stands for a closed one.
      const spare = await create(1);
      try {
        await assert.rejects(spare.nodes[0]!.bus.send('x', 'y', false), BusUnavailable);
        await assert.rejects(spare.nodes[0]!.bus.fanOut({ all: true }, 'y', false), BusUnavailable);
      } finally {
        await spare.close?.();
      }
    });
  });
}
