// The events' optional fields and formats, checked against AWS's captures: X-Amzn-Trace-Id is
// `Root=1-{8 hex}-{24 hex}`; the authorizer always gets both query fields (`{}` without a query
// string) while $connect omits them; every event has exactly the keys AWS sends.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { TestClient, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';

const P = './event-probe.mjs';
const probe = (): any[] => ((globalThis as any).__sbProbe ??= []);
const byRoute = (k: string) => probe().filter((e) => e.type !== 'REQUEST' && e.requestContext.routeKey === k);
const authEvents = () => probe().filter((e) => e.type === 'REQUEST');

// Key sets of AWS's captures (Powertools test events), in AWS's order.
const CONTEXT_KEYS = ['routeKey', 'eventType', 'extendedRequestId', 'requestTime', 'messageDirection', 'stage', 'connectedAt', 'requestTimeEpoch', 'identity', 'requestId', 'domainName', 'connectionId', 'apiId'];
const TRACE = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/;

describe('abuse: event shapes against AWS captures', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: {
        $connect: { handler: `${P}#connect`, authorizer: { handler: `${P}#authorize` } },
        $disconnect: { handler: `${P}#record` },
        $default: { handler: `${P}#record`, routeResponse: true },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => (probe().length = 0));

  it('X-Amzn-Trace-Id is Root=1-{8 hex digits of epoch seconds}-{24 hex digits}, in $connect and authorizer events', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await TestClient.connect(gw.url);
      c.close();
    }
    const events = [...byRoute('$connect'), ...authEvents()];
    assert.equal(events.length, 20);
    for (const ev of events) {
      const id: string = ev.headers['X-Amzn-Trace-Id'];
      assert.match(id, TRACE);
      assert.deepEqual(ev.multiValueHeaders['X-Amzn-Trace-Id'], [id]);
      const seconds = parseInt(id.slice(7, 15), 16);
      assert.ok(Math.abs(seconds - ev.requestContext.requestTimeEpoch / 1000) < 60, 'epoch seconds of the request');
    }
  });

  it('the authorizer gets queryStringParameters: {} without a query string (reading .token gives undefined, not a 500)', async () => {
    const c = await TestClient.connect(gw.url);
    const [auth] = authEvents();
    assert.deepEqual(auth.queryStringParameters, {});
    assert.deepEqual(auth.multiValueQueryStringParameters, {});
    assert.deepEqual(Object.keys(auth), ['type', 'methodArn', 'headers', 'multiValueHeaders', 'queryStringParameters', 'multiValueQueryStringParameters', 'stageVariables', 'requestContext']);
    assert.deepEqual(Object.keys(auth.requestContext), CONTEXT_KEYS);
    // $connect omits both query fields when there is no query string (AWS, spec §2.2).
    const [connect] = byRoute('$connect');
    assert.deepEqual(Object.keys(connect), ['headers', 'multiValueHeaders', 'requestContext', 'isBase64Encoded']);
    assert.deepEqual(Object.keys(connect.requestContext), [...CONTEXT_KEYS, 'authorizer']);
    c.close();
  });

  it('with a query string, both events carry both query fields', async () => {
    const c = await TestClient.connect(`${gw.url}?token=t&x=1&x=2`);
    for (const ev of [authEvents()[0], byRoute('$connect')[0]]) {
      assert.deepEqual(ev.queryStringParameters, { token: 't', x: '2' });
      assert.deepEqual(ev.multiValueQueryStringParameters, { token: ['t'], x: ['1', '2'] });
    }
    c.close();
  });

  it('message and $disconnect events have exactly the keys of AWS’s captures', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request('hello')).text, 'ok');
    c.close();
    const [msg] = byRoute('$default');
    const mine = () => byRoute('$disconnect').filter((e) => e.requestContext.connectionId === msg.requestContext.connectionId);
    await until(() => mine().length === 1, '$disconnect');
    assert.deepEqual(Object.keys(msg), ['requestContext', 'body', 'isBase64Encoded']);
    assert.deepEqual(Object.keys(msg.requestContext).filter((k) => k !== 'authorizer'), ['routeKey', 'messageId', ...CONTEXT_KEYS.slice(1)]);
    const [dis] = mine();
    assert.deepEqual(Object.keys(dis), ['headers', 'multiValueHeaders', 'requestContext', 'isBase64Encoded']);
    assert.deepEqual(Object.keys(dis.headers), ['Host', 'x-api-key', 'X-Forwarded-For', 'x-restapi']);
    assert.deepEqual(
      Object.keys(dis.requestContext).filter((k) => k !== 'authorizer'),
      ['routeKey', 'disconnectStatusCode', 'eventType', 'extendedRequestId', 'requestTime', 'messageDirection', 'disconnectReason', ...CONTEXT_KEYS.slice(5)],
    );
    assert.deepEqual(Object.keys(msg.requestContext.identity), ['sourceIp'], 'userAgent only when the client sent one');
  });
});
