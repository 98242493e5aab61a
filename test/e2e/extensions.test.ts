import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { TOPOLOGIES } from '../helpers/cluster-memory.js';
import { call, unsigned } from '../helpers/signed.js';

const H = './handlers.ts';
const ROUTES = {
  $connect: { handler: `${H}#connectAs` },
  whoami: { handler: `${H}#whoami`, routeResponse: true },
  join: { handler: `${H}#joinGroup`, routeResponse: true },
  directive: { handler: `${H}#directive`, routeResponse: true },
};

async function connect(gw: Gateway, query = ''): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`);
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

for (const topo of TOPOLOGIES) describe(`extensions: close code and reason on DeleteConnection, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => (gw = await topo.start({ routes: ROUTES })));
  after(() => gw.close());

  it('closes with the code and reason asked for, and $disconnect-style AWS close without them', async () => {
    const { c, id } = await connect(gw);
    const res = await call(gw, 'DELETE', `/@connections/${id}?code=4001&reason=${encodeURIComponent('password changed ✓')}`);
    assert.equal(res.status, 204);
    assert.deepEqual(await c.waitClose(), { code: 4001, reason: 'password changed ✓' });
    const plain = await connect(gw);
    await call(gw, 'DELETE', `/@connections/${plain.id}`);
    assert.deepEqual(await plain.c.waitClose(), { code: 1000, reason: 'Connection Closed Normally' });
    const normal = await connect(gw);
    await call(gw, 'DELETE', `/@connections/${normal.id}?code=1000&reason=bye`);
    assert.deepEqual(await normal.c.waitClose(), { code: 1000, reason: 'bye' });
  });

  it('answers 400 for invalid codes and reasons and closes nothing', async () => {
    const { c, id } = await connect(gw);
    for (const q of ['code=1001', 'code=3000', 'code=5000', 'code=abc', 'code=40011', `reason=${'x'.repeat(124)}`, `reason=${encodeURIComponent('é'.repeat(62))}`]) {
      const res = await call(gw, 'DELETE', `/@connections/${id}?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException');
      assert.ok(res.json().message);
    }
    await c.expectSilence(50);
    assert.equal(c.ws.readyState, 1);
    // 123 bytes of UTF-8 is the most a close frame holds, and is accepted.
    assert.equal((await call(gw, 'DELETE', `/@connections/${id}?code=4999&reason=${'x'.repeat(123)}`)).status, 204);
    assert.equal((await c.waitClose()).reason.length, 123);
  });

  it('a closing connection is gone for callers at once: 410 on GET and POST, and in no listing', async () => {
    const closing = await connect(gw, '?user=dave&groups=g');
    const stays = await connect(gw, '?user=dave&groups=g');
    // The client never reads the close frame, so the close handshake cannot finish.
    (closing.c.ws as any)._socket.pause();
    try {
      assert.equal((await call(gw, 'DELETE', `/@connections/${closing.id}`)).status, 204);
      const got = await call(gw, 'GET', `/@connections/${closing.id}`);
      assert.equal(got.status, 410);
      assert.equal(got.headers['x-amzn-errortype'], 'GoneException');
      const posted = await call(gw, 'POST', `/@connections/${closing.id}`, 'too late');
      assert.equal(posted.status, 410, 'a post to a closing connection is refused, not dropped silently');
      assert.equal(posted.headers['x-amzn-errortype'], 'GoneException');
      for (const list of ['/@connections', '/@principals/dave/connections', '/@groups/g/connections']) {
        const res = await call(gw, 'GET', list);
        assert.equal(res.status, 200, list);
        assert.deepEqual(res.json().items.map((x: any) => x.connectionId), [stays.id], list);
      }
    } finally {
      closing.c.ws.terminate();
      stays.c.close();
    }
  });
});

for (const topo of TOPOLOGIES) describe(`extensions: principals, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => (gw = await topo.start({ routes: ROUTES })));
  after(() => gw.close());

  it('lists, sends to and closes exactly one principal’s connections, answering how many', async () => {
    const alice = await Promise.all([1, 2, 3].map(() => connect(gw, '?user=alice')));
    const bob = await connect(gw, '?user=bob');
    const anon = await connect(gw);

    const listed = await call(gw, 'GET', '/@principals/alice/connections');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json().items.map((x: any) => x.connectionId).sort(), alice.map((a) => a.id).sort());
    const item = listed.json().items[0];
    assert.equal(item.principalId, 'alice');
    assert.deepEqual(item.identity, { sourceIp: '127.0.0.1', userAgent: null });
    assert.match(item.connectedAt, /Z$/);

    const sent = await call(gw, 'POST', '/@principals/alice', 'hello alice');
    assert.deepEqual(sent.json(), { sent: 3, failed: [] });
    for (const a of alice) assert.equal((await a.c.next()).text, 'hello alice');
    await bob.c.expectSilence(50);

    const closed = await call(gw, 'DELETE', `/@principals/alice?code=4001&reason=${encodeURIComponent('password changed')}`);
    assert.equal(closed.status, 200);
    assert.deepEqual(closed.json(), { closed: 3 });
    for (const a of alice) assert.deepEqual(await a.c.waitClose(), { code: 4001, reason: 'password changed' });
    await sleep(50);
    assert.equal(bob.c.ws.readyState, 1, "bob's session stays");
    assert.equal(anon.c.ws.readyState, 1);
    await until(() => gw.connectionCount() === 2, 'closed connections gone');
    assert.deepEqual((await call(gw, 'GET', '/@principals/alice/connections')).json(), { items: [] });
    assert.deepEqual((await call(gw, 'DELETE', '/@principals/alice')).json(), { closed: 0 });
    bob.c.close();
    anon.c.close();
  });

  it('principal ids travel percent-encoded', async () => {
    const { c } = await connect(gw, `?user=${encodeURIComponent('user@example.com/ä')}`);
    const res = await call(gw, 'GET', `/@principals/${encodeURIComponent('user@example.com/ä')}/connections`);
    assert.equal(res.json().items.length, 1);
    c.close();
  });

  it('validates close parameters before closing anything', async () => {
    const { c } = await connect(gw, '?user=carol');
    assert.equal((await call(gw, 'DELETE', '/@principals/carol?code=1006')).status, 400);
    await c.expectSilence(50);
    assert.equal(c.ws.readyState, 1);
    c.close();
  });

  it('?exclude= spares one connection on principal send and close', async () => {
    const erin = await Promise.all([1, 2, 3].map(() => connect(gw, '?user=erin')));
    const [me, ...others] = erin;
    assert.deepEqual((await call(gw, 'POST', `/@principals/erin?exclude=${me!.id}`, 'not to me')).json(), { sent: 2, failed: [] });
    for (const o of others) assert.equal((await o.c.next()).text, 'not to me');
    await me!.c.expectSilence(50);

    const closed = await call(gw, 'DELETE', `/@principals/erin?exclude=${me!.id}&code=4001&reason=elsewhere`);
    assert.equal(closed.status, 200);
    assert.deepEqual(closed.json(), { closed: 2 });
    for (const o of others) assert.deepEqual(await o.c.waitClose(), { code: 4001, reason: 'elsewhere' });
    await me!.c.expectSilence(50);
    assert.equal(me!.c.ws.readyState, 1, 'the excluded session stays');
    assert.deepEqual((await call(gw, 'GET', '/@principals/erin/connections')).json().items.map((x: any) => x.connectionId), [me!.id]);
    me!.c.close();
  });
});

for (const topo of TOPOLOGIES) describe(`extensions: groups, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => (gw = await topo.start({ routes: ROUTES })));
  after(() => gw.close());

  it('joins by management call and by handler answers; group send reaches members only', async () => {
    const a = await connect(gw, '?groups=room1,lobby');
    const b = await connect(gw);
    const outsider = await connect(gw);
    assert.equal((await call(gw, 'PUT', `/@groups/room1/connections/${b.id}`)).status, 204);
    assert.equal((await b.c.request({ action: 'join', group: 'room2' })).text, 'ok');

    const members = await call(gw, 'GET', '/@groups/room1/connections');
    assert.deepEqual(members.json().items.map((x: any) => x.connectionId).sort(), [a.id, b.id].sort());
    assert.deepEqual(members.json().items.find((x: any) => x.connectionId === a.id).groups.sort(), ['lobby', 'room1']);

    assert.deepEqual((await call(gw, 'POST', '/@groups/room1', 'to room1')).json(), { sent: 2, failed: [] });
    assert.equal((await a.c.next()).text, 'to room1');
    assert.equal((await b.c.next()).text, 'to room1');
    await outsider.c.expectSilence(50);

    assert.deepEqual((await call(gw, 'POST', `/@groups/room1?exclude=${a.id}`, 'not to a')).json(), { sent: 1, failed: [] });
    assert.equal((await b.c.next()).text, 'not to a');
    await a.c.expectSilence(50);

    assert.deepEqual((await call(gw, 'POST', '/@groups/room2', Buffer.from([0xff, 1]))).json(), { sent: 1, failed: [] });
    const bin = await b.c.next();
    assert.equal(bin.binary, true);

    // Leave by management call and by handler answer.
    assert.equal((await call(gw, 'DELETE', `/@groups/room1/connections/${b.id}`)).status, 204);
    await b.c.request({ action: 'join', group: 'room2', leave: true });
    assert.deepEqual((await call(gw, 'GET', '/@groups/room1/connections')).json().items.map((x: any) => x.connectionId), [a.id]);
    assert.deepEqual((await call(gw, 'GET', '/@groups/room2/connections')).json().items, []);
    for (const x of [a, b, outsider]) x.c.close();
  });

  it('a closed connection leaves all its groups; joining a gone connection answers 410', async () => {
    const a = await connect(gw, '?groups=g1,g2');
    a.c.close();
    await until(() => gw.connectionCount() === 0, 'closed');
    assert.deepEqual((await call(gw, 'GET', '/@groups/g1/connections')).json().items, []);
    assert.deepEqual((await call(gw, 'GET', '/@groups/g2/connections')).json().items, []);
    const res = await call(gw, 'PUT', `/@groups/g1/connections/${a.id}`);
    assert.equal(res.status, 410);
    assert.equal(res.headers['x-amzn-errortype'], 'GoneException');
  });

  it('closes a group with a code and reason', async () => {
    const members = await Promise.all([1, 2].map(() => connect(gw, '?groups=doomed')));
    const other = await connect(gw, '?groups=safe');
    assert.deepEqual((await call(gw, 'DELETE', '/@groups/doomed?code=4100&reason=room%20closed')).json(), { closed: 2 });
    for (const m of members) assert.deepEqual(await m.c.waitClose(), { code: 4100, reason: 'room closed' });
    assert.equal(other.c.ws.readyState, 1);
    other.c.close();
  });

  it('answers 400 for bad group names, and a handler answer with a bad group name joins nothing', async () => {
    for (const bad of ['bad%20name', 'x'.repeat(129), 'sl%2Fash', 'qu%22ote']) {
      const res = await call(gw, 'PUT', `/@groups/${bad}/connections/abc`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException');
      assert.equal((await call(gw, 'POST', `/@groups/${bad}`, 'x')).status, 400);
      assert.equal((await call(gw, 'GET', `/@groups/${bad}/connections`)).status, 400);
    }
    assert.equal((await call(gw, 'GET', '/@connections?group=bad%20name')).status, 400);
    const { c } = await connect(gw, '?badgroup=1');
    assert.equal((await call(gw, 'GET', '/@connections')).json().items.find((x: any) => x.groups.length > 0), undefined);
    c.close();
  });

  it('?exclude= spares one connection on group close', async () => {
    const members = await Promise.all([1, 2, 3].map(() => connect(gw, '?groups=party')));
    const [me, ...others] = members;
    const closed = await call(gw, 'DELETE', `/@groups/party?exclude=${me!.id}&code=4100&reason=over`);
    assert.equal(closed.status, 200);
    assert.deepEqual(closed.json(), { closed: 2 });
    for (const o of others) assert.deepEqual(await o.c.waitClose(), { code: 4100, reason: 'over' });
    await me!.c.expectSilence(50);
    assert.equal(me!.c.ws.readyState, 1, 'the excluded member stays');
    assert.deepEqual((await call(gw, 'GET', '/@groups/party/connections')).json().items.map((x: any) => x.connectionId), [me!.id]);
    me!.c.close();
  });

  it('bad input on group close answers 400 and closes nothing', async () => {
    const members = await Promise.all([1, 2].map(() => connect(gw, '?groups=g')));
    assert.equal((await call(gw, 'GET', '/@groups/g/connections')).json().items.length, 2);
    for (const q of ['bad%20name?code=4001', 'g?code=1006', `g?reason=${'x'.repeat(124)}`]) {
      const res = await call(gw, 'DELETE', `/@groups/${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException', q);
    }
    for (const m of members) {
      await m.c.expectSilence(50);
      assert.equal(m.c.ws.readyState, 1);
    }
    assert.equal((await call(gw, 'GET', '/@groups/g/connections')).json().items.length, 2, 'still members');
    for (const m of members) m.c.close();
  });

  it('a malformed switchboard directive in a handler answer changes nothing; the answer still counts', async () => {
    const a = await connect(gw);
    // One bad name spoils the whole directive: not even the good join is applied.
    assert.equal((await a.c.request({ action: 'directive', switchboard: { join: ['okgroup'], leave: ['bad name'] } })).text, 'ok');
    assert.deepEqual((await call(gw, 'GET', '/@groups/okgroup/connections')).json().items, []);
    // principalId belongs to $connect answers only.
    assert.equal((await a.c.request({ action: 'directive', switchboard: { principalId: 'mallory' } })).text, 'ok');
    assert.deepEqual((await call(gw, 'GET', '/@principals/mallory/connections')).json().items, []);
    assert.equal((await call(gw, 'GET', `/@connections?limit=1000`)).json().items.find((x: any) => x.connectionId === a.id).principalId, null);
    // A well-formed directive on the same route does apply (the route itself works).
    assert.equal((await a.c.request({ action: 'directive', switchboard: { join: ['okgroup'] } })).text, 'ok');
    assert.deepEqual((await call(gw, 'GET', '/@groups/okgroup/connections')).json().items.map((x: any) => x.connectionId), [a.id]);

    // A $connect answer with a principal and a bad group: the connection opens, with neither.
    const carol = await connect(gw, '?user=carol&badgroup=1');
    assert.equal(carol.c.ws.readyState, 1);
    assert.deepEqual((await call(gw, 'GET', '/@principals/carol/connections')).json().items, []);
    const item = (await call(gw, 'GET', '/@connections?limit=1000')).json().items.find((x: any) => x.connectionId === carol.id);
    assert.equal(item.principalId, null);
    assert.deepEqual(item.groups, []);
    a.c.close();
    carol.c.close();
  });

  it('never leaks membership across stages', async () => {
    const prod = await startGateway({ stage: 'prod', routes: ROUTES });
    const devMember = await connect(gw, '?groups=shared');
    const prodMember = await connect(prod, '?groups=shared');
    assert.deepEqual((await call(gw, 'POST', '/@groups/shared', 'dev only')).json(), { sent: 1, failed: [] });
    assert.equal((await devMember.c.next()).text, 'dev only');
    await prodMember.c.expectSilence(50);
    assert.equal((await call(prod, 'PUT', `/@groups/shared/connections/${devMember.id}`)).status, 410, 'a dev connection is unknown on prod');
    devMember.c.close();
    prodMember.c.close();
    await prod.close();
  });
});

describe('extensions: close parameters on a gateway without management auth', () => {
  let gw: Gateway;
  before(async () => (gw = await startGateway({ routes: ROUTES, management: { auth: 'none' } })));
  after(() => gw.close());

  it('answers 400 for a reason that is not UTF-8 and for repeated code or reason, and closes nothing', async () => {
    const { c, id } = await connect(gw);
    for (const q of ['code=4001&reason=%FF%FE', 'code=4001&code=1006', 'reason=a&reason=b']) {
      const res = await unsigned(gw, 'DELETE', `/@connections/${id}?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException', q);
    }
    await c.expectSilence(50);
    assert.equal(c.ws.readyState, 1);
    assert.equal((await unsigned(gw, 'GET', `/@connections/${id}`)).status, 200, 'still open');
    assert.equal((await unsigned(gw, 'DELETE', `/@connections/${id}?code=4001&reason=%E2%9C%93`)).status, 204);
    assert.deepEqual(await c.waitClose(), { code: 4001, reason: '✓' });
  });
});

for (const topo of TOPOLOGIES) describe(`extensions: broadcast, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => (gw = await topo.start({ routes: ROUTES })));
  after(() => gw.close());

  it('sends to every connection of the stage, optionally excluding the sender', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => connect(gw)));
    assert.deepEqual((await call(gw, 'POST', '/@broadcast', 'all')).json(), { sent: 3, failed: [] });
    for (const x of clients) assert.equal((await x.c.next()).text, 'all');
    assert.deepEqual((await call(gw, 'POST', `/@broadcast?exclude=${clients[0]!.id}`, 'others')).json(), { sent: 2, failed: [] });
    await clients[0]!.c.expectSilence(50);
    for (const x of clients.slice(1)) assert.equal((await x.c.next()).text, 'others');
    for (const x of clients) x.c.close();
  });

  it('reports recipients whose buffers are full instead of dropping silently', async () => {
    const gw2 = await startGateway({ routes: ROUTES, limits: { sendBufferBytes: 1024, messageBytes: 65536 } });
    const slow = await connect(gw2);
    const fast = await connect(gw2);
    (slow.c.ws as any)._socket.pause();
    let result: any;
    for (let i = 0; i < 2000; i++) {
      result = (await call(gw2, 'POST', '/@broadcast', 'z'.repeat(60_000))).json();
      if (result.failed.length > 0) break;
      await fast.c.next();
    }
    assert.deepEqual(result.failed, [{ connectionId: slow.id, reason: 'full' }]);
    assert.equal(result.sent, 1);
    slow.c.ws.terminate();
    fast.c.close();
    await gw2.close();
  });
});

for (const topo of TOPOLOGIES) describe(`extensions: listing, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => (gw = await topo.start({ routes: ROUTES, limits: { maxConnections: 0 } })));
  after(() => gw.close());

  it('pages through 1,000 connections without loss or repetition', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 1000; i += 50) {
      clients.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => TestClient.connect(`${gw.url}?user=u${(i + j) % 7}`)))));
    }
    await until(() => gw.connectionCount() === 1000, '1,000 connections');
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await call(gw, 'GET', `/@connections?limit=90${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`);
      assert.equal(res.status, 200);
      const body = res.json();
      assert.ok(body.items.length <= 90);
      seen.push(...body.items.map((x: any) => x.connectionId));
      token = body.nextToken;
      pages++;
    } while (token);
    assert.equal(pages, 12);
    assert.equal(seen.length, 1000);
    assert.equal(new Set(seen).size, 1000, 'no repetition');
    const byPrincipal = await call(gw, 'GET', '/@connections?principal=u3&limit=1000');
    assert.equal(byPrincipal.json().items.length, Math.floor(1000 / 7) + (1000 % 7 > 3 ? 1 : 0));
    // ?search= pages too: the same matches as filtering the whole listing, none lost or repeated.
    const all = (await call(gw, 'GET', '/@connections?limit=1000')).json().items;
    const has = (x: any) => [x.connectionId, x.principalId, x.identity.sourceIp, x.identity.userAgent, ...x.groups].some((f) => typeof f === 'string' && f.toLowerCase().includes('u3'));
    const expected = all.filter(has).map((x: any) => x.connectionId);
    const found: string[] = [];
    token = undefined;
    do {
      const body = (await call(gw, 'GET', `/@connections?search=U3&limit=30${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`)).json();
      assert.ok(body.items.length <= 30);
      found.push(...body.items.map((x: any) => x.connectionId));
      token = body.nextToken;
    } while (token);
    assert.deepEqual(found, expected, 'search pages hold every match once, in listing order');
    for (const c of clients) c.ws.terminate();
  });

  it('answers 400 for bad limits and page tokens', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'nextToken=garbage!', `nextToken=${Buffer.from('v1:x').toString('base64url')}`]) {
      const res = await call(gw, 'GET', `/@connections?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException');
    }
  });
});
