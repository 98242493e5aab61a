// Documented limits and fan-out promises, each tested so that breaking it turns a test red
// (README "Configuration" and "Beyond AWS", docs/extensions.md, src/config/schema.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { eventsOf, resetRecorded, startGateway } from '../helpers/gateway.js';
import { call } from '../helpers/signed.js';

const H = './handlers.ts';
const ROUTES = {
  $connect: { handler: `${H}#connectAs` },
  whoami: { handler: `${H}#whoami`, routeResponse: true },
};

async function connect(gw: Gateway, query = ''): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`);
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

/** Runs `body` with a fresh gateway, always closing it (and any clients) afterwards: one failure does not cascade. */
async function withGateway(config: Parameters<typeof startGateway>[0], body: (gw: Gateway, clients: TestClient[]) => Promise<void>): Promise<void> {
  const gw = await startGateway(config);
  const clients: TestClient[] = [];
  try {
    await body(gw, clients);
  } finally {
    for (const c of clients) c.ws.terminate();
    await gw.close();
  }
}

describe('promise: fan-outs name every recipient they could not reach ("gone" is never silently skipped)', () => {
  it('a member that is closing is reported as gone by principal, group and broadcast sends; the others get the data', async () => {
    await withGateway({ routes: ROUTES }, async (gw, clients) => {
      const closing = await connect(gw, '?user=erin&groups=room');
      const stays = await connect(gw, '?user=erin&groups=room');
      clients.push(closing.c, stays.c);
      // The closing client never reads the close frame, so it stays a member while its close handshake hangs.
      (closing.c.ws as any)._socket.pause();
      assert.equal((await call(gw, 'DELETE', `/@connections/${closing.id}`)).status, 204);
      for (const target of ['/@principals/erin', '/@groups/room', '/@broadcast']) {
        const res = await call(gw, 'POST', target, `to ${target}`);
        assert.equal(res.status, 200, target);
        assert.deepEqual(res.json(), { sent: 1, failed: [{ connectionId: closing.id, reason: 'gone' }] }, target);
        assert.equal((await stays.c.next()).text, `to ${target}`);
      }
    });
  });
});

describe('promise: limits.maxConnections', () => {
  it('refuses handshakes beyond it with 429 {"message":"Too Many Requests"}, and accepts again once a connection closes', async () => {
    await withGateway({ routes: ROUTES, limits: { maxConnections: 2 } }, async (gw, clients) => {
      const a = await connect(gw);
      const b = await connect(gw);
      clients.push(a.c, b.c);
      const refused = await TestClient.connect(gw.url).then(
        (c) => (clients.push(c), null),
        (err) => err,
      );
      assert.ok(refused, 'the third handshake must be refused');
      assert.equal(refused.status, 429);
      assert.deepEqual(JSON.parse(refused.body), { message: 'Too Many Requests' });
      assert.equal(gw.connectionCount(), 2);
      a.c.close();
      await until(() => gw.connectionCount() === 1, 'the close to be processed');
      const c = await connect(gw);
      clients.push(c.c);
      assert.equal(gw.connectionCount(), 2);
    });
  });
});

describe('promise: limits.integrationTimeoutMs is the default integration timeout', () => {
  it('a route without its own timeoutMs times out after limits.integrationTimeoutMs; a route with timeoutMs keeps its own', async () => {
    const routes = {
      slow: { handler: `${H}#slow`, routeResponse: true }, // answers after 1 s
      patient: { handler: `${H}#slow`, routeResponse: true, timeoutMs: 10_000 },
      context: { handler: `${H}#context`, routeResponse: true },
    };
    await withGateway({ routes, limits: { integrationTimeoutMs: 300 } }, async (gw, clients) => {
      const c = await TestClient.connect(gw.url);
      clients.push(c);
      // Timed out before the handler answered (after 1 s, with "too late").
      const frame = JSON.parse((await c.request({ action: 'slow' }, 5000)).text);
      assert.equal(frame.message, 'Endpoint request timed out');
      assert.equal((await c.request({ action: 'patient' }, 5000)).text, 'too late');
      // The handler's context counts down from the same timeout.
      const ctx = JSON.parse((await c.request({ action: 'context' })).text);
      assert.ok(ctx.remaining > 0 && ctx.remaining <= 300, `getRemainingTimeInMillis() = ${ctx.remaining}`);
    });
  });
});

describe('promise: limits.maxConnectionSeconds', () => {
  it('closes an active connection with 1001 "Going away" once it is that old, not before', async () => {
    await withGateway({ routes: { $default: { handler: `${H}#echo`, routeResponse: true } }, limits: { maxConnectionSeconds: 1.2 } }, async (gw, clients) => {
      const c = await TestClient.connect(gw.url);
      clients.push(c);
      const opened = Date.now();
      const timer = setInterval(() => c.send('keep busy'), 100);
      try {
        const closed = await c.waitClose(10_000);
        const age = Date.now() - opened;
        assert.deepEqual(closed, { code: 1001, reason: 'Going away' });
        // Lower bound: never early (load only makes it later); upper bound: generous.
        assert.ok(age >= 1100, `closed after ${age} ms, before the 1.2 s maximum`);
        assert.ok(age < 8000, `closed after ${age} ms`);
      } finally {
        clearInterval(timer);
      }
    });
  });
});

describe('promise: management.rateLimit refills at perSecond, up to burst', () => {
  it('after the burst, calls are refused until tokens refill (about 1/perSecond each), and the bucket never holds more than burst', async () => {
    await withGateway({ routes: ROUTES, management: { rateLimit: { perSecond: 2, burst: 2 } } }, async (gw) => {
      const status = async () => (await call(gw, 'GET', '/@connections')).status;
      const emptied = Date.now(); // before the first take: the third token cannot come sooner than 500 ms after it
      assert.equal(await status(), 200);
      assert.equal(await status(), 200);
      const refused = await call(gw, 'GET', '/@connections');
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['x-amzn-errortype'], 'LimitExceededException');
      assert.deepEqual(refused.json(), { message: 'Rate exceeded' });
      // One token takes 500 ms at 2 per second (room for three calls on a loaded machine): a refill comes, and not much sooner.
      let s = 429;
      while (s === 429 && Date.now() - emptied < 5000) {
        await sleep(20);
        s = await status();
      }
      const refill = Date.now() - emptied;
      assert.equal(s, 200, 'no refill within 5 s');
      assert.ok(refill >= 490, `refilled after ${refill} ms; 2 per second needs 500 ms`);
      // Idle for 2 s (4 tokens' worth): still only `burst` of three calls sent at once pass.
      await sleep(2000);
      const statuses = await Promise.all([status(), status(), status()]);
      assert.deepEqual(statuses.sort(), [200, 200, 429]);
    });
  });
});

describe('promise: fan-out payloads over limits.messageBytes are 413', () => {
  it('principal, group and broadcast sends answer 413 PayloadTooLargeException and deliver nothing', async () => {
    await withGateway({ routes: ROUTES, limits: { messageBytes: 1024 } }, async (gw, clients) => {
      const m = await connect(gw, '?user=fay&groups=big');
      clients.push(m.c);
      for (const target of ['/@principals/fay', '/@groups/big', '/@broadcast']) {
        const over = await call(gw, 'POST', target, 'x'.repeat(1025));
        assert.equal(over.status, 413, target);
        assert.equal(over.headers['x-amzn-errortype'], 'PayloadTooLargeException', target);
        assert.deepEqual(over.json(), { message: 'Request payload is larger than the maximum of 1024 bytes' }, target);
        const exact = await call(gw, 'POST', target, 'y'.repeat(1024));
        assert.equal(exact.status, 200, `${target}: exactly the limit is accepted`);
        assert.equal((await m.c.next()).text, 'y'.repeat(1024));
      }
      await m.c.expectSilence(100);
    });
  });
});

describe('promise: listings default to 100 items a page', () => {
  it('without ?limit, a page holds 100 connections and a nextToken leads to the rest', async () => {
    await withGateway({ routes: ROUTES }, async (gw, clients) => {
      for (let i = 0; i < 101; i++) clients.push(await TestClient.connect(gw.url));
      await until(() => gw.connectionCount() === 101, '101 connections');
      const first = await call(gw, 'GET', '/@connections');
      assert.equal(first.json().items.length, 100);
      assert.ok(first.json().nextToken);
      const rest = await call(gw, 'GET', `/@connections?nextToken=${first.json().nextToken}`);
      assert.equal(rest.json().items.length, 1);
      assert.equal(rest.json().nextToken, undefined);
    });
  });
});

describe('promise: 404 NotFoundException and 405 MethodNotAllowedException, in AWS shape', () => {
  it('a known path with another method is 405, an unknown path 404, both with AWS\'s message', async () => {
    await withGateway({ routes: ROUTES }, async (gw, clients) => {
      const a = await connect(gw);
      clients.push(a.c);
      const wrong = await call(gw, 'PUT', `/@connections/${a.id}`, 'x');
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers['x-amzn-errortype'], 'MethodNotAllowedException');
      assert.deepEqual(wrong.json(), { message: `No method found matching route ${gw.stage}/@connections/${a.id} for http method PUT.` });
      const broadcastGet = await call(gw, 'GET', '/@broadcast');
      assert.equal(broadcastGet.status, 405);
      const unknown = await call(gw, 'GET', '/@nothing/here');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers['x-amzn-errortype'], 'NotFoundException');
      assert.deepEqual(unknown.json(), { message: `No method found matching route ${gw.stage}/@nothing/here for http method GET.` });
      await a.c.expectSilence(50);
    });
  });
});

describe('promise: close() refuses new handshakes with 503', () => {
  it('a handshake whose $connect is still running when close() starts is refused with 503, and its $disconnect runs once', async () => {
    resetRecorded();
    const gw = await startGateway({ routes: { $connect: { handler: `${H}#connect` }, $disconnect: { handler: `${H}#disconnect` } } });
    const pending = TestClient.connect(`${gw.url}?slow=400`).then(
      (c) => (c.ws.terminate(), null),
      (err) => err,
    );
    await until(() => eventsOf('$connect').length === 1, '$connect to start');
    const closing = gw.close();
    const refused = await pending;
    await closing;
    assert.ok(refused, 'the handshake must be refused, not accepted');
    assert.equal(refused.status, 503);
    assert.equal(eventsOf('$disconnect').length, 1, '$connect accepted it, so $disconnect runs');
  });
});
