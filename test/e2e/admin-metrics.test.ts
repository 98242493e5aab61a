import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import pino from 'pino';
import type { Gateway } from '../../src/index.js';
import { TestClient, sleep } from '../helpers/client.js';
import { CREDS, startGateway } from '../helpers/gateway.js';
import { scrape, type Scrape } from '../helpers/metrics.js';

const H = './handlers.ts';
const TOKEN = 'admin-token-for-the-metrics-tests';

/** A raw HTTP request to the admin listener (fetch cannot send every malformed thing). */
function raw(gw: Gateway, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(gw.adminUrl!);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits until a fresh scrape satisfies `ok` (metrics of work that finishes after the client saw its answer). */
async function scrapeUntil(gw: Gateway, ok: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  let last = await scrape(gw, TOKEN);
  const deadline = Date.now() + 10_000;
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await sleep(25);
    last = await scrape(gw, TOKEN);
  }
  return last;
}

describe('admin listener: metrics move with real traffic', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: {
        $connect: { handler: `${H}#connect`, authorizer: { handler: './authorizers.ts#authorize', identitySource: ['route.request.querystring.token'], resultTtlSeconds: 60 } },
        $disconnect: { handler: `${H}#disconnect` },
        echo: { handler: `${H}#echo`, routeResponse: true },
        fail: { handler: `${H}#fail`, routeResponse: true },
        slow: { handler: `${H}#slow`, routeResponse: true, timeoutMs: 100 },
        throttled: { handler: `${H}#echo`, routeResponse: true },
      },
      routeSettings: { throttled: { throttlingBurstLimit: 0, throttlingRateLimit: 0 } },
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
  });
  after(() => gw.close());

  it('exposes the admin URL, /health and /ready without a token', async () => {
    assert.match(gw.adminUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${gw.adminUrl}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${gw.adminUrl}/ready`);
    assert.equal(ready.status, 200);
  });

  it('connect, message, disconnect: ConnectCount, MessageCount, connections open, bytes, invocations, latency, close codes', async () => {
    const before = await scrape(gw, TOKEN);
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    const afterConnect = await scrape(gw, TOKEN);
    assert.equal(afterConnect.get('ConnectCount') - before.get('ConnectCount'), 1);
    assert.equal(afterConnect.get('switchboard_connections_open', { stage: 'dev' }), before.get('switchboard_connections_open', { stage: 'dev' }) + 1);
    assert.equal(afterConnect.get('switchboard_connections_opened_total') - before.get('switchboard_connections_opened_total'), 1);

    const msg = JSON.stringify({ action: 'echo', data: 'hello metrics' });
    assert.equal((await c.request(msg)).text, msg);
    const s = await scrapeUntil(gw, (x) => x.get('IntegrationLatency_count', { route: 'echo', integration: 'handler' }) > before.get('IntegrationLatency_count', { route: 'echo', integration: 'handler' }), 'the echo latency');
    // MessageCount counts messages to and from the client: the message and its route response.
    assert.equal(s.get('MessageCount') - before.get('MessageCount'), 2);
    assert.equal(s.get('switchboard_messages_received_total') - before.get('switchboard_messages_received_total'), 1);
    assert.equal(s.get('switchboard_messages_sent_total') - before.get('switchboard_messages_sent_total'), 1);
    assert.equal(s.get('switchboard_received_bytes_total') - before.get('switchboard_received_bytes_total'), Buffer.byteLength(msg));
    assert.equal(s.get('switchboard_sent_bytes_total') - before.get('switchboard_sent_bytes_total'), Buffer.byteLength(msg));
    assert.equal(s.get('switchboard_route_invocations_total', { route: 'echo', integration: 'handler' }) - before.get('switchboard_route_invocations_total', { route: 'echo', integration: 'handler' }), 1);
    assert.ok(s.get('IntegrationLatency_sum', { route: 'echo' }) >= 0);
    assert.ok(s.has('switchboard_event_loop_lag_seconds'), 'event-loop lag exposed');
    assert.ok(s.has('switchboard_send_buffer_bytes'), 'send-buffer bytes exposed');

    c.close(4001, 'bye');
    await c.waitClose();
    const closed = await scrapeUntil(gw, (x) => x.get('switchboard_disconnects_total', { code: '4001' }) === before.get('switchboard_disconnects_total', { code: '4001' }) + 1, 'the 4001 disconnect');
    assert.equal(closed.get('switchboard_connections_open', { stage: 'dev' }), before.get('switchboard_connections_open', { stage: 'dev' }));
    // Traffic of ended connections stays counted.
    assert.equal(closed.get('MessageCount') - before.get('MessageCount'), 2);
  });

  it('process_open_fds counts the descriptors: 30 more clients, 60 more sockets (both ends live in this process)', async () => {
    const before = (await scrape(gw, TOKEN)).get('switchboard_process_open_fds');
    assert.ok(before > 3, `open descriptors ${before}`);
    const clients = await Promise.all(Array.from({ length: 30 }, () => TestClient.connect(`${gw.url}?token=alice-token`)));
    // The test's client sockets live in this process too: 30 on each side.
    const grown = (await scrape(gw, TOKEN)).get('switchboard_process_open_fds') - before;
    assert.ok(grown >= 60 && grown <= 66, `descriptors grew by ${grown}`);
    for (const c of clients) c.ws.terminate();
  });

  it('event-loop lag is the delay, not the sampler\'s 100 ms interval: a quiet gateway shows a median far below it', async () => {
    await scrape(gw, TOKEN); // each scrape starts a new window
    await sleep(600); // about 6 ticks of the sampler
    const median = (await scrape(gw, TOKEN)).get('switchboard_event_loop_lag_seconds', { quantile: '0.5' });
    assert.ok(median >= 0 && median < 0.05, `median lag ${median} s`);
  });

  it('event-loop lag shows a loop held up: 600 ms of blocking is a max of at least 0.45 s, and the next window starts clean', async () => {
    await scrape(gw, TOKEN);
    await sleep(150);
    const until = Date.now() + 600;
    while (Date.now() < until); // the gateway runs in this process: its loop is held up too
    await sleep(250); // the late tick, then a few on time
    const held = await scrape(gw, TOKEN);
    const max = held.get('switchboard_event_loop_lag_seconds', { quantile: '1' });
    assert.ok(max >= 0.45 && max < 2, `max lag ${max} s`);
    assert.ok(held.get('switchboard_event_loop_lag_seconds', { quantile: '0.99' }) <= max);
    await sleep(400);
    // A fresh window: whatever a busy machine adds, not the 600 ms just read.
    const next = (await scrape(gw, TOKEN)).get('switchboard_event_loop_lag_seconds', { quantile: '1' });
    assert.ok(next < 0.45, `the next window's max lag ${next} s`);
  });

  it('the default process metrics are there, but not the ones that walk every handle on each scrape', async () => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const name of ['switchboard_process_cpu_seconds_total', 'switchboard_process_resident_memory_bytes', 'switchboard_nodejs_heap_size_used_bytes', 'switchboard_nodejs_gc_duration_seconds', 'switchboard_process_open_fds']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.doesNotMatch(text, /switchboard_nodejs_(eventloop_lag|active_handles|active_requests|active_resources)/);
  });

  it('integration error and execution error (timeout), by route', async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    const before = await scrape(gw, TOKEN);
    assert.equal(JSON.parse((await c.request({ action: 'fail' })).text).message, 'Internal server error');
    assert.equal(JSON.parse((await c.request({ action: 'slow' }, 5000)).text).message, 'Endpoint request timed out');
    const s = await scrapeUntil(gw, (x) => x.get('ExecutionError') > before.get('ExecutionError'), 'the execution error');
    assert.equal(s.get('IntegrationError') - before.get('IntegrationError'), 1);
    assert.equal(s.get('switchboard_integration_errors_total', { route: 'fail', integration: 'handler' }) - before.get('switchboard_integration_errors_total', { route: 'fail', integration: 'handler' }), 1);
    assert.equal(s.get('ExecutionError') - before.get('ExecutionError'), 1);
    assert.equal(s.get('switchboard_execution_errors_total', { route: 'slow' }) - before.get('switchboard_execution_errors_total', { route: 'slow' }), 1);
    assert.equal(s.get('switchboard_integration_failed_total', { cause: 'timeout' }) - before.get('switchboard_integration_failed_total', { cause: 'timeout' }), 1);
    c.close();
  });

  it('throttled message: ClientError and rejected{limit="routeSettings"}', async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    const before = await scrape(gw, TOKEN);
    assert.equal(JSON.parse((await c.request({ action: 'throttled' })).text).message, 'Too Many Requests');
    const s = await scrape(gw, TOKEN);
    assert.equal(s.get('ClientError') - before.get('ClientError'), 1);
    assert.equal(s.get('switchboard_rejected_total', { limit: 'routeSettings' }) - before.get('switchboard_rejected_total', { limit: 'routeSettings' }), 1);
    assert.equal(s.get('switchboard_route_invocations_total', { route: 'throttled' }), before.get('switchboard_route_invocations_total', { route: 'throttled' }), 'a throttled message never reaches the integration');
    c.close();
  });

  it('management call (AWS SDK v3 PostToConnection): calls by operation and status, and MessageCount', async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    const id = await findId(c);
    const sdk = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });
    try {
      const before = await scrape(gw, TOKEN);
      await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode('pushed') }));
      assert.equal((await c.next()).text, 'pushed');
      await assert.rejects(sdk.send(new PostToConnectionCommand({ ConnectionId: 'nobody-here=', Data: new TextEncoder().encode('x') })), /Gone/);
      const s = await scrapeUntil(gw, (x) => x.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '410' }) > before.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '410' }), 'the 410');
      assert.equal(s.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '200' }) - before.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '200' }), 1);
      assert.equal(s.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '410' }) - before.get('switchboard_management_calls_total', { operation: 'PostToConnection', status: '410' }), 1);
      assert.equal(s.get('switchboard_management_latency_ms_count', { operation: 'PostToConnection' }) - before.get('switchboard_management_latency_ms_count', { operation: 'PostToConnection' }), 2);
      assert.equal(s.get('MessageCount') - before.get('MessageCount'), 1, 'the pushed message counts');
    } finally {
      sdk.destroy();
      c.close();
    }
  });

  it('authorizer deny and cache hits', async () => {
    const before = await scrape(gw, TOKEN);
    await assert.rejects(TestClient.connect(`${gw.url}?token=deny`), (err: { status: number }) => err.status === 403);
    // The denial is cached (resultTtlSeconds): the second handshake with that token is a hit.
    await assert.rejects(TestClient.connect(`${gw.url}?token=deny`), (err: { status: number }) => err.status === 403);
    const s = await scrape(gw, TOKEN);
    assert.equal(s.get('switchboard_authorizer_results_total', { result: 'forbidden' }) - before.get('switchboard_authorizer_results_total', { result: 'forbidden' }), 2);
    assert.equal(s.get('switchboard_authorizer_cache_total', { outcome: 'hit' }) - before.get('switchboard_authorizer_cache_total', { outcome: 'hit' }), 1);
    assert.equal(s.get('switchboard_authorizer_cache_total', { outcome: 'miss' }) - before.get('switchboard_authorizer_cache_total', { outcome: 'miss' }), 1);
    assert.equal(s.get('ClientError') - before.get('ClientError'), 2);
    assert.equal(s.get('ConnectCount'), before.get('ConnectCount'), 'a denied handshake never reaches $connect');
  });

  it('labels stay bounded: no connection id, principal or token in any label', async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    const id = await findId(c);
    const s = await scrape(gw, TOKEN);
    for (const needle of [id, 'alice', 'alice-token']) assert.ok(!s.text.includes(needle), `${needle} must not appear in /metrics`);
    c.close();
  });

  it('/metrics refuses a missing or wrong token (401), whatever its shape', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, 'Bearer', 'Bearer ', TOKEN, `bearer  ${TOKEN} trailing`]) {
      const r = await raw(gw, 'GET', '/metrics', authorization === undefined ? {} : { authorization });
      assert.equal(r.status, 401, `authorization ${JSON.stringify(authorization)}`);
      assert.deepEqual(JSON.parse(r.body), { message: 'Unauthorized' });
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    const ok = await raw(gw, 'GET', '/metrics', { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['content-type']), /^text\/plain/);
  });

  it('unknown path 404, wrong method 405, bad input answered, gateway still serving', async () => {
    const bystander = await TestClient.connect(`${gw.url}?token=alice-token`);
    const nf = await raw(gw, 'GET', '/nope');
    assert.equal(nf.status, 404);
    assert.deepEqual(JSON.parse(nf.body), { message: 'Not Found' });
    assert.equal((await raw(gw, 'GET', '/metrics/extra')).status, 404);
    const wm = await raw(gw, 'POST', '/health', {}, 'x');
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.allow, 'GET');
    assert.equal((await raw(gw, 'DELETE', '/metrics', { authorization: `Bearer ${TOKEN}` })).status, 405);
    assert.equal((await raw(gw, 'GET', '/health?%zz=%')).status, 200, 'a malformed query on a route that ignores it');
    assert.equal((await raw(gw, 'GET', '/%ff%fe')).status, 404);
    const s = await scrape(gw, TOKEN);
    assert.ok(s.get('switchboard_admin_refused_total', { status: '404' }) >= 3);
    assert.ok(s.get('switchboard_admin_refused_total', { status: '401' }) >= 1);
    const msg = JSON.stringify({ action: 'echo', still: 'here' });
    assert.equal((await bystander.request(msg)).text, msg);
    bystander.close();
  });
});

let probes = 0;

/** The client's connection id, from the event its echo handler recorded (handlers run in-process). */
async function findId(c: TestClient): Promise<string> {
  const marker = `probe-${++probes}`;
  c.send({ action: 'echo', probe: marker });
  await c.next();
  const events: any[] = (globalThis as any).__sb?.events ?? [];
  const e = events.find((x) => x.requestContext?.eventType === 'MESSAGE' && typeof x.body === 'string' && x.body.includes(marker));
  if (!e) throw new Error('connection id not found');
  return e.requestContext.connectionId;
}

describe('admin listener: /ready flips on drain', () => {
  it('answers 503 as soon as draining starts, while /health stays 200; the listener closes with the gateway', async () => {
    const gw = await startGateway({
      routes: { slow: { handler: `${H}#slow`, routeResponse: true, timeoutMs: 5000 } },
      admin: { port: 0, token: TOKEN },
      shutdown: { graceSeconds: 10 },
    });
    const url = gw.adminUrl!;
    const c = await TestClient.connect(gw.url);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    c.send({ action: 'slow' });
    await sleep(50); // the handler is running: the drain waits for it (1 s)
    const closing = gw.close();
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not ready' });
    assert.equal((await fetch(`${url}/health`)).status, 200, 'alive while draining');
    // Scraping still works during the drain.
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal((await c.next(5000)).text, 'too late', 'the running handler finished during the drain');
    await closing;
    await assert.rejects(fetch(`${url}/health`), 'the admin listener is closed with the gateway');
  });

  it('an admin listener without a token refuses /metrics; no admin block: no listener, adminUrl undefined', async () => {
    const gw = await startGateway({ routes: { $default: { handler: `${H}#echo` } }, admin: { port: 0 } });
    try {
      assert.equal((await raw(gw, 'GET', '/metrics', { authorization: 'Bearer undefined' })).status, 401);
      assert.equal((await raw(gw, 'GET', '/metrics')).status, 401);
      assert.equal((await raw(gw, 'GET', '/health')).status, 200);
    } finally {
      await gw.close();
    }
    const off = await startGateway({ routes: { $default: { handler: `${H}#echo` } } });
    try {
      assert.equal(off.adminUrl, undefined);
    } finally {
      await off.close();
    }
  });

  for (const accessLog of [false, true]) {
    it(`management calls are counted by operation and status${accessLog ? ' with the access log writing' : ''}; a caller that leaves before its answer is status 0`, async () => {
      // The access log writes at info; a logger at info with a discarding stream turns it on.
      const extra = accessLog ? { logger: pino({ level: 'info' }, new Writable({ write: (_c, _e, cb) => cb() })) } : {};
      const gw = await startGateway({ routes: { $default: { handler: `${H}#echo` } }, management: { auth: 'none' }, admin: { port: 0, token: TOKEN } }, undefined, extra);
      try {
        const calls = (s: Scrape, operation: string, status: string) => s.get('switchboard_management_calls_total', { operation, status });
        const before = await scrape(gw, TOKEN);
        const gone = await fetch(`${gw.managementEndpoint}/@connections/nobody-here=`, { method: 'POST', body: 'x' });
        assert.equal(gone.status, 410);
        // Half a body, then the caller goes away.
        const url = new URL(gw.managementEndpoint);
        const sock = connect(Number(url.port), url.hostname);
        sock.on('error', () => {});
        sock.write(`POST ${url.pathname}/@connections/nobody-here= HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly-a-bit`);
        await sleep(100);
        sock.destroy();
        const s = await scrapeUntil(gw, (x) => calls(x, 'unknown', '0') > calls(before, 'unknown', '0'), 'the call whose caller left');
        assert.equal(calls(s, 'PostToConnection', '410') - calls(before, 'PostToConnection', '410'), 1);
        assert.equal(calls(s, 'unknown', '0') - calls(before, 'unknown', '0'), 1);
        assert.equal(s.get('switchboard_management_latency_ms_count', { operation: 'PostToConnection' }) - before.get('switchboard_management_latency_ms_count', { operation: 'PostToConnection' }), 1);
      } finally {
        await gw.close();
      }
    });
  }
});
