// Integration answer sizes: route responses are capped at limits.messageBytes, $connect and
// authorizer answers at limits.handshakeAnswerBytes. An HTTP answer over the cap is not read
// into memory (content-length refused up front, a stream cut off at the cap).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { sleep, TestClient, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

const ISE = /^\{"message": "Internal server error", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/;
const MB = 2 ** 20;

/** A backend with answers of every size; counts how many bytes each huge answer got out before it was cut. */
function sizedBackend() {
  const state = { hugeWritten: 0, hugeCutShort: 0 };
  const server = createServer((req, res) => {
    req.resume();
    const json = (obj: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
    const m = /^\/body\/(\d+)$/.exec(req.url!);
    if (m) return json({ statusCode: 200, body: 'x'.repeat(Number(m[1])) });
    if (req.url === '/huge' || req.url === '/huge-declared') {
      // 200 MB of JSON, streamed (with or without a content-length), as long as the peer reads.
      const total = 200 * MB;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.writeHead(200, { 'content-type': 'application/json', ...(req.url === '/huge-declared' ? { 'content-length': String(total) } : {}) });
      let written = 0;
      res.on('close', () => {
        state.hugeWritten = written;
        if (written < total) state.hugeCutShort++;
      });
      const pump = () => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      return pump();
    }
    res.writeHead(404).end();
  });
  return { server, state };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('route response and handshake answer caps', () => {
  const { server: backend } = sizedBackend();
  let base: string;
  let gw: Gateway;

  before(async () => {
    base = await listen(backend);
    gw = await startGateway({
      limits: { messageBytes: 4096, frameBytes: 4096, handshakeAnswerBytes: 4096 },
      routes: {
        $connect: { http: `${base}/body/3000` },
        big: { handler: './abuse.ts#big', routeResponse: true },
        small: { http: `${base}/body/4000`, routeResponse: true },
        over: { http: `${base}/body/5000`, routeResponse: true },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('an HTTP route response over messageBytes gets the error frame; one within it is delivered', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'small' })).text.length, 4000);
    assert.match((await c.request({ action: 'over' })).text, ISE);
    assert.ok(gw.counters.get('rejected', 'limits.messageBytes') >= 1);
    assert.equal((await c.request({ action: 'quick' })).text, 'quick');
    c.close();
  });

  it('an in-process route response over messageBytes gets the error frame, not a frame the client would refuse', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'big', bytes: 4096 })).text.length, 4096);
    assert.match((await c.request({ action: 'big', bytes: 4097 })).text, ISE);
    c.close();
  });

  it('a $connect answer over handshakeAnswerBytes refuses the handshake with 502', async () => {
    const gw2 = await startGateway({
      limits: { handshakeAnswerBytes: 4096 },
      routes: { $connect: { http: `${base}/body/10000` }, quick: { handler: './abuse.ts#quick', routeResponse: true } },
    });
    try {
      await assert.rejects(TestClient.connect(gw2.url), (err: any) => err.status === 502);
      assert.equal(gw2.counters.get('rejected', 'limits.handshakeAnswerBytes'), 1);
    } finally {
      await gw2.close();
    }
  });
});

describe('a 200 MB answer (gateway in its own process)', () => {
  const { server: backend, state } = sizedBackend();
  let gp: GatewayProcess;

  before(async () => {
    const base = await listen(backend);
    gp = await startGatewayProcess({
      logging: { level: 'warn' },
      routes: {
        huge: { http: `${base}/huge`, routeResponse: true, timeoutMs: 60_000 },
        declared: { http: `${base}/huge-declared`, routeResponse: true, timeoutMs: 60_000 },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(async () => {
    await gp.stop(3000);
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('is cut off at the cap: error frame, bounded RSS, the backend stops writing', async (t) => {
    const c = await TestClient.connect(gp.url);
    assert.equal((await c.request({ action: 'quick' })).text, 'quick');
    await sleep(200);
    const rssBefore = gp.rss();
    let peak = rssBefore;
    const probe = setInterval(() => (peak = Math.max(peak, gp.rss())), 20);
    try {
      c.send({ action: 'huge' });
      assert.match((await c.next(60_000)).text, ISE);
      await until(() => state.hugeCutShort === 1, 'the streamed answer to be cut', 10_000);
      c.send({ action: 'declared' });
      assert.match((await c.next(60_000)).text, ISE);
      await until(() => state.hugeCutShort === 2, 'the declared answer to be refused', 10_000);
    } finally {
      clearInterval(probe);
      t.diagnostic(`RSS before ${(rssBefore / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB (+${((peak - rssBefore) / MB).toFixed(1)} MB); backend wrote ${(state.hugeWritten / MB).toFixed(1)} MB of the last answer`);
    }
    const grownMb = (peak - rssBefore) / MB;
    assert.ok(grownMb < 40, `RSS grew by ${grownMb.toFixed(1)} MB`);
    assert.equal((await c.request({ action: 'quick' })).text, 'quick');
    assert.ok(gp.alive());
    c.close();
  });
});
