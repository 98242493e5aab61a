import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { render } from '../../src/observability/access-log.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, FIXTURES } from '../helpers/gateway.js';

const H = './handlers.ts';
const TOKEN = 'admin-bearer-token-that-must-never-be-logged';
const SECRET_BODY = 'message-body-that-must-never-be-logged';
const PUSHED_BODY = 'pushed-body-that-must-never-be-logged';

/** A gateway whose logs (at the default level, info) are captured line by line. */
async function capturedGateway(extra: Partial<ConfigInput> = {}): Promise<{ gw: Gateway; lines: string[] }> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(l);
      cb();
    },
  });
  const gw = await createGateway({
    config: {
      routes: {
        $connect: { handler: `${H}#connect` },
        $disconnect: { handler: `${H}#disconnect` },
        echo: { handler: `${H}#echo`, routeResponse: true },
        fail: { handler: `${H}#fail`, routeResponse: true },
      },
      management: { credentials: [{ ...CREDS }] },
      admin: { port: 0, token: TOKEN },
      ...extra,
    },
    baseDir: FIXTURES,
    port: 0,
    logger: pino({ level: 'info' }, sink),
  });
  return { gw, lines };
}

function records(lines: string[]): any[] {
  return lines.map((l) => JSON.parse(l));
}

describe('access logs', () => {
  let gw: Gateway;
  let lines: string[];
  before(async () => {
    ({ gw, lines } = await capturedGateway());
  });
  after(() => gw.close());

  it('one line per connection at close (code, duration, bytes, messages per route) and one per management call; no secret, token or body in any line', async () => {
    const c = await TestClient.connect(gw.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    const msg = JSON.stringify({ action: 'echo', data: SECRET_BODY });
    assert.equal((await c.request(msg)).text, msg);
    assert.equal((await c.request(msg)).text, msg);
    await c.request({ action: 'fail', data: SECRET_BODY });
    const events: any[] = (globalThis as any).__sb.events;
    const id = events.filter((e) => e.requestContext?.routeKey === 'echo').at(-1).requestContext.connectionId as string;

    const sdk = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });
    try {
      await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode(PUSHED_BODY) }));
      assert.equal((await c.next()).text, PUSHED_BODY);
      // A wrong signature (the secret key a caller holds, used wrongly) and a wrong admin token: refusals are logged too.
      const bad = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: 'wrong-secret-also-never-logged' }, maxAttempts: 1 });
      await assert.rejects(bad.send(new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode(PUSHED_BODY) })));
      bad.destroy();
      assert.equal((await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
      assert.equal((await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}-wrong` } })).status, 401);
      await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
    } finally {
      sdk.destroy();
    }
    await c.waitClose();
    await until(() => records(lines).some((r) => r.log === 'access' && r.eventType === 'DISCONNECT'), 'the connection access-log line');

    const access = records(lines).filter((r) => r.log === 'access');
    const conn = access.filter((r) => r.eventType === 'DISCONNECT');
    assert.equal(conn.length, 1, 'one line per connection');
    const line = conn[0];
    assert.equal(line.connectionId, id);
    assert.equal(line.disconnectStatusCode, 1000);
    assert.equal(line.disconnectReason, 'Connection Closed Normally');
    assert.equal(line.routeKey, '$disconnect');
    assert.equal(line.ip, '127.0.0.1');
    assert.equal(line['identity.sourceIp'], '127.0.0.1');
    assert.equal(line.stage, 'dev');
    assert.match(line.requestTime, /^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    assert.ok(line.durationMs >= 0);
    assert.equal(line.messagesIn, 3);
    assert.equal(line.messagesOut, 4, 'two echoes, the error frame, the push');
    assert.equal(line.bytesIn, 2 * Buffer.byteLength(msg) + Buffer.byteLength(JSON.stringify({ action: 'fail', data: SECRET_BODY })));
    assert.deepEqual(line.routes, { echo: 2, fail: 1 });
    assert.equal(access.filter((r) => r.eventType === 'CONNECT').length, 0, 'no open line by default');

    const mgmt = access.filter((r) => r.eventType === 'MANAGEMENT');
    const ops = mgmt.map((r) => `${r.operation} ${r.status}`);
    assert.ok(ops.includes('PostToConnection 200'), ops.join(', '));
    assert.ok(ops.includes('DeleteConnection 204'), ops.join(', '));
    // An unauthenticated call gets no access-log line (its refusal is counted and logged rate-limited).
    assert.ok(!mgmt.some((r) => r.status === 403), 'no access line for the badly signed call');
    assert.ok(records(lines).some((r) => r.msg === 'management call refused' && r.status === 403), 'its rate-limited refusal line');
    const post = mgmt.find((r) => r.operation === 'PostToConnection' && r.status === 200);
    assert.match(post.requestId, /^[\w=+/-]+$/);
    assert.equal(post.ip, '127.0.0.1');
    assert.equal(post.connectionId, id);
    assert.equal(post.httpMethod, 'POST');
    assert.ok(post.responseLatency >= 0);

    // Nothing secret anywhere in the session's logs, at the default level.
    const all = lines.join('\n');
    for (const needle of [CREDS.secretAccessKey, 'wrong-secret-also-never-logged', TOKEN, SECRET_BODY, PUSHED_BODY, 'Signature=', 'authorization', 'Authorization']) {
      assert.ok(!all.includes(needle), `logs must not contain ${needle}`);
    }
  });
});

describe('access logs: options', () => {
  it('open lines with logging.accessLog.open; a $context template with format; none when disabled', async () => {
    const { gw, lines } = await capturedGateway({ logging: { accessLog: { enabled: true, open: true, format: '$context.eventType $context.connectionId $context.disconnectStatusCode $context.nothing. routes=$context.routes' } } });
    try {
      const c = await TestClient.connect(gw.url);
      await c.request({ action: 'echo' });
      c.close(4003, 'done');
      await until(() => lines.some((l) => l.includes('DISCONNECT')), 'the close line');
      const msgs = records(lines).filter((r) => r.log === 'access').map((r) => r.msg as string);
      assert.equal(msgs.length, 2);
      assert.match(msgs[0]!, /^CONNECT \S+ - -\. routes=-$/);
      assert.match(msgs[1]!, /^DISCONNECT \S+ 4003 -\. routes=\{"echo":1\}$/);
    } finally {
      await gw.close();
    }
    const off = await capturedGateway({ logging: { accessLog: { enabled: false } } });
    try {
      const c = await TestClient.connect(off.gw.url);
      c.close();
      await c.waitClose();
    } finally {
      await off.gw.close();
    }
    assert.equal(records(off.lines).filter((r) => r.log === 'access').length, 0);
  });

  it('render fills $context variables, keeps a sentence-ending dot, and marks missing ones with -', () => {
    assert.equal(render('$context.requestId $context.status. $context.identity.sourceIp $context.x', { requestId: 'r1', status: 200, 'identity.sourceIp': '10.0.0.1' }), 'r1 200. 10.0.0.1 -');
    assert.equal(render('{"id":"$context.connectionId"}', { connectionId: 'abc=' }), '{"id":"abc="}');
  });
});
