import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

interface Seen {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('httpProxy integration (AWS HTTP_PROXY)', () => {
  let backend: Server;
  const seen: Seen[] = [];
  let gw: Gateway;

  before(async () => {
    backend = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ path: req.url!, method: req.method!, headers: req.headers, body });
        if (req.url === '/connect') {
          if (req.headers['x-deny']) {
            res.writeHead(401, { 'content-type': 'application/json' });
            return res.end('{"message":"go away"}');
          }
          res.writeHead(200);
          return res.end();
        }
        if (req.url === '/binary') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return res.end(Buffer.concat([Buffer.from([0xff]), body]));
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got:${body.toString()}`);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    gw = await startGateway({
      routes: {
        $connect: { httpProxy: `${base}/connect` },
        $disconnect: { httpProxy: `${base}/disconnect` },
        proxy: { httpProxy: `${base}/message`, routeResponse: true },
        $default: { httpProxy: `${base}/binary`, routeResponse: true },
      },
    });
  });

  after(async () => {
    await gw?.close();
    backend?.closeAllConnections();
    await new Promise((r) => backend?.close(r));
  });

  it('POSTs the raw message body (not the event) with the connection id, and sends the backend body back', async () => {
    const client = await TestClient.connect(gw.url, { headers: { 'x-client': 'abc' } });
    const connect = seen.find((s) => s.path === '/connect')!;
    assert.equal(connect.headers['x-client'], 'abc', '$connect gets the handshake headers');
    assert.equal(connect.headers['sec-websocket-key'], undefined);
    assert.equal(connect.body.length, 0);
    const connectionId = connect.headers.connectionid as string;
    assert.match(connectionId, /^\S{10,}$/);
    const raw = '{"action":"proxy","n":1}';
    assert.equal((await client.request(raw, 10_000)).text, `got:${raw}`);
    const msg = seen.find((s) => s.path === '/message')!;
    assert.equal(msg.method, 'POST');
    assert.equal(msg.body.toString(), raw, 'the raw body, not an AWS event');
    assert.equal(msg.headers.connectionid, connectionId);
    assert.equal(msg.headers['x-amzn-route-key'], 'proxy');
    client.ws.close();
    await client.closed;
  });

  it('passes binary frames as bytes and binary answers back as binary frames', async () => {
    const client = await TestClient.connect(gw.url);
    client.send(Buffer.from([1, 2, 3]), true);
    const m = await client.next(10_000);
    assert.equal(m.binary, true);
    assert.deepEqual([...m.data], [0xff, 1, 2, 3]);
    assert.equal(seen.at(-1)!.headers['content-type'], 'application/octet-stream');
    client.ws.close();
  });

  it('refuses the handshake with the backend\'s status when $connect answers non-2xx', async () => {
    await assert.rejects(TestClient.connect(gw.url, { headers: { 'x-deny': '1' } }), (err: { status?: number }) => err.status === 401);
  });
});

describe('mock integration (AWS MOCK)', () => {
  it('accepts $connect without a backend and answers a two-way route with mock.body', async () => {
    const gw = await startGateway({
      routes: {
        $connect: { mock: { statusCode: 200 } },
        ping: { mock: { statusCode: 200, body: 'pong' }, routeResponse: true },
        quiet: { mock: { statusCode: 200 } },
      },
    });
    try {
      const client = await TestClient.connect(gw.url);
      assert.equal((await client.request({ action: 'ping' }, 10_000)).text, 'pong');
      client.send({ action: 'quiet' });
      await client.expectSilence(300);
      assert.equal((await client.request({ action: 'ping' }, 10_000)).text, 'pong');
      client.ws.close();
    } finally {
      await gw.close();
    }
  });

  it('refuses the handshake when the $connect mock has a non-2xx statusCode', async () => {
    const gw = await startGateway({ routes: { $connect: { mock: { statusCode: 403 } }, ping: { mock: { statusCode: 200, body: 'pong' }, routeResponse: true } } });
    try {
      await assert.rejects(TestClient.connect(gw.url), (err: { status?: number }) => err.status === 403);
    } finally {
      await gw.close();
    }
  });
});
