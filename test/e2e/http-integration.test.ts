// HTTP integrations: routes whose backend is any HTTP server. The gateway POSTs the AWS event as
// JSON and reads a Lambda proxy answer back; every way a backend can fail has a defined answer.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

interface Received {
  path: string;
  functionName: string | undefined;
  contentType: string | undefined;
  event: any;
}

describe('HTTP integrations', () => {
  let backend: Server;
  let base: string;
  let gw: Gateway;
  const received: Received[] = [];

  before(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const event = JSON.parse(body);
        received.push({ path: req.url!, functionName: req.headers['x-switchboard-function'] as string | undefined, contentType: req.headers['content-type'], event });
        const reply = (status: number, text: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(text);
        switch (req.url) {
          case '/connect':
            return event.queryStringParameters?.deny ? reply(200, JSON.stringify({ statusCode: 403, body: 'denied by backend' })) : reply(200, '{"statusCode":200}');
          case '/echo':
            return reply(200, JSON.stringify({ statusCode: 200, body: `backend saw ${event.body}` }));
          case '/status500':
            return reply(500, '{"message":"boom"}');
          case '/notjson':
            return res.writeHead(200, { 'content-type': 'text/plain' }).end('this is not json');
          case '/slow':
            return void setTimeout(() => reply(200, '{"statusCode":200,"body":"too late"}'), 600);
          case '/disconnect':
            return reply(200, '{"statusCode":200}');
          default:
            return reply(404, '{}');
        }
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    // A port nothing listens on: take a free one and close it again.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    gw = await startGateway({
      routes: {
        $connect: { http: `${base}/connect` },
        $disconnect: { http: `${base}/disconnect` },
        echo: { http: `${base}/echo`, routeResponse: true },
        status500: { http: `${base}/status500`, routeResponse: true },
        notjson: { http: `${base}/notjson`, routeResponse: true },
        slow: { http: `${base}/slow`, routeResponse: true, timeoutMs: 200 },
        down: { http: `http://127.0.0.1:${deadPort}/x`, routeResponse: true },
      },
    });
  });

  after(async () => {
    await gw.close();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('POSTs the AWS event as JSON and sends the answer’s body back on a two-way route', async () => {
    const c = await TestClient.connect(`${gw.url}?user=ann`);
    const connect = received.find((r) => r.path === '/connect')!;
    assert.equal(connect.contentType, 'application/json');
    assert.equal(connect.event.requestContext.eventType, 'CONNECT');
    assert.deepEqual(connect.event.queryStringParameters, { user: 'ann' });
    assert.match(connect.functionName!, /connect/);
    assert.equal((await c.request({ action: 'echo', n: 1 })).text, 'backend saw {"action":"echo","n":1}');
    const msg = received.find((r) => r.path === '/echo')!;
    assert.equal(msg.event.requestContext.routeKey, 'echo');
    assert.equal(msg.event.requestContext.connectionId, connect.event.requestContext.connectionId);
    c.close();
    await until(() => received.some((r) => r.path === '/disconnect'), '$disconnect posted to the backend');
    const d = received.find((r) => r.path === '/disconnect')!;
    assert.equal(d.event.requestContext.eventType, 'DISCONNECT');
    assert.equal(d.event.requestContext.connectionId, connect.event.requestContext.connectionId);
  });

  it('a $connect backend answering a non-2xx statusCode refuses the handshake with it', async () => {
    await assert.rejects(TestClient.connect(`${gw.url}?deny=1`), (err: any) => err.status === 403 && err.body === 'denied by backend');
  });

  it('a failing backend (5xx, not JSON, unreachable) gives AWS’s error frame; a slow one times out; the connection stays open', async () => {
    const c = await TestClient.connect(gw.url);
    for (const action of ['status500', 'notjson', 'down']) {
      const frame = JSON.parse((await c.request({ action })).text);
      assert.equal(frame.message, 'Internal server error', action);
      assert.ok(frame.connectionId && frame.requestId, action);
    }
    assert.equal(JSON.parse((await c.request({ action: 'slow' }, 2000)).text).message, 'Endpoint request timed out');
    assert.equal((await c.request({ action: 'echo', still: 'open' })).text, 'backend saw {"action":"echo","still":"open"}');
    await c.expectSilence(600); // the slow backend's late answer is not delivered
    c.close();
  });
});
