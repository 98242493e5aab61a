import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SwitchboardClient, SwitchboardError } from '../../src/client/index.js';
import type { Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { CREDS, startGateway } from '../helpers/gateway.js';

const H = './handlers.ts';
const ROUTES = {
  $connect: { handler: `${H}#connectAs` },
  whoami: { handler: `${H}#whoami`, routeResponse: true },
  join: { handler: `${H}#joinGroup`, routeResponse: true },
};

/** Opens a client (`?user=` sets its principal, `?groups=a,b` its groups) and learns its id. */
async function connect(gw: Gateway, query = '', headers: Record<string, string> = {}): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`, { headers });
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

/** Expects `p` to reject with a SwitchboardError of that name and status; returns it. */
async function rejectsWith(p: Promise<unknown>, name: string, status: number): Promise<SwitchboardError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SwitchboardError, `expected a SwitchboardError, got ${(err as Error).name}: ${(err as Error).message}`);
    assert.equal(err.name, name);
    assert.equal(err.status, status);
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.length > 0);
    return err;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('SwitchboardClient: AWS operations', () => {
  let gw: Gateway;
  let sb: SwitchboardClient;
  before(async () => {
    gw = await startGateway({ routes: ROUTES });
    sb = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { ...CREDS } });
  });
  after(() => gw.close());

  it('postToConnection sends text as text and non-UTF-8 bytes as binary', async () => {
    const { c, id } = await connect(gw);
    await sb.postToConnection(id, 'héllo');
    assert.deepEqual(await c.next().then((m) => [m.text, m.binary]), ['héllo', false]);
    await sb.postToConnection(id, new Uint8Array([0xff, 0x00, 0xfe]));
    const b = await c.next();
    assert.equal(b.binary, true);
    assert.deepEqual([...b.data], [0xff, 0x00, 0xfe]);
    c.close();
  });

  it('getConnection returns Dates and the identity', async () => {
    const { c, id } = await connect(gw, '', { 'User-Agent': 'client-test/1' });
    const info = await sb.getConnection(id);
    assert.equal(info.connectionId, id);
    assert.ok(info.connectedAt instanceof Date && !Number.isNaN(info.connectedAt.getTime()));
    assert.ok(info.lastActiveAt.getTime() >= info.connectedAt.getTime());
    assert.deepEqual(info.identity, { sourceIp: '127.0.0.1', userAgent: 'client-test/1' });
    c.close();
  });

  it('deleteConnection closes with AWS’s 1000 by default, or the code and reason asked for', async () => {
    const plain = await connect(gw);
    await sb.deleteConnection(plain.id);
    assert.deepEqual(await plain.c.waitClose(), { code: 1000, reason: 'Connection Closed Normally' });
    const custom = await connect(gw);
    // Spaces, '+', '&' and non-ASCII survive the query string and the signature.
    const reason = 'password changed: a+b & ✓';
    await sb.deleteConnection(custom.id, { code: 4001, reason });
    assert.deepEqual(await custom.c.waitClose(), { code: 4001, reason });
  });

  it('an invalid close code or reason is a BadRequestException and closes nothing', async () => {
    const { c, id } = await connect(gw);
    await rejectsWith(sb.deleteConnection(id, { code: 1006 }), 'BadRequestException', 400);
    await rejectsWith(sb.deleteConnection(id, { code: 4001, reason: 'é'.repeat(62) }), 'BadRequestException', 400);
    await sleep(50);
    assert.equal(c.ws.readyState, 1);
    c.close();
  });

  it('a closed connection is a GoneException (410, empty body) for every call', async () => {
    const { c, id } = await connect(gw);
    c.close();
    await until(() => gw.connectionCount() === 0, 'closed');
    for (const p of [sb.postToConnection(id, 'x'), sb.getConnection(id), sb.deleteConnection(id), sb.group('room').add(id)]) {
      const err = await rejectsWith(p, 'GoneException', 410);
      assert.equal(typeof err.requestId, 'string');
    }
  });

  it('a wrong secret is an InvalidSignatureException, an unknown key an UnrecognizedClientException (403, as AWS)', async () => {
    const bad = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: 'wrong' } });
    const err = await rejectsWith(bad.getConnection('abc'), 'InvalidSignatureException', 403);
    assert.match(err.message, /^The request signature we calculated does not match the signature you provided\./);
    const unknown = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } });
    const e = await rejectsWith(unknown.getConnection('abc'), 'UnrecognizedClientException', 403);
    assert.ok(e instanceof SwitchboardError);
    assert.equal(e.message, 'The security token included in the request is invalid.');
  });

  it('tolerates a trailing slash on the endpoint, takes a credential provider, and uses the AWS credential chain by default', async () => {
    const { c, id } = await connect(gw);
    const slash = new SwitchboardClient({ endpoint: `${gw.managementEndpoint}/`, region: 'eu-west-1', credentials: async () => ({ ...CREDS }) });
    await slash.postToConnection(id, 'via provider');
    assert.equal((await c.next()).text, 'via provider');
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    process.env.AWS_ACCESS_KEY_ID = CREDS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = CREDS.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    try {
      await new SwitchboardClient({ endpoint: gw.managementEndpoint }).postToConnection(id, 'via the chain');
      assert.equal((await c.next()).text, 'via the chain');
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_SESSION_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    c.close();
  });

  it('rejects empty ids and bad endpoints before calling', () => {
    assert.throws(() => new SwitchboardClient({ endpoint: 'not a url' }), TypeError);
    assert.throws(() => sb.principal(''), TypeError);
    assert.throws(() => sb.group(''), TypeError);
    return assert.rejects(sb.postToConnection('', 'x'), TypeError);
  });
});

describe('SwitchboardClient: listing', () => {
  let gw: Gateway;
  let sb: SwitchboardClient;
  before(async () => {
    gw = await startGateway({ routes: ROUTES });
    sb = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { ...CREDS } });
  });
  after(() => gw.close());

  it('listConnections pages with nextToken; connections() iterates over every page; filters apply', async () => {
    const clients = await Promise.all(Array.from({ length: 25 }, (_, i) => connect(gw, `?user=u${i % 3}${i % 5 === 0 ? '&groups=fives' : ''}`)));
    const first = await sb.listConnections({ limit: 10 });
    assert.equal(first.items.length, 10);
    assert.equal(typeof first.nextToken, 'string');
    const second = await sb.listConnections({ limit: 10, nextToken: first.nextToken });
    assert.equal(second.items.length, 10);
    assert.equal(new Set([...first.items, ...second.items].map((x) => x.connectionId)).size, 20);

    const all = await collect(sb.connections({ limit: 7 }));
    assert.deepEqual(all.map((x) => x.connectionId).sort(), clients.map((x) => x.id).sort());
    const item = all.find((x) => x.connectionId === clients[0]!.id)!;
    assert.equal(item.principalId, 'u0');
    assert.deepEqual(item.groups, ['fives']);
    assert.ok(item.connectedAt instanceof Date);
    assert.deepEqual(item.identity, { sourceIp: '127.0.0.1', userAgent: null });

    const u1 = await collect(sb.connections({ principal: 'u1', limit: 2 }));
    assert.deepEqual(u1.map((x) => x.connectionId).sort(), clients.filter((_, i) => i % 3 === 1).map((x) => x.id).sort());
    const fives = (await sb.listConnections({ group: 'fives' })).items;
    assert.deepEqual(fives.map((x) => x.connectionId).sort(), clients.filter((_, i) => i % 5 === 0).map((x) => x.id).sort());
    const both = (await sb.listConnections({ group: 'fives', principal: 'u0' })).items;
    assert.deepEqual(both.map((x) => x.connectionId).sort(), clients.filter((_, i) => i % 5 === 0 && i % 3 === 0).map((x) => x.id).sort());
    for (const x of clients) x.c.close();
  });

  it('bad limits, page tokens and group names are BadRequestExceptions', async () => {
    await rejectsWith(sb.listConnections({ limit: 0 }), 'BadRequestException', 400);
    await rejectsWith(sb.listConnections({ limit: 1001 }), 'BadRequestException', 400);
    await rejectsWith(sb.listConnections({ nextToken: 'garbage!' }), 'BadRequestException', 400);
    await rejectsWith(sb.listConnections({ group: 'bad name' }), 'BadRequestException', 400);
    await rejectsWith(sb.group('bad/name').listConnections(), 'BadRequestException', 400);
  });
});

describe('SwitchboardClient: principals', () => {
  let gw: Gateway;
  let sb: SwitchboardClient;
  before(async () => {
    gw = await startGateway({ routes: ROUTES });
    sb = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { ...CREDS } });
  });
  after(() => gw.close());

  it('lists, sends to and closes one principal’s connections only', async () => {
    const alice = await Promise.all([1, 2, 3].map(() => connect(gw, '?user=alice')));
    const bob = await connect(gw, '?user=bob');
    const p = sb.principal('alice');
    assert.equal(p.id, 'alice');

    const listed = await collect(p.connections());
    assert.deepEqual(listed.map((x) => x.connectionId).sort(), alice.map((a) => a.id).sort());
    assert.ok(listed.every((x) => x.principalId === 'alice'));
    const page = await p.listConnections({ limit: 2 });
    assert.equal(page.items.length, 2);
    assert.ok(page.nextToken);

    assert.deepEqual(await p.send('hello alice'), { sent: 3, failed: [] });
    for (const a of alice) assert.equal((await a.c.next()).text, 'hello alice');

    assert.deepEqual(await p.close({ code: 4001, reason: 'password changed' }), { closed: 3 });
    for (const a of alice) assert.deepEqual(await a.c.waitClose(), { code: 4001, reason: 'password changed' });
    await bob.c.expectSilence(50);
    assert.equal(bob.c.ws.readyState, 1);
    await until(() => gw.connectionCount() === 1, 'alice gone');
    assert.deepEqual(await p.close(), { closed: 0 });
    assert.deepEqual(await p.send('nobody'), { sent: 0, failed: [] });
    bob.c.close();
  });

  it('percent-encodes principal ids', async () => {
    const user = 'user@example.com/ä b+c';
    const { c } = await connect(gw, `?user=${encodeURIComponent(user)}`);
    const [item] = await collect(sb.principal(user).connections());
    assert.equal(item?.principalId, user);
    assert.deepEqual(await sb.principal(user).send('hi'), { sent: 1, failed: [] });
    assert.equal((await c.next()).text, 'hi');
    assert.equal((await sb.listConnections({ principal: user })).items.length, 1);
    c.close();
  });

  it('an invalid close code closes nothing', async () => {
    const { c } = await connect(gw, '?user=carol');
    await rejectsWith(sb.principal('carol').close({ code: 3000 }), 'BadRequestException', 400);
    await sleep(50);
    assert.equal(c.ws.readyState, 1);
    c.close();
  });
});

describe('SwitchboardClient: groups and broadcast', () => {
  let gw: Gateway;
  let sb: SwitchboardClient;
  before(async () => {
    gw = await startGateway({ routes: ROUTES });
    sb = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { ...CREDS } });
  });
  after(() => gw.close());

  it('add, list, send (with exclude), remove', async () => {
    const a = await connect(gw, '?groups=lobby');
    const b = await connect(gw);
    const outsider = await connect(gw);
    const room = sb.group('room:1.a_b-c');
    assert.equal(room.name, 'room:1.a_b-c');
    await room.add(a.id);
    await room.add(b.id);
    await room.add(b.id); // again: no-op
    assert.deepEqual((await collect(room.connections())).map((x) => x.connectionId).sort(), [a.id, b.id].sort());
    const aItem = (await room.listConnections()).items.find((x) => x.connectionId === a.id)!;
    assert.deepEqual([...aItem.groups].sort(), ['lobby', 'room:1.a_b-c']);

    assert.deepEqual(await room.send('to room'), { sent: 2, failed: [] });
    assert.equal((await a.c.next()).text, 'to room');
    assert.equal((await b.c.next()).text, 'to room');
    await outsider.c.expectSilence(50);

    assert.deepEqual(await room.send('not to a', { exclude: a.id }), { sent: 1, failed: [] });
    assert.equal((await b.c.next()).text, 'not to a');
    await a.c.expectSilence(50);

    await room.remove(b.id);
    await room.remove(b.id); // not a member: no-op
    assert.deepEqual((await collect(room.connections())).map((x) => x.connectionId), [a.id]);
    for (const x of [a, b, outsider]) x.c.close();
  });

  it('close closes the members with the code and reason', async () => {
    const members = await Promise.all([1, 2].map(() => connect(gw, '?groups=doomed')));
    const other = await connect(gw, '?groups=safe');
    assert.deepEqual(await sb.group('doomed').close({ code: 4100, reason: 'room closed' }), { closed: 2 });
    for (const m of members) assert.deepEqual(await m.c.waitClose(), { code: 4100, reason: 'room closed' });
    assert.equal(other.c.ws.readyState, 1);
    other.c.close();
  });

  it('bad group names are BadRequestExceptions', async () => {
    const { c, id } = await connect(gw);
    for (const bad of ['bad name', 'x'.repeat(129), 'sl/ash', 'ä']) {
      await rejectsWith(sb.group(bad).add(id), 'BadRequestException', 400);
      await rejectsWith(sb.group(bad).send('x'), 'BadRequestException', 400);
    }
    c.close();
  });

  it('broadcast reaches every connection, optionally excluding one', async () => {
    await until(() => gw.connectionCount() === 0, 'earlier clients gone');
    const clients = await Promise.all([1, 2, 3].map(() => connect(gw)));
    assert.deepEqual(await sb.broadcast('all'), { sent: 3, failed: [] });
    for (const x of clients) assert.equal((await x.c.next()).text, 'all');
    assert.deepEqual(await sb.broadcast(new Uint8Array([0xff, 1]), { exclude: clients[0]!.id }), { sent: 2, failed: [] });
    await clients[0]!.c.expectSilence(50);
    for (const x of clients.slice(1)) assert.equal((await x.c.next()).binary, true);
    for (const x of clients) x.c.close();
  });
});
