// Unbounded work in flight: a client that sends faster than a route's integration answers must
// be refused ("Too Many Requests", not queued) beyond limits.inflightPerConnection, so one client
// cannot grow the gateway's memory, while other clients are served throughout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { sleep, TestClient, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

const stats = ((globalThis as any).__abuse ??= { started: 0 });
const TMR = /^\{"message": "Too Many Requests", "connectionId":"([^"]+)", "requestId":"([^"]+)"\}$/;

describe('in-flight messages per connection', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({
      limits: { inflightPerConnection: 3 },
      routes: {
        slow: { handler: './abuse.ts#slow', routeResponse: true, timeoutMs: 20_000 },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(() => gw.close());

  it('refuses messages beyond the limit with AWS’s "Too Many Requests" error frame and does not start them', async () => {
    const c = await TestClient.connect(gw.url);
    const bystander = await TestClient.connect(gw.url);
    const started = stats.started;
    for (let i = 0; i < 10; i++) c.send({ action: 'slow', ms: 1500 });
    const refused: string[] = [];
    for (let i = 0; i < 7; i++) refused.push((await c.next(5000)).text);
    for (const text of refused) {
      const m = TMR.exec(text);
      assert.ok(m, `expected a Too Many Requests frame, got ${text}`);
    }
    assert.equal(stats.started - started, 3, 'only the calls within the limit reach the handler');
    // The bystander is served while the slow calls are pending.
    assert.equal((await bystander.request({ action: 'quick' })).text, 'quick');
    for (let i = 0; i < 3; i++) assert.equal((await c.next(5000)).text, 'slow done');
    // The slots are free again once answered.
    c.send({ action: 'slow', ms: 10 });
    assert.equal((await c.next(5000)).text, 'slow done');
    assert.equal(gw.counters.get('rejected', 'limits.inflightPerConnection'), 7);
    c.close();
    bystander.close();
  });

  it('counts the limit per connection: another client is not refused because of the first', async () => {
    const a = await TestClient.connect(gw.url);
    const b = await TestClient.connect(gw.url);
    for (let i = 0; i < 3; i++) a.send({ action: 'slow', ms: 800 });
    await sleep(50);
    for (let i = 0; i < 3; i++) b.send({ action: 'slow', ms: 10 });
    for (let i = 0; i < 3; i++) assert.equal((await b.next(5000)).text, 'slow done');
    for (let i = 0; i < 3; i++) assert.equal((await a.next(5000)).text, 'slow done');
    a.close();
    b.close();
  });
});

describe('a flood of messages at a slow route (gateway in its own process)', () => {
  let gp: GatewayProcess;
  const N = 20_000;
  const LIMIT = 10;

  before(async () => {
    gp = await startGatewayProcess({
      logging: { level: 'warn' },
      routes: {
        slow: { handler: './abuse.ts#slow', routeResponse: true, timeoutMs: 29_000 },
        quick: { handler: './abuse.ts#quick', routeResponse: true },
      },
    });
  });
  after(async () => {
    await gp.stop(3000);
  });

  it(`keeps RSS bounded and answers ~${N - LIMIT} "Too Many Requests" frames while serving a bystander`, async (t) => {
    const flood = await TestClient.connect(gp.url);
    const bystander = await TestClient.connect(gp.url);
    assert.equal((await bystander.request({ action: 'quick' })).text, 'quick');
    await sleep(300);
    const rssBefore = gp.rss();
    let refused = 0;
    flood.ws.on('message', (d: Buffer) => {
      if (TMR.test(d.toString())) refused++;
    });
    // 8 KB messages: each one held in flight would cost its body and its event.
    const msg = JSON.stringify({ action: 'slow', pad: 'p'.repeat(8000) });
    for (let i = 0; i < N; i++) flood.ws.send(msg);
    // The bystander is answered while the flood is processed.
    for (let i = 0; i < 5; i++) assert.equal((await bystander.request({ action: 'quick' }, 10_000)).text, 'quick');
    await until(() => refused >= N - LIMIT || flood.ws.bufferedAmount === 0, 'the flood to be sent', 60_000);
    await until(() => refused >= N - LIMIT, 'the refusals', 20_000).catch(() => {});
    const rssAfter = gp.rss();
    const grownMb = (rssAfter - rssBefore) / 2 ** 20;
    t.diagnostic(`RSS before ${(rssBefore / 2 ** 20).toFixed(1)} MB, after ${(rssAfter / 2 ** 20).toFixed(1)} MB (+${grownMb.toFixed(1)} MB); refused ${refused}`);
    assert.ok(gp.alive(), 'the gateway survives');
    assert.ok(grownMb < 60, `RSS grew by ${grownMb.toFixed(1)} MB`);
    assert.equal(refused, N - LIMIT);
    assert.equal((await bystander.request({ action: 'quick' }, 10_000)).text, 'quick');
    // One log line for the cause and connection, not one per message.
    const lines = gp.logRecords().filter((r) => /inflightPerConnection/.test(JSON.stringify(r)));
    assert.ok(lines.length >= 1 && lines.length <= 3, `expected a rate-limited log line, got ${lines.length}`);
    flood.ws.terminate();
    bystander.close();
  });
});
