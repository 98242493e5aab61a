// The last-resort guard: an unexpected fault while serving one connection (here: a handler
// answer whose getter throws when the gateway reads it) closes that connection with 1011, runs
// its $disconnect once and logs the stack; the process and every other client carry on.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sleep, TestClient, until } from '../../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

describe('abuse: an unexpected fault while serving one connection', () => {
  let backend: Server;
  const disconnects: Array<{ connectionId: string; code: number; reason: string }> = [];
  let gw: GatewayProcess;
  let bystander: TestClient;

  before(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const rc = JSON.parse(body).requestContext;
        disconnects.push({ connectionId: rc.connectionId, code: rc.disconnectStatusCode, reason: rc.disconnectReason });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"statusCode":200}');
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    gw = await startGatewayProcess({
      routes: {
        $connect: { handler: './faults.mjs#connect' },
        $disconnect: { http: `${base}/disconnect` },
        syncFault: { handler: './faults.mjs#syncFault', routeResponse: true },
        asyncFault: { handler: './faults.mjs#asyncFault', routeResponse: true },
        ping: { handler: './faults.mjs#echo', routeResponse: true },
      },
    });
    bystander = await TestClient.connect(gw.url);
  });
  after(async () => {
    bystander?.close();
    await gw?.stop();
    backend?.close();
  });

  async function expectContained(c: TestClient, what: string): Promise<void> {
    const closed = await c.waitClose(10_000);
    assert.deepEqual(closed, { code: 1011, reason: 'Internal server error' }, what);
    await until(() => disconnects.length > 0, '$disconnect', 10_000);
    await sleep(300); // a second $disconnect would arrive meanwhile
    assert.equal(disconnects.length, 1, 'exactly one $disconnect');
    assert.equal(disconnects[0]!.code, 1011);
    assert.equal(disconnects[0]!.reason, 'Internal server error');
    disconnects.length = 0;
    assert.equal(gw.alive(), true, `gateway died:\n${gw.logs().slice(-5).join('\n')}`);
    assert.equal((await bystander.request({ action: 'ping', n: what }, 10_000)).text, `echo:{"action":"ping","n":"${what}"}`);
    const line = gw.logRecords().find((r) => r.level >= 50 && /internal error/i.test(r.msg ?? ''));
    assert.ok(line, 'an error line was logged');
    assert.match(JSON.stringify(line), /boom from a getter/);
    assert.match(JSON.stringify(line), /at /, 'with the stack');
  }

  it('a synchronous answer that throws when read: 1011, one $disconnect, the process lives', async () => {
    const c = await TestClient.connect(gw.url);
    c.send({ action: 'syncFault' });
    await expectContained(c, 'sync');
  });

  it('an answer through a promise that throws when read: the same', async () => {
    const c = await TestClient.connect(gw.url);
    c.send({ action: 'asyncFault' });
    await expectContained(c, 'async');
  });

  it('a $connect answer whose directives throw when read: the handshake is answered 500 (they are applied before the 101), $disconnect runs once', async () => {
    await assert.rejects(TestClient.connect(`${gw.url}?fault=1`), /500/);
    await until(() => disconnects.length > 0, '$disconnect', 10_000);
    await sleep(300); // a second $disconnect would arrive meanwhile
    assert.equal(disconnects.length, 1, 'exactly one $disconnect');
    assert.equal(disconnects[0]!.code, 1011);
    disconnects.length = 0;
    assert.equal(gw.alive(), true);
    const line = gw.logRecords().find((r) => r.level >= 50 && /internal error/i.test(r.msg ?? '') && /connect/.test(r.msg ?? ''));
    assert.ok(line, 'an error line was logged');
    assert.match(JSON.stringify(line), /boom from a getter/);
    assert.equal((await bystander.request({ action: 'ping', n: 'connect' }, 10_000)).text, 'echo:{"action":"ping","n":"connect"}');
  });

  it('many faults in a row: the log is rate-limited, the process keeps serving', async () => {
    const before = gw.logRecords().filter((r) => /internal error/i.test(r.msg ?? '')).length;
    const clients = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(gw.url)));
    for (const c of clients) c.send({ action: 'syncFault' });
    for (const c of clients) assert.equal((await c.waitClose(10_000)).code, 1011);
    await until(() => disconnects.length === 20, '20 $disconnects', 10_000);
    disconnects.length = 0;
    assert.equal(gw.alive(), true);
    const after = gw.logRecords().filter((r) => /internal error/i.test(r.msg ?? '')).length;
    assert.ok(after - before <= 2, `at most a line or two per window, got ${after - before}`);
    assert.match((await bystander.request({ action: 'ping' }, 10_000)).text, /^echo:/);
  });
});

describe('abuse: a fault during the handshake', () => {
  it('answers 500 and never leaves the socket open, even when the client never closes its side', async () => {
    const gw = await startGatewayProcess({ routes: { $connect: { handler: './faults.mjs#connect' }, ping: { handler: './faults.mjs#echo', routeResponse: true } } });
    try {
      const bystander = await TestClient.connect(gw.url);
      const { connect } = await import('node:net');
      const fdsBefore = gw.fds();
      const sockets = await Promise.all(
        Array.from({ length: 40 }, () =>
          new Promise<{ text: string; s: import('node:net').Socket }>((resolve, reject) => {
            const s = connect(gw.port, '127.0.0.1');
            s.allowHalfOpen = true; // the client never ends its side
            let text = '';
            s.on('data', (c: Buffer) => (text += c.toString()));
            s.on('end', () => resolve({ text, s }));
            s.on('error', reject);
            s.write(`GET /${new URL(gw.url).pathname.slice(1)}?fault=headers HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
          }),
        ),
      );
      for (const { text } of sockets) assert.match(text, /^HTTP\/1\.1 500 /);
      // The gateway's side is closed although every client keeps its own open.
      await until(() => gw.fds() <= fdsBefore + 2, `descriptors back to ${fdsBefore} (now ${gw.fds()})`, 15_000);
      for (const { s } of sockets) s.destroy();
      assert.equal(gw.alive(), true);
      assert.match((await bystander.request({ action: 'ping' }, 10_000)).text, /^echo:/);
      bystander.close();
    } finally {
      await gw.stop();
    }
  });
});
