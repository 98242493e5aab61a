// `limits.maxConnections` counts handshakes whose authorizer or $connect is still running, not
// only open connections: a burst of handshakes against a slow $connect cannot open more than the
// limit, and every way a handshake ends gives its slot back.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';

const H = './handlers.ts';

type Outcome = { client: TestClient } | { status: number | undefined };

function attempt(url: string): Promise<Outcome> {
  return TestClient.connect(url).then(
    (client) => ({ client }),
    (err: { status?: number }) => ({ status: err.status }),
  );
}

describe('maxConnections during $connect', () => {
  const gateways: Gateway[] = [];
  after(async () => {
    for (const gw of gateways) await gw.close();
  });

  it('with a limit of 10 and a slow $connect, 200 simultaneous handshakes open at most 10 connections; the rest get 429', async () => {
    const gw = await startGateway({ limits: { maxConnections: 10 }, routes: { $connect: { handler: `${H}#slow` }, $default: { handler: `${H}#echo`, routeResponse: true } } });
    gateways.push(gw);
    const bystander = await TestClient.connect(gw.url);
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => attempt(gw.url)));
    const opened = outcomes.flatMap((o) => ('client' in o ? [o.client] : []));
    const refused = outcomes.filter((o) => 'status' in o && o.status === 429).length;
    assert.ok(opened.length <= 9, `at most 9 more opened beside the bystander, got ${opened.length}`);
    assert.equal(opened.length + refused, 200, 'every other handshake got 429');
    assert.ok(gw.connectionCount() <= 10);
    assert.equal(gw.counters.get('rejected', 'limits.maxConnections'), refused);
    assert.equal((await bystander.request('still here')).text, 'still here');
    // Slots come back: once the flood's connections are gone, the limit can be filled again.
    for (const c of opened) c.close();
    await until(() => gw.connectionCount() === 1, 'the flood to close');
    const again = await Promise.all(Array.from({ length: 9 }, () => attempt(gw.url)));
    assert.equal(again.filter((o) => 'client' in o).length, 9, 'all 9 slots are free again');
    for (const o of again) if ('client' in o) o.client.close();
    bystander.close();
  });

  it('a $connect that fails, refuses, or whose client went away gives its slot back', async () => {
    const failing = await startGateway({ limits: { maxConnections: 2 }, routes: { $connect: { handler: `${H}#fail` } } });
    gateways.push(failing);
    for (let i = 0; i < 10; i++) {
      const o = await attempt(failing.url);
      assert.deepEqual(o, { status: 502 }, 'a failing $connect answers 502, never 429');
    }
    const gw = await startGateway({ limits: { maxConnections: 2 }, routes: { $connect: { handler: `${H}#connect` } } });
    gateways.push(gw);
    for (let i = 0; i < 10; i++) {
      const o = await attempt(`${gw.url}?status=403`);
      assert.deepEqual(o, { status: 403 }, 'a refusing $connect answers its own status, never 429');
    }
    // Two clients (the limit) that go away while their $connect runs: each slot is released once $connect ends.
    for (let i = 0; i < 2; i++) {
      const s = tcpConnect(gw.port, '127.0.0.1');
      s.on('error', () => {});
      s.write(`GET /dev?slow=500 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      setTimeout(() => s.destroy(), 100);
    }
    await sleep(1500);
    const both = await Promise.all([attempt(gw.url), attempt(gw.url)]);
    assert.equal(both.filter((o) => 'client' in o).length, 2, 'both slots are free');
    for (const o of both) if ('client' in o) o.client.close();
    assert.equal(gw.counters.get('rejected', 'limits.maxConnections'), 0);
  });
});
