// Log amplification: whatever a client or a backend can make happen over and over (dropped route
// responses, failing integrations, refused management calls, protocol errors, refused handshakes)
// is logged a handful of times, with a summary line that says how many lines were folded into it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { TestClient, until } from '../../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';
import { call } from '../../helpers/signed.js';
import type { Gateway } from '../../../src/index.js';

const H = './handlers.ts';
const KiB = 1024;

describe('log amplification: repeated client-triggered events give a handful of lines and a summary', () => {
  let proc: GatewayProcess;
  let target: Gateway;
  let bystander: TestClient;
  before(async () => {
    proc = await startGatewayProcess({
      routes: {
        boom: { handler: `${H}#fail` },
        whoami: { handler: `${H}#whoami`, routeResponse: true },
        $default: { handler: `${H}#echo`, routeResponse: true },
      },
      // No in-flight bound here: every message must reach its integration so its answer can be dropped.
      limits: { sendBufferBytes: 1024, sendBufferTotalBytes: 64 * 1024 * 1024, slowConsumerSeconds: 3600, inflightPerConnection: 100_000 },
    });
    target = { port: proc.port, stage: 'dev' } as Gateway;
    bystander = await TestClient.connect(proc.url);
  });
  after(async () => {
    bystander.close();
    if (proc.alive()) await proc.stop();
  });

  /** The log records with message `msg` (after the process flushed its summaries). */
  const lines = (msg: string) => proc.logRecords().filter((r) => r.msg === msg || (typeof r.msg === 'string' && r.msg.endsWith(`: ${msg}`)));
  /** Lines written plus the repeats the summaries say were folded in. */
  const accounted = (msg: string) => lines(msg).reduce((n, r) => n + (typeof r.suppressed === 'number' ? r.suppressed : 1), 0);

  it('a client that does not read, sending thousands of messages whose answers are dropped or fail, and thousands of bad management calls, protocol errors and refused handshakes', async () => {
    // A client stops reading and its buffer is filled (PostToConnection until 429).
    const stuck = await TestClient.connect(proc.url);
    const id = JSON.parse((await stuck.request({ action: 'whoami' })).text).connectionId as string;
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let status = 200;
    for (let i = 0; i < 2000 && status === 200; i++) status = (await call(target, 'POST', `/@connections/${id}`, 'f'.repeat(64 * KiB))).status;
    assert.equal(status, 429, 'its buffer filled');

    // 3,000 echoes whose route responses cannot be delivered, 3,000 messages whose integration fails.
    for (let i = 0; i < 3000; i++) stuck.send('e');
    for (let i = 0; i < 3000; i++) stuck.send('{"action":"boom"}');
    // 1,000 management calls to a route that does not exist.
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 50 }, () => call(target, 'GET', '/@nowhere')));
    // 200 connections that break the protocol (an unmasked frame), 500 handshakes on the wrong path.
    for (let i = 0; i < 200; i++) {
      const c = await TestClient.connect(proc.url);
      (c.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x81, 0x01, 0x61]));
      await c.waitClose(5000);
    }
    for (let i = 0; i < 10; i++) {
      await Promise.all(
        Array.from({ length: 50 }, () => new Promise<void>((resolve) => {
          const ws = new WebSocket(proc.url.replace(/\/dev$/, '/elsewhere'));
          ws.on('error', () => resolve());
          ws.on('close', () => resolve());
        })),
      );
    }
    await until(() => proc.logRecords().length > 0, 'logs');
    assert.equal((await bystander.request('served meanwhile')).text, 'served meanwhile');
    stuck.ws.terminate();
    // Draining flushes the summaries of the current window.
    await proc.stop();

    const cases: Array<[string, number]> = [
      ['route response not delivered', 3000],
      ['integration failed', 3000],
      ['error frame not delivered', 3000],
      ['management call refused', 1000],
      ['connection closed: protocol error', 200],
      ['handshake refused (403): not this stage', 500],
    ];
    const report = cases.map(([msg, n]) => `${msg}: ${lines(msg).length} lines for ${accounted(msg)} of ${n}`);
    for (const [msg, n] of cases) {
      // First line and summary per 10 s window: a slow machine may span a few windows.
      assert.ok(lines(msg).length <= 8, `too many lines\n${report.join('\n')}`);
      assert.ok(lines(msg).some((r) => typeof r.suppressed === 'number' && r.suppressed > 0), `no summary line for "${msg}"\n${report.join('\n')}`);
      assert.ok(accounted(msg) >= n, `summaries account for every occurrence of "${msg}"\n${report.join('\n')}`);
    }
    // Access logs (`log: "access"`) are one line per connection and per authenticated management
    // call by design, never per message nor per refused handshake or unauthenticated call: counted apart.
    const access = proc.logRecords().filter((r) => r.log === 'access');
    const perConnection = access.filter((r) => r.eventType !== 'MANAGEMENT').length;
    assert.ok(perConnection <= 205, `${perConnection} connection access-log lines for about 202 connections`);
    assert.ok(access.length - perConnection <= 3000, `${access.length - perConnection} management access-log lines for at most 3,000 signed calls`);
    const diagnostic = proc.logs().length - access.length;
    assert.ok(diagnostic < 100, `${diagnostic} log lines in all:\n${proc.logs().slice(0, 40).join('\n')}`);
  });
});

