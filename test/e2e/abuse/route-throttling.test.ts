// AWS route throttling (defaultRouteSettings / routeSettings: throttlingRateLimit and
// throttlingBurstLimit): one token bucket per route over all clients of the stage. Over it,
// messages get "Too Many Requests" and a throttled $connect is refused with 429.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { sleep, TestClient } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';

const TMR = /^\{"message": "Too Many Requests", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/;

/** Sends `n` messages at once and sorts the answers into accepted and throttled. */
async function burst(c: TestClient, action: string, n: number): Promise<{ ok: number; throttled: number }> {
  for (let i = 0; i < n; i++) c.send({ action });
  let ok = 0;
  let throttled = 0;
  for (let i = 0; i < n; i++) {
    const text = (await c.next(5000)).text;
    if (TMR.test(text)) throttled++;
    else if (text === 'quick') ok++;
    else assert.fail(`unexpected answer ${text}`);
  }
  return { ok, throttled };
}

describe('route throttling', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({
      defaultRouteSettings: { throttlingRateLimit: 1, throttlingBurstLimit: 5 },
      routeSettings: {
        closed: { throttlingBurstLimit: 0 },
        rateOnly: { throttlingRateLimit: 1 },
        free: { throttlingRateLimit: 100_000, throttlingBurstLimit: 100_000 },
      },
      routes: {
        limited: { handler: './abuse.ts#quick', routeResponse: true },
        shared: { handler: './abuse.ts#quick', routeResponse: true },
        closed: { handler: './abuse.ts#quick', routeResponse: true },
        rateOnly: { handler: './abuse.ts#quick', routeResponse: true },
        free: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(() => gw.close());

  it('accepts the burst, throttles the rest, then refills at the rate', async () => {
    const c = await TestClient.connect(gw.url);
    const bystander = await TestClient.connect(gw.url);
    const first = await burst(c, 'limited', 12);
    // The rate (1/s) may add a token while the burst is processed on a loaded machine.
    assert.ok(first.ok >= 5 && first.ok <= 6, `accepted ${first.ok} of 12`);
    assert.equal(first.ok + first.throttled, 12);
    // Another route (its own bucket, generous settings) serves the bystander meanwhile.
    assert.equal((await bystander.request({ action: 'free' })).text, 'quick');
    await sleep(2200);
    const second = await burst(c, 'limited', 12);
    assert.ok(second.ok >= 2 && second.ok <= 5, `accepted ${second.ok} of 12 after refilling`);
    assert.ok(gw.counters.get('rejected', 'routeSettings') >= first.throttled + second.throttled);
    c.close();
    bystander.close();
  });

  it('shares one bucket per route over all clients', async () => {
    const a = await TestClient.connect(gw.url);
    const b = await TestClient.connect(gw.url);
    const fromA = await burst(a, 'shared', 5);
    assert.ok(fromA.ok >= 5);
    const fromB = await burst(b, 'shared', 3);
    assert.ok(fromB.throttled >= 2, `client b was throttled ${fromB.throttled} times`);
    a.close();
    b.close();
  });

  it('a route’s own settings win; burst 0 throttles every message; a missing number takes AWS’s account default', async () => {
    const c = await TestClient.connect(gw.url);
    assert.deepEqual(await burst(c, 'closed', 3), { ok: 0, throttled: 3 });
    // Only the rate is set: the burst is AWS's account default (5,000), not the stage default's 5.
    assert.deepEqual(await burst(c, 'rateOnly', 50), { ok: 50, throttled: 0 });
    c.close();
  });
});

describe('$connect throttling', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({
      routeSettings: { $connect: { throttlingBurstLimit: 2, throttlingRateLimit: 0.01 } },
      routes: {
        $connect: { handler: './handlers.ts#connect' },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(() => gw.close());

  it('refuses handshakes over the $connect route’s settings with 429 and keeps serving the open ones', async () => {
    const a = await TestClient.connect(gw.url);
    const b = await TestClient.connect(gw.url);
    await assert.rejects(TestClient.connect(gw.url), (err: any) => err.status === 429 && JSON.parse(err.body).message === 'Too Many Requests');
    assert.equal((await a.request({ action: 'quick' })).text, 'quick');
    assert.equal((await b.request({ action: 'quick' })).text, 'quick');
    assert.equal(gw.counters.get('rejected', 'routeSettings'), 1);
    a.close();
    b.close();
  });
});
