import assert from 'node:assert/strict';
import { TOPOLOGIES } from '../helpers/cluster-memory.js';
import { after, before, beforeEach, describe, it } from 'node:test';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { eventsOf, recorded, resetRecorded, startGateway } from '../helpers/gateway.js';
import { call } from '../helpers/signed.js';

const H = './handlers.ts';

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The id of the connection whose $connect ran last. */
function lastConnectionId(): string {
  return eventsOf('$connect').at(-1).requestContext.connectionId;
}

/** [code, reason] of the one $disconnect of a connection (fails if it runs twice). */
async function disconnectOf(id: string): Promise<[number, string]> {
  const of = () => eventsOf('$disconnect').filter((e) => e.requestContext.connectionId === id);
  await until(() => of().length > 0, `$disconnect of ${id}`);
  await sleep(100);
  assert.equal(of().length, 1, '$disconnect runs exactly once');
  const rc = of()[0].requestContext;
  return [rc.disconnectStatusCode, rc.disconnectReason];
}

async function refused(url: string, opts = {}): Promise<{ status: number; body: string }> {
  try {
    const c = await TestClient.connect(url, opts);
    c.close();
  } catch (err) {
    return err as { status: number; body: string };
  }
  throw new Error('expected the handshake to be refused');
}

for (const topo of TOPOLOGIES) describe(`gateway core: connect, route, respond (${topo.name})`, () => {
  let gw: Gateway;
  before(async () => {
    gw = await topo.start({
      routes: {
        $connect: { handler: `${H}#connect`, timeoutMs: 500 },
        $disconnect: { handler: `${H}#disconnect` },
        echo: { handler: `${H}#echo`, routeResponse: true },
        awsStyle: { handler: `${H}#echo`, routeResponseSelectionExpression: '$default' },
        silent: { handler: `${H}#silent` },
        whoami: { handler: `${H}#whoami`, routeResponse: true },
        fail: { handler: `${H}#fail`, routeResponse: true },
        slow: { handler: `${H}#slow`, routeResponse: true, timeoutMs: 200 },
        malformed: { handler: `${H}#malformed`, routeResponse: true },
        binary: { handler: `${H}#binaryReply`, routeResponse: true },
        callback: { handler: `${H}#callbackStyle`, routeResponse: true },
        sync: { handler: `${H}#syncValue`, routeResponse: true },
        context: { handler: `${H}#context`, routeResponse: true },
        $default: { handler: `${H}#echo`, routeResponse: true },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('accepts a client, runs $connect with AWS-shaped headers and query, and routes by $request.body.action', async () => {
    const c = await TestClient.connect(`${gw.url}?token=abc&multi=1&multi=2`, { headers: { 'User-Agent': 'test-agent/1.0', Auth: 'secret' } });
    const [ev] = eventsOf('$connect');
    assert.equal(ev.requestContext.eventType, 'CONNECT');
    assert.equal(ev.isBase64Encoded, false);
    assert.equal(ev.body, undefined);
    assert.equal(ev.headers['User-Agent'], 'test-agent/1.0');
    assert.equal(ev.headers.Auth, 'secret');
    assert.deepEqual(ev.multiValueHeaders.Auth, ['secret']);
    assert.equal(ev.headers.Upgrade, undefined, 'Connection and Upgrade are not passed to $connect');
    assert.equal(ev.headers['X-Forwarded-For'], '127.0.0.1');
    assert.deepEqual(ev.queryStringParameters, { token: 'abc', multi: '2' });
    assert.deepEqual(ev.multiValueQueryStringParameters, { token: ['abc'], multi: ['1', '2'] });
    const rc = ev.requestContext;
    for (const k of ['routeKey', 'eventType', 'extendedRequestId', 'requestTime', 'messageDirection', 'stage', 'connectedAt', 'requestTimeEpoch', 'identity', 'requestId', 'domainName', 'connectionId', 'apiId']) {
      assert.ok(k in rc, `requestContext.${k}`);
    }
    assert.equal(rc.messageId, undefined);
    assert.match(rc.requestTime, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    assert.equal(rc.messageDirection, 'IN');
    assert.equal(rc.stage, 'dev');
    assert.deepEqual(rc.identity, { sourceIp: '127.0.0.1', userAgent: 'test-agent/1.0' });
    assert.match(rc.connectionId, /^[A-Za-z0-9][A-Za-z0-9_-]{17}$/, 'over 96 random bits, URL-safe, never starting with - or _');

    const reply = await c.request({ action: 'echo', n: 1 });
    assert.equal(reply.text, '{"action":"echo","n":1}');
    assert.equal(reply.binary, false);
    const msg = eventsOf('echo')[0];
    assert.equal(msg.requestContext.eventType, 'MESSAGE');
    assert.equal(msg.requestContext.connectionId, rc.connectionId);
    assert.equal(msg.requestContext.connectedAt, rc.connectedAt);
    assert.ok(msg.requestContext.messageId);
    assert.equal(msg.headers, undefined, 'messages carry no headers');
    assert.equal(msg.isBase64Encoded, false);
    c.close();
  });

  it('omits the query fields when the URL has no query string, and userAgent when none was sent', async () => {
    const c = await TestClient.connect(gw.url);
    const [ev] = eventsOf('$connect');
    assert.equal('queryStringParameters' in ev, false);
    assert.equal('multiValueQueryStringParameters' in ev, false);
    assert.deepEqual(ev.requestContext.identity, { sourceIp: '127.0.0.1' });
    c.close();
  });

  it('gives each connection its own unguessable id (whoami)', async () => {
    const a = await TestClient.connect(gw.url);
    const b = await TestClient.connect(gw.url);
    const ida = JSON.parse((await a.request({ action: 'whoami' })).text).connectionId;
    const idb = JSON.parse((await b.request({ action: 'whoami' })).text).connectionId;
    assert.match(ida, /^[A-Za-z0-9][A-Za-z0-9_-]{17}$/);
    assert.notEqual(ida, idb);
    a.close();
    b.close();
  });

  it('sends the body back only on routes with a route response', async () => {
    const c = await TestClient.connect(gw.url);
    c.send({ action: 'silent' });
    await until(() => eventsOf('silent').length === 1, 'silent handler');
    await c.expectSilence(150);
    assert.equal((await c.request({ action: 'awsStyle', x: 1 })).text, '{"action":"awsStyle","x":1}');
    c.close();
  });

  it('falls back to $default for non-JSON bodies and unknown actions', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request('plain text')).text, 'plain text');
    assert.equal((await c.request({ action: 'nope' })).text, '{"action":"nope"}');
    assert.equal((await c.request('[1,2]')).text, '[1,2]');
    assert.deepEqual(eventsOf('$default').map((e) => e.body), ['plain text', '{"action":"nope"}', '[1,2]']);
    c.close();
  });

  it('delivers binary frames base64-encoded and can answer in binary', async () => {
    const c = await TestClient.connect(gw.url);
    c.send(Buffer.from([1, 2, 3, 250]), true);
    const r = await c.next();
    const ev = eventsOf('$default')[0];
    assert.equal(ev.isBase64Encoded, true);
    assert.equal(ev.body, Buffer.from([1, 2, 3, 250]).toString('base64'));
    assert.equal(r.text, ev.body);
    const bin = await c.request({ action: 'binary' });
    assert.equal(bin.binary, true);
    assert.deepEqual([...bin.data], [0, 1, 2, 255]);
    c.close();
  });

  it('answers AWS error frames and keeps the connection open on handler errors, timeouts and malformed answers', async () => {
    const c = await TestClient.connect(gw.url);
    const fail = await c.request({ action: 'fail' });
    const connectionId = eventsOf('fail')[0].requestContext.connectionId;
    const requestId = eventsOf('fail')[0].requestContext.requestId;
    assert.equal(fail.text, `{"message": "Internal server error", "connectionId":"${connectionId}", "requestId":"${requestId}"}`);
    const slow = await c.request({ action: 'slow' }, 2000);
    assert.equal(JSON.parse(slow.text).message, 'Endpoint request timed out');
    const bad = await c.request({ action: 'malformed' });
    assert.equal(JSON.parse(bad.text).message, 'Internal server error');
    // Still open and serving.
    assert.equal((await c.request({ action: 'echo', still: 'open' })).text, '{"action":"echo","still":"open"}');
    await c.expectSilence(1100); // the slow handler's late answer is not delivered
    c.close();
  });

  it('supports callback-style and synchronous handlers', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'callback' })).text, 'from callback');
    assert.equal((await c.request({ action: 'sync' })).text, 'sync');
    c.close();
  });

  it('exposes getRemainingTimeInMillis, awsRequestId, AWS_REGION and the callback endpoint', async () => {
    const c = await TestClient.connect(gw.url);
    const ctx = JSON.parse((await c.request({ action: 'context' })).text);
    assert.match(ctx.awsRequestId, /^[0-9a-f-]{36}$/);
    assert.equal(ctx.functionName, 'switchboard-dev-context');
    assert.ok(ctx.remaining > 28_000 && ctx.remaining <= 29_000, `remaining ${ctx.remaining}`);
    assert.equal(ctx.region, 'us-east-1');
    // The endpoint of the gateway the client is connected to (node A in a cluster).
    assert.equal(ctx.endpoint, gw.url.replace(/^ws/, 'http'));
    c.close();
  });

  it('passes the subprotocol and headers a $connect answer sets onto the handshake', async () => {
    const c = await TestClient.connect(`${gw.url}?protocol=chat.v2`, { protocols: ['chat.v1', 'chat.v2'] });
    assert.equal(c.ws.protocol, 'chat.v2');
    c.close();
  });

  it('sends the headers a $connect answer sets on the upgrade response (X-Custom)', async () => {
    const ws = new WebSocket(`${gw.url}?protocol=p`, ['p']);
    ws.on('error', () => {});
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no upgrade response within 3000 ms')), 3000);
      ws.once('upgrade', (r) => {
        clearTimeout(t);
        resolve(r);
      });
      ws.once('unexpected-response', (_req, r) => {
        clearTimeout(t);
        reject(new Error(`handshake refused: ${r.statusCode}`));
      });
    });
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers['x-custom'], 'yes');
    assert.equal(res.headers['sec-websocket-protocol'], 'p');
    await until(() => ws.readyState === WebSocket.OPEN, 'client open');
    ws.close();
  });

  it('a refusing $connect forwards its status and body, a non-JSON body labelled text/plain', async () => {
    const ws = new WebSocket(`${gw.url}?status=401`);
    ws.on('error', () => {});
    const r = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no refusal within 3000 ms')), 3000);
      ws.once('open', () => {
        clearTimeout(t);
        reject(new Error('expected the handshake to be refused'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          clearTimeout(t);
          resolve({ status: res.statusCode!, headers: res.headers, body });
        });
      });
    });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'refused by $connect');
    assert.match(String(r.headers['content-type']), /^text\/plain/, `content-type ${String(r.headers['content-type'])}`);
  });

  it('GetConnection LastActiveAt moves with a client message (and not with the GET itself)', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    const get = async () => {
      const r = await call(gw, 'GET', `/@connections/${id}`);
      assert.equal(r.status, 200, r.body);
      return Date.parse(r.json().lastActiveAt);
    };
    const before = await get();
    await sleep(20);
    assert.equal(await get(), before, 'a management GET is not activity of the connection');
    const sentAt = Date.now();
    c.send({ action: 'silent' }); // no route response: only the client's message can move it
    await until(() => eventsOf('silent').length === 1, 'silent handler');
    const afterMsg = await get();
    assert.ok(afterMsg > before, `LastActiveAt ${new Date(afterMsg).toISOString()} not later than ${new Date(before).toISOString()}`);
    assert.ok(afterMsg >= sentAt, 'LastActiveAt is the time of the message');
    c.close();
  });

  it('rejects the upgrade with the status $connect returns, 502 when it throws or answers malformed, 504 when it times out', async () => {
    assert.equal((await refused(`${gw.url}?status=401`)).status, 401);
    assert.equal((await refused(`${gw.url}?status=403`)).status, 403);
    assert.equal((await refused(`${gw.url}?throw=1`)).status, 502);
    assert.equal((await refused(`${gw.url}?badshape=1`)).status, 502);
    assert.equal((await refused(`${gw.url}?slow=800`)).status, 504);
    const ids = new Set(eventsOf('$connect').map((e) => e.requestContext.connectionId));
    assert.equal(ids.size, 5);
    await sleep(100);
    assert.equal(eventsOf('$disconnect').filter((e) => ids.has(e.requestContext.connectionId)).length, 0, 'no $disconnect for refused connections');
  });

  it('answers 426 to plain HTTP on the WebSocket URL and 403 to another stage', async () => {
    assert.equal((await httpGet(gw.url.replace('ws:', 'http:'))).status, 426);
    assert.equal((await refused(gw.url.replace('/dev', '/prod'))).status, 403);
    assert.equal((await refused(gw.url + '/extra')).status, 403);
  });
});

describe('gateway core: a connection is not open until $connect returns', () => {
  it('PostToConnection from its own $connect handler (official SDK, configured from the environment) answers GoneException', async () => {
    resetRecorded();
    const gw = await startGateway({ routes: { $connect: { handler: `${H}#connectPostsToSelf` } } });
    const c = await TestClient.connect(gw.url);
    assert.deepEqual(recorded().events.find((e) => 'selfPost' in e), { selfPost: 'GoneException' });
    await c.expectSilence(100);
    c.close();
    await gw.close();
  });
});

describe('gateway core: JavaScript handler modules', () => {
  it('loads ESM (default export name "handler") and CommonJS modules', async () => {
    const gw = await startGateway({ routes: { esm: { handler: './handlers.mjs', routeResponse: true }, cjs: { handler: './handlers.cjs#shout', routeResponse: true } } });
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'esm' })).text, 'mjs:{"action":"esm"}');
    assert.equal((await c.request({ action: 'cjs' })).text, 'cjs:{"ACTION":"CJS"}');
    c.close();
    await gw.close();
  });
});

describe('gateway core: custom route selection expressions and no $default', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routeSelectionExpression: '${request.body.service}/${request.body.action}',
      routes: {
        'chat/join': { handler: `${H}#echo`, routeResponse: true },
        'chat/': { handler: `${H}#whoami`, routeResponse: true },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('routes on several body fields mixed with literals', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ service: 'chat', action: 'join' })).text, '{"service":"chat","action":"join"}');
    // A missing field evaluates to "" (AWS), giving "chat/".
    assert.ok(JSON.parse((await c.request({ service: 'chat' })).text).connectionId);
    c.close();
  });

  it('answers the AWS Forbidden frame when nothing matches and there is no $default, and stays open', async () => {
    const c = await TestClient.connect(gw.url);
    const f = await c.request({ service: 'x', action: 'y' });
    assert.match(f.text, /^\{"message": "Forbidden", "connectionId":"[A-Za-z0-9][A-Za-z0-9_-]{17}", "requestId":"[A-Za-z0-9_-]+"\}$/);
    const g = await c.request('not json');
    assert.equal(JSON.parse(g.text).message, 'Forbidden');
    assert.equal((await c.request({ service: 'chat', action: 'join' })).text, '{"service":"chat","action":"join"}');
    c.close();
  });

  it('runs without $connect and $disconnect routes (every client accepted)', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.close();
    await c.waitClose();
  });
});

describe('gateway core: limits', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` }, $default: { handler: `${H}#echo`, routeResponse: true } },
      limits: { messageBytes: 4096, frameBytes: 1024, idleTimeoutSeconds: 0.8, maxConnectionSeconds: 60 },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('closes with 1009 when a message is over the message limit', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    c.send('x'.repeat(5000));
    assert.equal((await c.waitClose()).code, 1009);
    assert.deepEqual(await disconnectOf(id), [1009, 'Message too big']);
  });

  it('closes with 1009 when one frame is over the frame limit, but accepts the same bytes fragmented', async () => {
    const ok = await TestClient.connect(gw.url);
    // 3,000 bytes in three 1,000-byte frames: within both limits.
    ok.ws.send('a'.repeat(1000), { fin: false });
    ok.ws.send('b'.repeat(1000), { fin: false });
    ok.ws.send('c'.repeat(1000), { fin: true });
    assert.equal((await ok.next()).text.length, 3000);
    const big = await TestClient.connect(gw.url);
    big.send('x'.repeat(2000));
    assert.equal((await big.waitClose()).code, 1009);
    ok.close();
  });

  it('closes with 1009 when a fragmented message goes over the message limit, each fragment within the frame limit', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    // 5,000 bytes in five 1,000-byte fragments: every frame is under 1,024, the message over 4,096.
    for (let i = 0; i < 5; i++) c.ws.send(String(i).repeat(1000), { fin: i === 4 });
    assert.equal((await c.waitClose()).code, 1009);
    assert.deepEqual(await disconnectOf(id), [1009, 'Message too big']);
    assert.equal(eventsOf('$default').length, 0, 'nothing of the message reached an integration');
  });

  it('closes idle connections with 1001 "Going away" after the idle timeout, and activity keeps them open', async () => {
    const idle = await TestClient.connect(gw.url);
    const idleId = lastConnectionId();
    const busy = await TestClient.connect(gw.url);
    const t0 = Date.now();
    const timer = setInterval(() => busy.send('ping'), 100);
    const closed = await idle.waitClose(3000);
    clearInterval(timer);
    assert.deepEqual(closed, { code: 1001, reason: 'Going away' });
    assert.ok(Date.now() - t0 >= 750, 'not before the timeout');
    assert.equal(busy.ws.readyState, WebSocket.OPEN);
    busy.close();
    assert.deepEqual(await disconnectOf(idleId), [1001, 'Going away']);
  });
});

describe('gateway core: what counts as activity for the idle timeout', () => {
  let gw: Gateway;
  before(async () => {
    // The sweep runs every idle/10 = 100 ms. Activity every 100-150 ms keeps a margin of 7x or more for a loaded machine.
    gw = await startGateway({
      routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` }, $default: { handler: `${H}#echo`, routeResponse: true } },
      limits: { idleTimeoutSeconds: 1, maxConnectionSeconds: 60 },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('server pushes (PostToConnection) reset the idle timer', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    const t0 = Date.now();
    let pushes = 0;
    let lastPushAt = t0;
    // Push every 150 ms for 2.4 s: more than twice the 1 s limit, the client never sending.
    while (Date.now() - t0 < 2400) {
      const r = await call(gw, 'POST', `/@connections/${id}`, `push ${pushes}`);
      assert.equal(r.status, 200, `push ${pushes} at ${Date.now() - t0} ms: ${r.status} ${r.body}`);
      lastPushAt = Date.now(); // the last activity was before its answer came
      pushes++;
      await sleep(150);
    }
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'still open past the original idle deadline');
    await until(() => c.inbox.length === pushes, `${pushes} pushes delivered`);
    // Once the pushes stop, the idle timeout applies again, counted from the last push (measuring
    // from after the final pause and the delivery check left a margin of about 50 ms under load).
    assert.deepEqual(await c.waitClose(5000), { code: 1001, reason: 'Going away' });
    assert.ok(Date.now() - lastPushAt >= 800, `closed by the idle timeout, not earlier: ${Date.now() - lastPushAt} ms after the last push`);
    assert.deepEqual(await disconnectOf(id), [1001, 'Going away']);
  });

  it('client pings do not reset the idle timer by default (pingCountsAsActivity: false)', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    const t0 = Date.now();
    const timer = setInterval(() => c.ws.readyState === WebSocket.OPEN && c.ws.ping(), 100);
    try {
      assert.deepEqual(await c.waitClose(5000), { code: 1001, reason: 'Going away' });
    } finally {
      clearInterval(timer);
    }
    const lived = Date.now() - t0;
    assert.ok(lived >= 950 && lived < 3000, `closed after ${lived} ms`);
    assert.ok(pongs >= 2, `pings were answered (${pongs} pongs)`);
    assert.deepEqual(await disconnectOf(id), [1001, 'Going away']);
  });

  it('client pings do reset it with pingCountsAsActivity: true (control)', async () => {
    const gw2 = await startGateway({ routes: {}, limits: { idleTimeoutSeconds: 1, maxConnectionSeconds: 60, pingCountsAsActivity: true } });
    try {
      const c = await TestClient.connect(gw2.url);
      const timer = setInterval(() => c.ws.readyState === WebSocket.OPEN && c.ws.ping(), 100);
      await sleep(2400);
      clearInterval(timer);
      assert.equal(c.ws.readyState, WebSocket.OPEN, 'pings kept it open');
      assert.equal((await c.waitClose(5000)).code, 1001);
    } finally {
      await gw2.close();
    }
  });
});

describe('gateway core: maximum connection duration and binary rejection', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` }, $default: { handler: `${H}#echo`, routeResponse: true } },
      limits: { maxConnectionSeconds: 0.3, binaryFrames: 'reject' },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('closes a busy connection with 1001 when it reaches the maximum duration', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    const timer = setInterval(() => c.send('hi'), 50);
    const closed = await c.waitClose(3000);
    clearInterval(timer);
    assert.deepEqual(closed, { code: 1001, reason: 'Going away' });
    assert.deepEqual(await disconnectOf(id), [1001, 'Going away']);
  });

  it('closes with 1003 on a binary frame in AWS-strict mode', async () => {
    const c = await TestClient.connect(gw.url);
    const id = lastConnectionId();
    c.send(Buffer.from([1, 2]), true);
    assert.equal((await c.waitClose()).code, 1003);
    assert.deepEqual(await disconnectOf(id), [1003, 'Binary frames are not supported']);
  });
});

describe('gateway core: $disconnect runs exactly once, whoever closes', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` }, $default: { handler: `${H}#echo`, routeResponse: true } },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  async function idOf(c: TestClient): Promise<string> {
    c.send({ action: 'x' });
    await c.next();
    return eventsOf('$default').at(-1).requestContext.connectionId;
  }

  async function disconnectsOf(id: string, settleMs = 150): Promise<any[]> {
    await until(() => eventsOf('$disconnect').some((e) => e.requestContext.connectionId === id), `$disconnect of ${id}`);
    await sleep(settleMs);
    return eventsOf('$disconnect').filter((e) => e.requestContext.connectionId === id);
  }

  it('client close with a code and reason', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    c.close(4000, 'bye');
    const d = await disconnectsOf(id);
    assert.equal(d.length, 1);
    assert.equal(d[0].requestContext.disconnectStatusCode, 4000);
    assert.equal(d[0].requestContext.disconnectReason, 'bye');
    assert.equal(d[0].requestContext.eventType, 'DISCONNECT');
    assert.deepEqual(d[0].headers, { Host: d[0].requestContext.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' });
    assert.equal(Object.keys(d[0].requestContext)[1], 'disconnectStatusCode', 'AWS key order');
  });

  it('client close without a status code → 1005 "Client-side close frame status not set"', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    c.close();
    const d = await disconnectsOf(id);
    assert.equal(d.length, 1);
    assert.equal(d[0].requestContext.disconnectStatusCode, 1005);
    assert.equal(d[0].requestContext.disconnectReason, 'Client-side close frame status not set');
  });

  it('TCP dropped without a close frame → 1006', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    c.ws.terminate();
    const d = await disconnectsOf(id);
    assert.equal(d.length, 1);
    assert.equal(d[0].requestContext.disconnectStatusCode, 1006);
  });

  it('client going away while $connect is still running: $connect accepted it, so $disconnect runs once', async () => {
    const ws = new WebSocket(`${gw.url}?slow=300`);
    ws.on('error', () => {});
    await until(() => eventsOf('$connect').length === 1, '$connect started');
    const id = eventsOf('$connect')[0].requestContext.connectionId;
    ws.terminate();
    const d = await disconnectsOf(id, 400);
    assert.equal(d.length, 1);
    assert.equal(d[0].requestContext.disconnectStatusCode, 1006);
    assert.equal(gw.connectionCount(), 0);
  });

  it('gateway shutdown (close()) closes every client with 1001 and runs each $disconnect before resolving', async () => {
    const gw2 = await startGateway({ routes: { $disconnect: { handler: `${H}#disconnect` } } });
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(gw2.url)));
    await gw2.close();
    for (const c of clients) assert.deepEqual(await c.waitClose(), { code: 1001, reason: 'Going away' });
    assert.equal(eventsOf('$disconnect').length, 3);
    assert.ok(eventsOf('$disconnect').every((e) => e.requestContext.disconnectStatusCode === 1001));
    assert.equal(recorded().events.length, 3);
  });
});
