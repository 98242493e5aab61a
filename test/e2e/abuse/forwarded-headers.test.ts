// X-Forwarded-* from a client are not believed: the gateway appends the peer to X-Forwarded-For
// and sets Proto/Port to what it serves, as API Gateway does. Behind a proxy listed in
// trustProxy, the right-most untrusted X-Forwarded-For address is the client (sourceIp).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { validateConfig, type Gateway } from '../../../src/index.js';
import { TestClient } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';
import { rawHandshake } from '../../helpers/raw-handshake.js';
import { call } from '../../helpers/signed.js';

const P = './event-probe.mjs';
const probe = (): any[] => ((globalThis as any).__sbProbe ??= []);
const connectEvent = () => probe().find((e) => e.type === undefined && e.requestContext?.routeKey === '$connect');
const ROUTES = { $connect: { handler: `${P}#connect` }, $default: { handler: `${P}#record`, routeResponse: true } };

async function connectWith(gw: Gateway, headers: Record<string, string>): Promise<{ c: TestClient; ev: any }> {
  probe().length = 0;
  const c = await TestClient.connect(gw.url, { headers });
  return { c, ev: connectEvent() };
}

describe('abuse: X-Forwarded-* from an untrusted client', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: ROUTES });
  });
  after(() => gw.close());

  it('X-Forwarded-For gets the peer appended; Proto and Port are the gateway’s own; sourceIp is the peer', async () => {
    const { c, ev } = await connectWith(gw, { 'X-Forwarded-For': '6.6.6.6', 'x-forwarded-proto': 'https', 'X-Forwarded-Port': '1' });
    assert.equal(ev.headers['X-Forwarded-For'], '6.6.6.6, 127.0.0.1');
    assert.deepEqual(ev.multiValueHeaders['X-Forwarded-For'], ['6.6.6.6, 127.0.0.1']);
    assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
    assert.equal(ev.headers['x-forwarded-proto'], undefined, 'the client’s own casing is gone too');
    assert.equal(ev.headers['X-Forwarded-Port'], String(gw.port));
    assert.deepEqual(ev.multiValueHeaders['X-Forwarded-Port'], [String(gw.port)]);
    assert.equal(ev.requestContext.identity.sourceIp, '127.0.0.1');
    c.close();
  });

  it('two X-Forwarded-For lines are joined before the peer', async () => {
    probe().length = 0;
    const r = await rawHandshake(gw.port, `/${gw.stage}`, ['X-Forwarded-For: 1.1.1.1', 'x-forwarded-for: 2.2.2.2']);
    assert.equal(r.status, 101);
    r.close();
    assert.equal(connectEvent().headers['X-Forwarded-For'], '1.1.1.1, 2.2.2.2, 127.0.0.1');
  });

  it('without X-Forwarded-For from the client it is the peer alone', async () => {
    const { c, ev } = await connectWith(gw, {});
    assert.equal(ev.headers['X-Forwarded-For'], '127.0.0.1');
    c.close();
  });
});

describe('abuse: trustProxy', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: ROUTES, trustProxy: ['127.0.0.0/8', '10.0.0.0/8', '::1'] });
  });
  after(() => gw.close());
  beforeEach(() => (probe().length = 0));

  it('the right-most untrusted X-Forwarded-For address is sourceIp: in events, GetConnection and the listing', async () => {
    const { c, ev } = await connectWith(gw, { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9, 10.1.2.3', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Port': '443' });
    assert.equal(ev.requestContext.identity.sourceIp, '203.0.113.9');
    assert.equal(ev.headers['X-Forwarded-For'], '198.51.100.1, 203.0.113.9, 10.1.2.3, 127.0.0.1');
    assert.equal(ev.headers['X-Forwarded-Proto'], 'https', 'a trusted proxy’s Proto is kept');
    assert.equal(ev.headers['X-Forwarded-Port'], '443');
    assert.equal((await c.request('hi')).text, 'ok');
    const msg = probe().find((e) => e.requestContext?.routeKey === '$default');
    assert.equal(msg.requestContext.identity.sourceIp, '203.0.113.9');
    const id = ev.requestContext.connectionId;
    assert.equal((await call(gw, 'GET', `/@connections/${encodeURIComponent(id)}`)).json().identity.sourceIp, '203.0.113.9');
    const listed = (await call(gw, 'GET', '/@connections')).json().items.find((x: any) => x.connectionId === id);
    assert.equal(listed.identity.sourceIp, '203.0.113.9');
    c.close();
  });

  it('every hop trusted: the left-most one; an entry that is not an address stops the walk', async () => {
    let { c, ev } = await connectWith(gw, { 'X-Forwarded-For': '10.0.0.7, 10.0.0.8' });
    assert.equal(ev.requestContext.identity.sourceIp, '10.0.0.7');
    c.close();
    ({ c, ev } = await connectWith(gw, { 'X-Forwarded-For': '203.0.113.1, <script>, 10.0.0.8' }));
    assert.equal(ev.requestContext.identity.sourceIp, '10.0.0.8');
    c.close();
    ({ c, ev } = await connectWith(gw, {}));
    assert.equal(ev.requestContext.identity.sourceIp, '127.0.0.1');
    assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
    c.close();
  });

  it('a peer outside trustProxy is not believed', async () => {
    const other = await startGateway({ routes: ROUTES, trustProxy: ['192.0.2.0/24'] });
    probe().length = 0;
    const c = await TestClient.connect(other.url, { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' } });
    const ev = connectEvent();
    assert.equal(ev.requestContext.identity.sourceIp, '127.0.0.1');
    assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
    c.close();
    await other.close();
  });

  it('the schema names a bad entry', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.local', '::1/129', '1.2.3']) {
      assert.throws(() => validateConfig({ trustProxy: ['10.0.0.1', bad] }), (e: Error) => e.message.includes('trustProxy.1') && e.message.includes(bad));
    }
    assert.deepEqual(validateConfig({ trustProxy: ['10.0.0.0/8', 'fd00::/8', '::1', '127.0.0.1'] }).trustProxy, ['10.0.0.0/8', 'fd00::/8', '::1', '127.0.0.1']);
  });
});
