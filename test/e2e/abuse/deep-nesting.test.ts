// One message nested thousands of levels deep once overflowed the stack in route selection,
// inside a socket listener: the whole process died. The gateway runs in its own process here so
// that a crash fails these tests instead of the test runner.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient, until } from '../../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

const MiB = 1024 * 1024;
const DEPTH = 100_000;

const deepArray = (depth: number) => `{"action":${'['.repeat(depth)}${']'.repeat(depth)}}`;
const deepObject = (depth: number) => `{"action":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

/** Sends `text` as one message split into continuation frames of `size` bytes. */
function sendFragmented(c: TestClient, text: string, size: number): void {
  for (let i = 0; i < text.length; i += size) c.ws.send(text.slice(i, i + size), { fin: i + size >= text.length });
}

/** A real HTTP backend for the routes: answers with the route key it was called for, records $disconnect. */
async function backend(): Promise<{ server: Server; base: string; disconnects: string[] }> {
  const disconnects: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body);
      if (req.url === '/disconnect') disconnects.push(event.requestContext.connectionId);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 200, body: `routed:${event.requestContext.routeKey}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, disconnects };
}

describe('abuse: deeply nested JSON messages', () => {
  let be: Awaited<ReturnType<typeof backend>>;
  let gw: GatewayProcess;
  let noDefault: GatewayProcess;
  let bystander: TestClient;

  before(async () => {
    be = await backend();
    const limits = { messageBytes: MiB, frameBytes: MiB };
    gw = await startGatewayProcess({
      limits,
      routes: {
        $disconnect: { http: `${be.base}/disconnect` },
        $default: { http: `${be.base}/default`, routeResponse: true },
        ping: { http: `${be.base}/ping`, routeResponse: true },
      },
    });
    noDefault = await startGatewayProcess({ limits, routes: { ping: { http: `${be.base}/ping`, routeResponse: true } } });
    bystander = await TestClient.connect(gw.url);
  });
  after(async () => {
    bystander?.close();
    await gw?.stop();
    await noDefault?.stop();
    be?.server.close();
  });

  /** The gateway is alive and still serves the bystander (connected before the attack). */
  async function stillServing(): Promise<void> {
    assert.equal(gw.alive(), true, `gateway died:\n${gw.logs().slice(-5).join('\n')}`);
    assert.equal((await bystander.request({ action: 'ping' }, 10_000)).text, 'routed:ping');
  }

  const cases: Array<[string, string, boolean]> = [
    ['the 12 KB payload: 6,000 [ then 6,000 ]', deepArray(6000), false],
    [`arrays nested ${DEPTH} deep, one frame`, deepArray(DEPTH), false],
    [`objects nested ${DEPTH} deep, one frame`, deepObject(DEPTH), false],
    [`arrays nested ${DEPTH} deep, in 16 KB fragments`, deepArray(DEPTH), true],
    [`objects nested ${DEPTH} deep, in 16 KB fragments`, deepObject(DEPTH), true],
  ];
  for (const [title, payload, fragmented] of cases) {
    it(`${title}: routed to $default, the process lives, the bystander is served`, async () => {
      assert.ok(Buffer.byteLength(payload) < MiB);
      const c = await TestClient.connect(gw.url);
      if (fragmented) sendFragmented(c, payload, 16 * 1024);
      else c.send(payload);
      assert.equal((await c.next(15_000)).text, 'routed:$default');
      await stillServing();
      // The attacker's connection is still an ordinary one: it is served and closes normally.
      assert.equal((await c.request({ action: 'ping' }, 10_000)).text, 'routed:ping');
      c.close();
      await until(() => be.disconnects.length > 0 && gw.alive(), '$disconnect', 10_000);
      be.disconnects.length = 0;
    });
  }

  it(`without $default, a message nested ${DEPTH} deep gets the Forbidden error frame`, async () => {
    const other = await TestClient.connect(noDefault.url);
    for (const payload of [deepArray(DEPTH), deepObject(DEPTH)]) {
      const c = await TestClient.connect(noDefault.url);
      sendFragmented(c, payload, 32 * 1024);
      assert.equal(JSON.parse((await c.next(15_000)).text).message, 'Forbidden');
      assert.equal(noDefault.alive(), true);
      assert.equal((await other.request({ action: 'ping' }, 10_000)).text, 'routed:ping');
      c.close();
    }
    other.close();
  });
});
