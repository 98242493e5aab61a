// HTTP integration pool: at most limits.httpIntegrationConnections requests to a backend at once
// and limits.httpIntegrationQueue waiting; beyond it a call fails at once, and a call that waited
// past its deadline is never sent (no late delivery to the backend).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { sleep, TestClient, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';

const frame = (message: string) => new RegExp(`^\\{"message": "${message}", "connectionId":"[^"]+", "requestId":"[^"]+"\\}$`);

describe('HTTP integration pool and queue', () => {
  let backend: Server;
  let base: string;
  const received: Record<string, number> = {};

  before(async () => {
    backend = createServer((req, res) => {
      received[req.url!] = (received[req.url!] ?? 0) + 1;
      req.resume();
      if (req.url === '/stall') return; // never answers
      // /slowok: answers after 150 ms
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"statusCode":200,"body":"ok"}'), 150);
    });
    // Keep-alive sockets live long on the backend's side, so only the gateway closing them ends them.
    backend.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  });
  after(async () => {
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('answers beyond pool + queue at once, and never sends a call that waited past its deadline', async () => {
    // The two calls holding the sockets outlive the queued ones by far, so no socket frees while a queued
    // call could still take it (with one deadline for all, a loaded machine could free one just in time).
    const gw = await startGateway({
      limits: { httpIntegrationConnections: 2, httpIntegrationQueue: 2 },
      routes: {
        hold: { http: `${base}/stall`, routeResponse: true, timeoutMs: 3000 },
        stall: { http: `${base}/stall`, routeResponse: true, timeoutMs: 1500 },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
    try {
      const c = await TestClient.connect(gw.url);
      const bystander = await TestClient.connect(gw.url);
      for (let i = 0; i < 2; i++) c.send({ action: 'hold' });
      for (let i = 0; i < 4; i++) c.send({ action: 'stall' });
      // Two beyond 2 sockets + 2 queued: refused at once, well before the 1.5 s deadline.
      assert.match((await c.next(1000)).text, frame('Internal server error'));
      assert.match((await c.next(1000)).text, frame('Internal server error'));
      assert.equal((await bystander.request({ action: 'quick' })).text, 'quick');
      for (let i = 0; i < 4; i++) assert.match((await c.next(5000)).text, frame('Endpoint request timed out'));
      // The two queued calls timed out waiting: the backend never sees them, not even later.
      await sleep(1500);
      assert.equal(received['/stall'], 2);
      assert.equal(gw.counters.get('rejected', 'limits.httpIntegrationQueue'), 2);
      c.close();
      bystander.close();
    } finally {
      await gw.close();
    }
  });

  it('queued calls are sent in turn when a socket frees before their deadline', async () => {
    const gw = await startGateway({
      limits: { httpIntegrationConnections: 1, httpIntegrationQueue: 10 },
      routes: { slowok: { http: `${base}/slowok`, routeResponse: true, timeoutMs: 5000 } },
    });
    try {
      const c = await TestClient.connect(gw.url);
      const before = received['/slowok'] ?? 0;
      for (let i = 0; i < 4; i++) c.send({ action: 'slowok' });
      for (let i = 0; i < 4; i++) assert.equal((await c.next(5000)).text, 'ok');
      assert.equal(received['/slowok'], before + 4);
      c.close();
    } finally {
      await gw.close();
    }
  });

  it('close() closes the gateway’s sockets to the backend', async () => {
    const gw = await startGateway({ routes: { slowok: { http: `${base}/slowok`, routeResponse: true } } });
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'slowok' })).text, 'ok');
    const open = () => new Promise<number>((r) => backend.getConnections((_e, n) => r(n)));
    assert.ok((await open()) >= 1);
    c.close();
    await gw.close();
    // Without a per-gateway pool, keep-alive sockets would outlive the gateway (30 s).
    const deadline = Date.now() + 3000;
    while ((await open()) > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(await open(), 0);
  });
});
