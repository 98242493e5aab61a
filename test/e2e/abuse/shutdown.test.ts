// Draining on SIGTERM with the real CLI in its own process: work that is running finishes (up to
// `shutdown.graceSeconds`), new handshakes get 503, every $disconnect runs exactly once, the
// process exits 0; a second signal exits at once. Handlers are an HTTP integration served by
// this test, so their calls are observed across processes.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient, until } from '../../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

interface Backend {
  url: string;
  events: any[];
  of(routeKey: string): any[];
  close(): void;
}

/**
 * The integration backend: $connect waits `?slow=ms`; message `{"action":"slow","ms":N}`
 * answers "done" after N ms; anything else is echoed.
 */
async function backend(): Promise<Backend> {
  const events: any[] = [];
  const waiting = new Set<ServerResponse>();
  const answer = (res: ServerResponse, body: object, ms: number) => {
    waiting.add(res);
    setTimeout(() => {
      waiting.delete(res);
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }, ms).unref();
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(text);
      events.push(event);
      const routeKey = event.requestContext.routeKey;
      if (routeKey === '$connect') return answer(res, { statusCode: 200 }, Number(event.queryStringParameters?.slow ?? 0));
      if (routeKey === '$disconnect') return answer(res, { statusCode: 200 }, 0);
      const body = JSON.parse(event.body);
      if (body.action === 'slow') return answer(res, { statusCode: 200, body: 'done' }, body.ms);
      answer(res, { statusCode: 200, body: event.body }, 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    events,
    of: (routeKey) => events.filter((e) => e.requestContext.routeKey === routeKey),
    close: () => {
      for (const res of waiting) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

function config(url: string, graceSeconds: number) {
  return {
    shutdown: { graceSeconds },
    routes: {
      $connect: { http: url },
      $disconnect: { http: url },
      slow: { http: url, routeResponse: true },
      $default: { http: url, routeResponse: true },
    },
  };
}

describe('shutdown drains', () => {
  let be: Backend;
  const procs: GatewayProcess[] = [];
  before(async () => {
    be = await backend();
  });
  after(async () => {
    for (const p of procs) await p.stop(1000);
    be.close();
  });

  it('on SIGTERM, running handlers finish and answer, a $connect in progress gets 503 and one $disconnect, new handshakes get 503, then 1001 and exit 0', async () => {
    const gp = await startGatewayProcess(config(be.url, 20));
    procs.push(gp);
    const c = await TestClient.connect(gp.url);
    const idle = await TestClient.connect(gp.url);
    const ids = be.of('$connect').map((e) => e.requestContext.connectionId);
    assert.equal(ids.length, 2);
    c.send({ action: 'slow', ms: 1500 });
    await until(() => be.events.some((e) => e.body?.includes('"slow"')), 'the slow handler to start', 10_000);
    const slowHandshake = TestClient.connect(`${gp.url}?slow=1500`).then(
      () => 'opened',
      (err: { status?: number }) => err.status,
    );
    await until(() => be.of('$connect').length === 3, 'the slow $connect to start', 10_000);
    const midConnectId = be.of('$connect')[2].requestContext.connectionId;

    gp.child.kill('SIGTERM');
    await until(() => gp.logs().some((l) => /draining/.test(l)), 'the gateway to start draining', 10_000);
    // A new handshake during the drain is refused.
    await assert.rejects(TestClient.connect(gp.url), (err: { status?: number }) => err.status === 503);

    // The slow handler's answer is still delivered, and only then is the client closed.
    assert.equal((await c.next(10_000)).text, 'done');
    assert.deepEqual(await c.waitClose(10_000), { code: 1001, reason: 'Going away' });
    assert.deepEqual(await idle.waitClose(10_000), { code: 1001, reason: 'Going away' });
    assert.equal(await slowHandshake, 503, 'the handshake caught mid-$connect is refused with 503');
    assert.equal(await gp.exited, 0, 'a clean drain exits 0');

    // Every connection whose $connect ran got exactly one $disconnect, the one caught mid-$connect included.
    const disconnected = be.of('$disconnect').map((e) => e.requestContext.connectionId);
    assert.deepEqual([...disconnected].sort(), [...ids, midConnectId].sort());
  });

  it('a second SIGTERM during the drain exits at once', async () => {
    const gp = await startGatewayProcess(config(be.url, 60));
    procs.push(gp);
    const c = await TestClient.connect(gp.url);
    c.send({ action: 'slow', ms: 30_000 });
    await until(() => be.events.some((e) => e.body?.includes('30000')), 'the slow handler to start', 10_000);
    gp.child.kill('SIGTERM');
    await until(() => gp.logs().some((l) => /draining/.test(l)), 'the gateway to start draining', 10_000);
    // The first signal waits for the running handler: the process is still there, the client still open.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(gp.alive(), 'the drain waits for the running handler');
    assert.equal(c.ws.readyState, c.ws.OPEN);
    const t0 = Date.now();
    gp.child.kill('SIGTERM');
    const code = await Promise.race([gp.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.notEqual(code, 'still running');
    assert.ok(Date.now() - t0 < 10_000);
  });
});
