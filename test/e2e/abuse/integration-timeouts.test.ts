// Integration deadlines: timeoutMs bounds the whole call, and a call past it is cancelled (the
// HTTP request is aborted, so the backend sees it go), not left running behind the error frame.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { TestClient, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';

const TIMED_OUT = /^\{"message": "Endpoint request timed out", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/;

/** A backend that stalls (never answers) or trickles one byte a second, and records when each request goes away. */
function trickleBackend() {
  const state = { received: 0, closedEarly: 0, open: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.received++;
    state.open++;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => {
      state.open--;
      clearInterval(timer);
      if (!done) state.closedEarly++;
    });
    req.resume();
    if (req.url === '/stall') return;
    // /trickle: headers at once, then one byte a second of a valid answer, 30 s in all.
    const answer = `{"statusCode":200,"body":"late"}${' '.repeat(30)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    let i = 0;
    timer = setInterval(() => {
      res.write(answer[i++]!);
      if (i === answer.length) {
        done = true;
        clearInterval(timer);
        res.end();
      }
    }, 1000);
  });
  return { server, state };
}

describe('integration deadlines', () => {
  const { server: backend, state } = trickleBackend();
  let base: string;
  let gw: Gateway;

  before(async () => {
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    gw = await startGateway({
      limits: { inflightPerConnection: 1 },
      routes: {
        stall: { http: `${base}/stall`, routeResponse: true, timeoutMs: 300 },
        trickle: { http: `${base}/trickle`, routeResponse: true, timeoutMs: 1500 },
        never: { handler: './abuse.ts#never', routeResponse: true, timeoutMs: 300 },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(async () => {
    await gw.close();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('a backend trickling one byte a second is cut off at the deadline and its request aborted', async () => {
    const c = await TestClient.connect(gw.url);
    const bystander = await TestClient.connect(gw.url);
    const before = { ...state };
    c.send({ action: 'trickle' });
    assert.match((await c.next(6000)).text, TIMED_OUT);
    // The backend sees its request go away soon after the deadline, not after 30 s of trickling.
    await until(() => state.closedEarly === before.closedEarly + 1, 'the trickling request to be aborted', 5000);
    assert.equal((await bystander.request({ action: 'quick' })).text, 'quick');
    assert.ok(gw.counters.get('integrationAborted', 'http') >= 1);
    c.close();
    bystander.close();
  });

  it('a stalled backend’s request is aborted at the deadline', async () => {
    const c = await TestClient.connect(gw.url);
    const before = { ...state };
    c.send({ action: 'stall' });
    assert.match((await c.next(5000)).text, TIMED_OUT);
    await until(() => state.closedEarly === before.closedEarly + 1, 'the stalled request to be aborted', 5000);
    c.close();
  });

  it('an in-process handler past its deadline answers the client at once and frees its in-flight slot', async () => {
    const c = await TestClient.connect(gw.url);
    const aborted = gw.counters.get('integrationAborted', 'handler');
    // inflightPerConnection is 1: the second call is only accepted because the first one's slot was freed.
    c.send({ action: 'never' });
    assert.match((await c.next(5000)).text, TIMED_OUT);
    c.send({ action: 'never' });
    assert.match((await c.next(5000)).text, TIMED_OUT);
    assert.equal(gw.counters.get('integrationAborted', 'handler'), aborted + 2);
    c.close();
  });
});

describe('$connect deadline over the whole call', () => {
  const { server: backend, state } = trickleBackend();
  let gw: Gateway;

  before(async () => {
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    gw = await startGateway({ routes: { $connect: { http: `${base}/trickle`, timeoutMs: 2000 }, $default: { handler: './abuse.ts#quick', routeResponse: true } } });
  });
  after(async () => {
    await gw.close();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('a $connect backend trickling one byte a second is refused with 504 near the 2 s timeout, not after the trickle ends', async () => {
    const started = Date.now();
    await assert.rejects(TestClient.connect(gw.url), (err: any) => err.status === 504);
    const took = Date.now() - started;
    // The trickle lasts 30 s; the deadline is 2 s (generous bound for a loaded machine).
    assert.ok(took < 10_000, `refused after ${took} ms`);
    await until(() => state.closedEarly === 1, 'the $connect request to be aborted', 5000);
  });
});
