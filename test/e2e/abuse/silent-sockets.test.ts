// Sockets that never finish a request head: a TCP connection that sends nothing, or half a
// request head, is destroyed at `limits.handshakeTimeoutMs` (not half-closed and left waiting
// for a peer that never closes), so its descriptor comes back and new clients are served even
// when the gateway runs at its descriptor limit.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

const H = './handlers.ts';
const CONFIG = { limits: { handshakeTimeoutMs: 500 }, routes: { $default: { handler: `${H}#echo`, routeResponse: true } } };

interface Held {
  sockets: Socket[];
  /** Sockets the gateway ended or reset. */
  closedByGateway(): number;
}

/**
 * Opens `n` sockets that write `bytes` (maybe nothing) and then neither send more nor close:
 * `allowHalfOpen` keeps them from answering the gateway's FIN, as a peer that has gone away would.
 */
async function hold(port: number, n: number, bytes: string): Promise<Held> {
  const sockets: Socket[] = [];
  let closed = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const s = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
        let seen = false;
        const gone = () => {
          if (!seen) closed++;
          seen = true;
        };
        s.on('end', gone);
        s.on('close', gone);
        s.on('error', gone);
        s.resume();
        s.once('connect', () => {
          if (bytes) s.write(bytes);
          resolve();
        });
        s.once('error', () => resolve());
        sockets.push(s);
      }),
    ),
  );
  return { sockets, closedByGateway: () => closed };
}

async function echoes(url: string): Promise<void> {
  const c = await TestClient.connect(url);
  assert.equal((await c.request('hello', 10_000)).text, 'hello');
  c.close();
}

describe('silent sockets and unfinished request heads', () => {
  const procs: GatewayProcess[] = [];
  const held: Socket[] = [];
  after(async () => {
    for (const s of held) s.destroy();
    for (const p of procs) await p.stop();
  });

  for (const [what, bytes] of [
    ['send nothing', ''],
    ['send half a request head', 'GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'],
  ] as const) {
    it(`destroys 300 sockets that ${what} at handshakeTimeoutMs; their descriptors come back`, async () => {
      const gp = await startGatewayProcess(CONFIG);
      procs.push(gp);
      const bystander = await TestClient.connect(gp.url);
      const baseline = gp.fds();
      const h = await hold(gp.port, 300, bytes);
      held.push(...h.sockets);
      // Every socket was accepted and held a descriptor for a while.
      await until(() => gp.fds() >= baseline + 250 || h.closedByGateway() > 250, 'the gateway to accept the sockets', 20_000);
      await until(() => h.closedByGateway() === 300, 'the gateway to close all 300 sockets', 20_000);
      // Destroyed, not half-closed: the peers never close, yet the descriptors are released.
      await until(() => gp.fds() <= baseline + 10, `descriptors back near baseline ${baseline} (now ${gp.fds()})`, 20_000);
      await echoes(gp.url);
      assert.equal((await bystander.request('still here', 10_000)).text, 'still here');
      assert.ok(gp.logs().some((l) => /handshake deadline/.test(l)), 'a log line names the deadline');
      bystander.close();
      for (const s of h.sockets) s.destroy();
    });
  }

  it('does not cut a WebSocket handshake whose $connect runs past the deadline', async () => {
    const gp = await startGatewayProcess({ ...CONFIG, routes: { ...CONFIG.routes, $connect: { handler: `${H}#connect` } } });
    procs.push(gp);
    const t0 = Date.now();
    const c = await TestClient.connect(`${gp.url}?slow=1500`);
    assert.ok(Date.now() - t0 >= 1400, 'the $connect took longer than the 500 ms deadline');
    assert.equal((await c.request('hello', 10_000)).text, 'hello');
    c.close();
  });

  it('at its descriptor limit the gateway keeps running, warns, and serves new clients once the deadline freed descriptors', async () => {
    // prlimit (util-linux) execs the gateway with a low limit; Node raises its soft limit to the hard one at start: set both.
    const gp = await startGatewayProcess(CONFIG, { prefix: ['prlimit', '--nofile=160:160'] });
    procs.push(gp);
    const bystander = await TestClient.connect(gp.url);
    const h = await hold(gp.port, 300, '');
    held.push(...h.sockets);
    // The gateway ran out of descriptors; it must have said so and survived.
    await until(() => gp.logs().some((l) => /descriptor/.test(l)), 'a warning about the descriptor limit', 20_000);
    assert.ok(gp.alive(), 'the gateway survives running out of descriptors');
    // New clients are served again after the deadline (while the 300 peers still hold their ends open).
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await echoes(gp.url);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
    // Freed descriptors are first taken by peers still waiting in the accept backlog (each then
    // gets its own deadline), so the count falls once the backlog has been worked through.
    await until(() => gp.fds() < 150, `descriptors released (now ${gp.fds()})`, 30_000);
    assert.equal((await bystander.request('still here', 10_000)).text, 'still here');
    assert.ok(gp.alive());
    bystander.close();
    for (const s of h.sockets) s.destroy();
  });
});
