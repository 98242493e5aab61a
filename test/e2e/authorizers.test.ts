import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import pino from 'pino';
import { createGateway, loadConfigFile, type Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { CREDS, ROOT, eventsOf, recorded, resetRecorded, startGateway } from '../helpers/gateway.js';
import { call } from '../helpers/signed.js';

const H = './handlers.ts';
const A = './authorizers.ts#authorize';
const authCalls = (): any[] => ((recorded() as any).authCalls ??= []);

async function refusedStatus(url: string, opts = {}): Promise<number> {
  try {
    const c = await TestClient.connect(url, opts);
    c.close();
  } catch (err) {
    return (err as { status: number }).status;
  }
  throw new Error('expected the handshake to be refused');
}

describe('authorizers: REQUEST authorizer from a handler module', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: {
        $connect: { handler: `${H}#connect`, authorizer: { handler: A, identitySource: ['route.request.querystring.token'], timeoutMs: 200 } },
        $disconnect: { handler: `${H}#disconnect` },
        $default: { handler: `${H}#echo`, routeResponse: true },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => {
    resetRecorded();
    authCalls().length = 0;
  });

  it('allows, with AWS’s authorizer event, and carries principal and context into every later event', async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token`, { headers: { 'X-Extra': 'yes' } });
    const [ev] = authCalls();
    assert.equal(ev.type, 'REQUEST');
    assert.equal(ev.methodArn, 'arn:aws:execute-api:us-east-1:000000000000:switchboard/dev/$connect');
    assert.equal(ev.headers.Upgrade, 'websocket', 'the authorizer sees Connection and Upgrade');
    assert.equal(ev.headers['X-Extra'], 'yes');
    assert.deepEqual(ev.queryStringParameters, { token: 'alice-token' });
    assert.deepEqual(ev.stageVariables, {});
    assert.equal(ev.requestContext.eventType, 'CONNECT');
    assert.ok(ev.requestContext.connectionId);

    const connect = eventsOf('$connect')[0];
    const auth = connect.requestContext.authorizer;
    assert.equal(auth.principalId, 'alice');
    assert.equal(typeof auth.integrationLatency, 'number');
    assert.deepEqual({ role: auth.role, level: auth.level, verified: auth.verified }, { role: 'admin', level: '3', verified: 'true' }, 'context values arrive as strings');
    assert.equal(connect.requestContext.connectionId, ev.requestContext.connectionId, 'the id assigned before the authorizer ran');

    await c.request('hello');
    assert.deepEqual(eventsOf('$default')[0].requestContext.authorizer, auth, 'in message events');
    c.close();
    await until(() => eventsOf('$disconnect').length === 1, '$disconnect');
    assert.deepEqual(eventsOf('$disconnect')[0].requestContext.authorizer, auth, 'and in $disconnect');
  });

  it('refuses with 403 on an explicit Deny and when no Allow matches; an explicit Deny wins over an Allow', async () => {
    assert.equal(await refusedStatus(`${gw.url}?token=deny`), 403);
    assert.equal(await refusedStatus(`${gw.url}?token=other-resource`), 403);
    assert.equal(await refusedStatus(`${gw.url}?token=deny-wins`), 403);
    assert.equal(await refusedStatus(`${gw.url}?token=unknown`), 403);
    assert.equal(eventsOf('$connect').length, 0, 'the $connect integration never ran');
  });

  it('accepts wildcards in the policy resource', async () => {
    const c = await TestClient.connect(`${gw.url}?token=wildcard`);
    assert.equal(eventsOf('$connect')[0].requestContext.authorizer.principalId, 'wild');
    c.close();
  });

  it('refuses with 401 without calling the authorizer when the identity source is missing or empty', async () => {
    assert.equal(await refusedStatus(gw.url), 401);
    assert.equal(await refusedStatus(`${gw.url}?token=`), 401);
    assert.equal(await refusedStatus(`${gw.url}?other=x`), 401);
    assert.equal(authCalls().length, 0);
  });

  it('401 when the authorizer throws "Unauthorized"; 500 when it throws anything else, is too slow, or answers malformed', async () => {
    assert.equal(await refusedStatus(`${gw.url}?token=unauthorized`), 401);
    assert.equal(await refusedStatus(`${gw.url}?token=throw`), 500);
    assert.equal(await refusedStatus(`${gw.url}?token=slow`), 500);
    assert.equal(await refusedStatus(`${gw.url}?token=no-policy`), 500);
    assert.equal(await refusedStatus(`${gw.url}?token=object-context`), 500);
    assert.equal(eventsOf('$connect').length, 0);
    // The gateway keeps serving everyone else.
    const c = await TestClient.connect(`${gw.url}?token=bob-token`);
    assert.equal((await c.request('still here')).text, 'still here');
    c.close();
  });

  it('stores the principal for user-level operations (GET @principals/{p}/connections)', async () => {
    const a = await TestClient.connect(`${gw.url}?token=alice-token`);
    const { call } = await import('../helpers/signed.js');
    const res = await call(gw, 'GET', '/@principals/alice/connections');
    assert.equal(res.json().items.length, 1);
    a.close();
  });
});

describe('authorizers: several identity sources, header names in any case, and the opt-in cache', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: {
        $connect: { handler: `${H}#connect`, authorizer: { handler: A, identitySource: ['route.request.header.Auth', 'route.request.querystring.app'], resultTtlSeconds: 60 } },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => {
    resetRecorded();
    authCalls().length = 0;
  });

  it('needs every identity source', async () => {
    assert.equal(await refusedStatus(`${gw.url}?app=web`), 401);
    assert.equal(await refusedStatus(gw.url, { headers: { auth: 'alice-token' } }), 401);
    assert.equal(authCalls().length, 0);
    const c = await TestClient.connect(`${gw.url}?app=web`, { headers: { AUTH: 'alice-token' } });
    c.close();
  });

  it('calls the authorizer once for two connections with the same identity, again for a different one', async () => {
    const a = await TestClient.connect(`${gw.url}?app=web`, { headers: { Auth: 'bob-token' } });
    const b = await TestClient.connect(`${gw.url}?app=web`, { headers: { Auth: 'bob-token' } });
    assert.equal(authCalls().length, 1, 'cache hit');
    assert.equal(eventsOf('$connect')[1].requestContext.authorizer.principalId, 'bob');
    const c = await TestClient.connect(`${gw.url}?app=mobile`, { headers: { Auth: 'bob-token' } });
    assert.equal(authCalls().length, 2, 'different identity → called again');
    // Denials are cached too (that failures are not is tested in promises-auth.test.ts).
    assert.equal(await refusedStatus(`${gw.url}?app=web`, { headers: { Auth: 'deny' } }), 403);
    assert.equal(await refusedStatus(`${gw.url}?app=web`, { headers: { Auth: 'deny' } }), 403);
    assert.equal(authCalls().length, 3);
    for (const x of [a, b, c]) x.close();
  });
});

describe('authorizers: an HTTP endpoint as the authorizer', () => {
  let gw: Gateway;
  let server: Server;
  const seen: any[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const event = JSON.parse(body);
        seen.push(event);
        const token = event.queryStringParameters?.token;
        if (token === 'reject-401') {
          res.writeHead(401);
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ principalId: `http-${token}`, policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: token === 'ok' ? 'Allow' : 'Deny', Resource: event.methodArn }] }, context: { via: 'http' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`;
    gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizer: { http: url, identitySource: ['route.request.querystring.token'] } } } });
  });
  after(async () => {
    await gw.close();
    await new Promise((r) => server.close(r));
  });

  it('receives the authorizer event as JSON and its answer is evaluated like a Lambda’s', async () => {
    resetRecorded();
    const c = await TestClient.connect(`${gw.url}?token=ok`);
    assert.equal(seen[0].type, 'REQUEST');
    assert.deepEqual(
      (({ principalId, via }) => ({ principalId, via }))(eventsOf('$connect')[0].requestContext.authorizer),
      { principalId: 'http-ok', via: 'http' },
    );
    c.close();
    assert.equal(await refusedStatus(`${gw.url}?token=no`), 403);
    assert.equal(await refusedStatus(`${gw.url}?token=reject-401`), 401);
  });
});

describe('authorizers: the result cache is off by default and expires', () => {
  beforeEach(() => {
    resetRecorded();
    authCalls().length = 0;
  });

  it('without resultTtlSeconds, calls the authorizer for every connection', async () => {
    const gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizer: { handler: A, identitySource: ['route.request.querystring.token'] } } } });
    try {
      const a = await TestClient.connect(`${gw.url}?token=alice-token`);
      const b = await TestClient.connect(`${gw.url}?token=alice-token`);
      assert.equal(authCalls().length, 2, 'no cache');
      a.close();
      b.close();
    } finally {
      await gw.close();
    }
  });

  it('with resultTtlSeconds: 1, a cached answer is reused, then expires', async () => {
    const gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizer: { handler: A, identitySource: ['route.request.querystring.token'], resultTtlSeconds: 1 } } } });
    try {
      const a = await TestClient.connect(`${gw.url}?token=alice-token`);
      const b = await TestClient.connect(`${gw.url}?token=alice-token`);
      assert.equal(authCalls().length, 1, 'cache hit');
      await sleep(1100);
      const c = await TestClient.connect(`${gw.url}?token=alice-token`);
      assert.equal(authCalls().length, 2, 'expired after 1 s → called again');
      assert.equal(eventsOf('$connect')[2].requestContext.authorizer.principalId, 'alice');
      for (const x of [a, b, c]) x.close();
    } finally {
      await gw.close();
    }
  });
});

describe('authorizers: malformed policy documents', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizer: { handler: './authorizers.ts#authorizeMalformed', identitySource: ['route.request.querystring.token'] } } } });
  });
  after(() => gw.close());

  it('refuses with 500 a policy with an Effect other than Allow/Deny or without Statement, without calling $connect', async () => {
    resetRecorded();
    authCalls().length = 0;
    assert.equal(await refusedStatus(`${gw.url}?token=bad-effect`), 500);
    assert.equal(await refusedStatus(`${gw.url}?token=no-statement`), 500);
    assert.equal(authCalls().length, 2, 'the authorizer answered both times');
    assert.equal(eventsOf('$connect').length, 0, 'the $connect integration never ran');
    // The same authorizer's well-formed answers still work.
    const c = await TestClient.connect(`${gw.url}?token=alice-token`);
    assert.equal(eventsOf('$connect').length, 1);
    c.close();
  });
});

describe('authorizers: the gateway keeps its own copies of what handlers see', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      routes: {
        $connect: { handler: `${H}#connectClaims`, authorizer: { handler: A, identitySource: ['route.request.querystring.token'], resultTtlSeconds: 60 } },
        whoami: { handler: `${H}#whoami`, routeResponse: true },
        mutateEvent: { handler: `${H}#mutateEvent`, routeResponse: true },
      },
    });
  });
  after(() => gw.close());
  beforeEach(() => {
    resetRecorded();
    authCalls().length = 0;
  });

  it('a handler that mutates its event changes neither the cached authorizer answer nor the connection', async () => {
    const a = await TestClient.connect(`${gw.url}?token=alice-token`);
    const aId = JSON.parse((await a.request({ action: 'whoami' })).text).connectionId as string;
    const first = JSON.parse((await a.request({ action: 'mutateEvent' })).text);
    assert.equal(first.identity.sourceIp, '127.0.0.1');
    assert.equal(first.authorizer.principalId, 'alice');

    const b = await TestClient.connect(`${gw.url}?token=alice-token`);
    assert.equal(authCalls().length, 1, 'B was authorized from the cache');
    const seenByB = JSON.parse((await b.request({ action: 'mutateEvent' })).text);
    assert.equal(seenByB.authorizer.principalId, 'alice');
    assert.equal('injected' in seenByB.authorizer, false, "A's handler did not change the cached answer");
    assert.equal(seenByB.identity.sourceIp, '127.0.0.1');

    const again = JSON.parse((await a.request({ action: 'mutateEvent' })).text);
    assert.equal(again.identity.sourceIp, '127.0.0.1', "A's own later events are unchanged");
    assert.equal('injected' in again.authorizer, false);

    const got = await call(gw, 'GET', `/@connections/${aId}`);
    assert.equal(got.status, 200);
    assert.equal(got.json().identity.sourceIp, '127.0.0.1');
    a.close();
    b.close();
    await Promise.all([a.waitClose(), b.waitClose()]);
  });

  it("a $connect answer's principalId other than the authorizer's is refused: the authorizer's principal stays", async () => {
    const c = await TestClient.connect(`${gw.url}?token=alice-token&claim=mallory`);
    const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
    assert.deepEqual((await call(gw, 'GET', '/@principals/alice/connections')).json().items.map((x: any) => x.connectionId), [id]);
    assert.deepEqual((await call(gw, 'GET', '/@principals/mallory/connections')).json().items, []);
    const item = (await call(gw, 'GET', '/@connections?principal=alice')).json().items.find((x: any) => x.connectionId === id);
    assert.equal(item.principalId, 'alice');
    c.close();
  });
});

describe('authorizers: AWS_IAM on $connect (SigV4-presigned handshake)', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizationType: 'AWS_IAM' } } });
  });
  after(() => gw.close());

  async function presign(creds: { accessKeyId: string; secretAccessKey: string } = CREDS, query: Record<string, string> = {}, signingDate = new Date(), expiresIn = 60): Promise<string> {
    const signer = new SignatureV4({ credentials: { ...creds }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
    const req = new HttpRequest({ method: 'GET', protocol: 'ws:', hostname: '127.0.0.1', port: gw.port, path: '/dev', query, headers: { host: `127.0.0.1:${gw.port}` } });
    const signed = await signer.presign(req, { signingDate, expiresIn });
    const qs = Object.entries(signed.query!)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `${gw.url}?${qs}`;
  }

  it('accepts a handshake presigned by a configured key; the signer is the principal and in identity', async () => {
    resetRecorded();
    const c = await TestClient.connect(await presign(CREDS, { room: 'lobby' }));
    const rc = eventsOf('$connect')[0].requestContext;
    assert.equal(rc.identity.accessKey, CREDS.accessKeyId);
    assert.equal(rc.identity.sourceIp, '127.0.0.1');
    const listed = await call(gw, 'GET', `/@principals/${CREDS.accessKeyId}/connections`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json().items.map((x: any) => x.connectionId), [rc.connectionId]);
    c.close();
  });

  it('refuses unsigned, tampered, wrongly keyed and expired handshakes with 403', async () => {
    assert.equal(await refusedStatus(gw.url), 403);
    const good = await presign(CREDS, { room: 'lobby' });
    assert.equal(await refusedStatus(good.replace('room=lobby', 'room=admin')), 403);
    assert.equal(await refusedStatus(await presign({ accessKeyId: CREDS.accessKeyId, secretAccessKey: 'wrong' })), 403);
    assert.equal(await refusedStatus(await presign({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' })), 403);
    assert.equal(await refusedStatus(await presign(CREDS, {}, new Date(Date.now() - 120_000), 60)), 403);
  });
});

describe('examples/token-auth', () => {
  it('connects with a good token and greets the user by principal; refuses a bad one', async () => {
    const { config, baseDir } = await loadConfigFile(path.join(ROOT, 'examples', 'token-auth', 'switchboard.yaml'), { ...process.env, PORT: '0' });
    const gw = await createGateway({ config, baseDir, logger: pino({ level: 'silent' }) });
    try {
      const c = await TestClient.connect(`${gw.url}?token=secret-alice`);
      assert.equal((await c.request({ action: 'hello' })).text, 'Hello, alice!');
      c.close();
      assert.equal(await refusedStatus(`${gw.url}?token=nope`), 403);
      assert.equal(await refusedStatus(gw.url), 401);
      await sleep(10);
    } finally {
      await gw.close();
    }
  });
});
