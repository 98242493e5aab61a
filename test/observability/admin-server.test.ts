import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { AdminServer, sendAdminJson, type AdminRoute } from '../../src/observability/admin-server.js';
import { Counters } from '../../src/observability/counters.js';
import { LogLimiter } from '../../src/observability/log-limiter.js';

const TOKEN = 'unit-test-admin-token-0123456789';

/** Writes a raw request and reads the whole answer (the server closes or answers with a body). */
function rawHttp(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(text);
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, waitMs).unref();
  });
}

describe('AdminServer', () => {
  const counters = new Counters();
  const logger = pino({ level: 'silent' });
  const logLimiter = new LogLimiter(logger, counters);
  const seen: Array<{ params: Record<string, string>; body: string; q: string | null }> = [];
  const routes: AdminRoute[] = [
    { method: 'GET', path: '/open', auth: false, handle: ({ res }) => sendAdminJson(res, 200, { open: true }) },
    { method: 'GET', path: '/api/connections/:id', auth: true, handle: ({ res, params, query }) => (seen.push({ params, body: '', q: query.get('q') }), sendAdminJson(res, 200, { id: params.id })) },
    { method: 'POST', path: '/api/connections/:id/messages', auth: true, handle: ({ res, params, body }) => (seen.push({ params, body: body.toString(), q: null }), sendAdminJson(res, 202, { bytes: body.length })) },
    { method: 'DELETE', path: '/api/connections/:id', auth: true, handle: ({ res }) => sendAdminJson(res, 204, {}) },
    {
      method: 'GET',
      path: '/boom',
      auth: false,
      handle: () => {
        throw new Error('route fault');
      },
    },
    { method: 'GET', path: '/async-boom', auth: false, handle: async () => Promise.reject(new Error('async route fault')) },
  ];
  const authRoutes = routes.filter((r) => r.auth);
  let server: AdminServer;
  let base: string;
  before(async () => {
    server = new AdminServer({ host: '127.0.0.1', port: 0, token: TOKEN, routes, logger, logLimiter, counters, bodyBytes: 1024, bodyTimeoutMs: 300 });
    const port = await server.listen();
    assert.equal(server.port, port);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
    logLimiter.close();
  });

  const concrete = (p: string) => p.replace(':id', 'abc');

  it('every auth route refuses a missing or wrong token with 401 {"message":"Unauthorized"}', async () => {
    for (const r of authRoutes) {
      for (const authorization of [undefined, 'Bearer nope', `Bearer ${TOKEN}0`, `Token ${TOKEN}`, `Bearer ${TOKEN.toUpperCase()}`]) {
        const res = await fetch(base + concrete(r.path), { method: r.method, headers: authorization ? { authorization } : {}, ...(r.method === 'POST' ? { body: 'x' } : {}) });
        assert.equal(res.status, 401, `${r.method} ${r.path} with ${authorization}`);
        assert.deepEqual(await res.json(), { message: 'Unauthorized' });
      }
      const ok = await fetch(base + concrete(r.path), { method: r.method, headers: { authorization: `Bearer ${TOKEN}` }, ...(r.method === 'POST' ? { body: 'x' } : {}) });
      assert.ok(ok.status < 300, `${r.method} ${r.path} with the token: ${ok.status}`);
    }
    assert.ok(counters.get('adminRefused', 401) >= authRoutes.length * 5);
  });

  it('without a configured token every auth route is refused, open routes still answer', async () => {
    const s = new AdminServer({ host: '127.0.0.1', port: 0, token: undefined, routes, logger, logLimiter, counters, bodyBytes: 1024 });
    const port = await s.listen();
    try {
      for (const r of authRoutes) {
        for (const authorization of [undefined, 'Bearer undefined', 'Bearer ', `Bearer ${TOKEN}`]) {
          const res = await fetch(`http://127.0.0.1:${port}${concrete(r.path)}`, { method: r.method, headers: authorization ? { authorization } : {} });
          assert.equal(res.status, 401);
        }
      }
      assert.equal((await fetch(`http://127.0.0.1:${port}/open`)).status, 200);
    } finally {
      await s.close();
    }
  });

  it('captures percent-decoded params and the query; bad percent-encoding is 400', async () => {
    const res = await fetch(`${base}/api/connections/a%2Fb%3D?q=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 'a/b=' });
    assert.equal(seen.at(-1)!.q, '1');
    const bad = await fetch(`${base}/api/connections/%E0%A4%A`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(bad.status, 400);
  });

  it('404 for unknown paths, 405 with Allow for a known path and another method', async () => {
    const nf = await fetch(`${base}/api/nothing`);
    assert.equal(nf.status, 404);
    assert.deepEqual(await nf.json(), { message: 'Not Found' });
    const wm = await fetch(`${base}/api/connections/abc`, { method: 'PUT' });
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.get('allow'), 'GET, DELETE');
  });

  it('bodies: over the limit 413 (declared or streamed), a stalled body 408 then closed; the body reaches the route', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await fetch(`${base}/api/connections/abc/messages`, { method: 'POST', headers: auth, body: 'hello' });
    assert.equal(ok.status, 202);
    assert.equal(seen.at(-1)!.body, 'hello');
    const big = await fetch(`${base}/api/connections/abc/messages`, { method: 'POST', headers: auth, body: 'x'.repeat(2000) });
    assert.equal(big.status, 413);
    const chunked = await rawHttp(server.port, `POST /api/connections/abc/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ntransfer-encoding: chunked\r\n\r\n800\r\n${'y'.repeat(2048)}\r\n0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1.1 413/);
    const before = counters.get('rejected', 'limits.requestBodyTimeoutMs');
    const stalled = await rawHttp(server.port, `POST /api/connections/abc/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 100\r\n\r\nonly-a-bit`);
    assert.match(stalled, /^HTTP\/1.1 408/);
    assert.equal(counters.get('rejected', 'limits.requestBodyTimeoutMs'), before + 1);
    // A refused caller's body is never read (401 before the body), and a stall then loses the socket.
    const unauth = await rawHttp(server.port, `POST /api/connections/abc/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n`);
    assert.match(unauth, /^HTTP\/1.1 401/);
  });

  it('a route that throws (sync or async) is answered 500; garbage is answered 400; the server keeps serving', async () => {
    assert.equal((await fetch(`${base}/boom`)).status, 500);
    assert.equal((await fetch(`${base}/async-boom`)).status, 500);
    assert.equal(counters.get('internalErrors', 'admin'), 2);
    const garbage = await rawHttp(server.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1.1 400/);
    assert.equal((await fetch(`${base}/open`)).status, 200);
  });

  it('handlers run on the gateway\'s thread: while it is blocked, nothing is answered (so /health shows a stuck gateway)', async () => {
    await fetch(`${base}/open`); // a kept-alive connection, so the request goes out at once
    const sent = Date.now();
    const answer = fetch(`${base}/open`).then(() => Date.now());
    const until = Date.now() + 400;
    while (Date.now() < until); // this test's thread is the gateway's thread here
    const answeredAt = await answer;
    assert.ok(answeredAt - sent >= 400, `answered ${answeredAt - sent} ms after it was sent, while the thread was blocked`);
  });

  it('a port in use fails listen() with its error code', async () => {
    const s = new AdminServer({ host: '127.0.0.1', port: server.port, token: TOKEN, routes, logger, logLimiter, counters, bodyBytes: 1024 });
    await assert.rejects(s.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE' && /EADDRINUSE/.test(err.message));
    await new Promise((r) => setTimeout(r, 300)); // its thread has ended by now
    const closing = Date.now();
    await s.close();
    assert.ok(Date.now() - closing < 1000, `close() after a failed listen() returns at once (took ${Date.now() - closing} ms)`);
    assert.equal((await fetch(`${base}/open`)).status, 200);
  });

  it('an HTTP thread that ends is counted, logged and started again on the same port', async () => {
    const before = counters.get('internalErrors', 'admin-thread');
    // The thread is private; ending it from outside stands in for a crash of its own.
    await (server as unknown as { worker: Worker }).worker.terminate();
    assert.equal(counters.get('internalErrors', 'admin-thread'), before + 1);
    let status = 0;
    for (const deadline = Date.now() + 5000; Date.now() < deadline && status !== 200; await new Promise((r) => setTimeout(r, 100))) {
      status = await fetch(`${base}/open`).then((r) => r.status, () => 0);
    }
    assert.equal(status, 200, 'the listener answers again on its port');
    const res = await fetch(`${base}/api/connections/x`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(await res.json(), { id: 'x' });
  });
});
