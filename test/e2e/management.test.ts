import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import AWS from 'aws-sdk';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { CREDS, FIXTURES, eventsOf, resetRecorded, startGateway } from '../helpers/gateway.js';
import { TOPOLOGIES } from '../helpers/cluster-memory.js';

const H = './handlers.ts';

function v3(gw: Gateway, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = CREDS, endpoint = gw.managementEndpoint) {
  // A copy: the SDK annotates the credentials object it is given.
  return new ApiGatewayManagementApiClient({ endpoint, region: 'eu-west-1', credentials: { ...creds }, maxAttempts: 1 });
}

function v2(gw: Gateway) {
  return new AWS.ApiGatewayManagementApi({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: new AWS.Credentials(CREDS.accessKeyId, CREDS.secretAccessKey), maxRetries: 0 });
}

async function idOf(c: TestClient): Promise<string> {
  return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId;
}

/** Expects `p` to reject with an error of class `cls`; returns it. */
async function rejectsWith<T>(p: Promise<unknown>, cls: new (...a: any[]) => T): Promise<T> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error).name}: ${(err as Error).message}`);
    return err as T;
  }
  throw new Error(`expected ${cls.name}, but the call succeeded`);
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a raw HTTP request (for hand-built and tampered requests). */
function raw(gw: Gateway, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Node frames no DELETE body by itself (no chunked encoding for DELETE): give its length.
    const all = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, method, path, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs a request with SigV4 the way the SDKs do, returning the headers to send. */
async function sign(gw: Gateway, method: string, path: string, body = '', creds = CREDS, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const req = new HttpRequest({ method, protocol: 'http:', hostname: '127.0.0.1', port: gw.port, path, headers: { host: `127.0.0.1:${gw.port}`, ...extra }, body });
  const signed = await signer.sign(req);
  return signed.headers as Record<string, string>;
}

for (const topo of TOPOLOGIES) describe(`management API: AWS SDK v3 against ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => {
    gw = await topo.start({
      routes: {
        $disconnect: { handler: `${H}#disconnect` },
        whoami: { handler: `${H}#whoami`, routeResponse: true },
        $default: { handler: `${H}#echo`, routeResponse: true },
      },
      limits: { messageBytes: 1024, sendBufferBytes: 1024 },
    });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('PostToConnection delivers text as a text frame and bytes as a binary frame', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const out = await v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'hello from the backend' }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const m = await c.next();
    assert.equal(m.text, 'hello from the backend');
    assert.equal(m.binary, false);
    await v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: new Uint8Array([0xff, 0x00, 0xfe]) }));
    const b = await c.next();
    assert.equal(b.binary, true);
    assert.deepEqual([...b.data], [0xff, 0x00, 0xfe]);
    c.close();
  });

  it('GetConnection returns ConnectedAt, LastActiveAt and Identity in AWS format', async () => {
    const c = await TestClient.connect(gw.url, { headers: { 'User-Agent': 'sdk-test/2' } });
    const id = await idOf(c);
    const info = await v3(gw).send(new GetConnectionCommand({ ConnectionId: id }));
    assert.ok(info.ConnectedAt instanceof Date);
    assert.ok(info.LastActiveAt instanceof Date);
    assert.ok(info.LastActiveAt!.getTime() >= info.ConnectedAt!.getTime());
    assert.deepEqual(info.Identity, { SourceIp: '127.0.0.1', UserAgent: 'sdk-test/2' });
    const wire = await raw(gw, 'GET', `/dev/@connections/${id}`, await sign(gw, 'GET', `/dev/@connections/${id}`));
    assert.match(wire.body, /^\{"connectedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","identity":\{"sourceIp":"127\.0\.0\.1","userAgent":"sdk-test\/2"\},"lastActiveAt":"[^"]+"\}$/);
    c.close();
  });

  it('GetConnection reports UserAgent null when the client sent none', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const wire = await raw(gw, 'GET', `/dev/@connections/${id}`, await sign(gw, 'GET', `/dev/@connections/${id}`));
    assert.deepEqual(JSON.parse(wire.body).identity, { sourceIp: '127.0.0.1', userAgent: null });
    const info = await v3(gw).send(new GetConnectionCommand({ ConnectionId: id }));
    assert.equal(info.Identity?.UserAgent ?? null, null);
    c.close();
  });

  it('DeleteConnection closes the client with 1000 at once; then DELETE and POST answer 410 GoneException', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const t0 = Date.now();
    const out = await v3(gw).send(new DeleteConnectionCommand({ ConnectionId: id }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.deepEqual(await c.waitClose(5000), { code: 1000, reason: 'Connection Closed Normally' });
    // Generous for a loaded machine, far below ws's 30 s close-handshake timeout the close must not wait for.
    assert.ok(Date.now() - t0 < 2000, `closed after ${Date.now() - t0} ms`);
    await rejectsWith(v3(gw).send(new DeleteConnectionCommand({ ConnectionId: id })), GoneException);
    await rejectsWith(v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })), GoneException);
    await rejectsWith(v3(gw).send(new GetConnectionCommand({ ConnectionId: id })), GoneException);
    await until(() => eventsOf('$disconnect').length >= 1, '$disconnect');
    await sleep(100);
    const d = eventsOf('$disconnect').filter((e) => e.requestContext.connectionId === id);
    assert.equal(d.length, 1, '$disconnect runs once');
    assert.equal(d[0].requestContext.disconnectStatusCode, 1000);
    assert.equal(d[0].requestContext.disconnectReason, 'Connection Closed Normally');
  });

  it('answers GoneException (410, x-amzn-ErrorType, empty body as AWS) for unknown ids, including ids that need percent-encoding', async () => {
    for (const id of ['doesnotexist', 'abc=', 'a/b+c']) {
      await rejectsWith(v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })), GoneException);
    }
    const wire = await raw(gw, 'POST', '/dev/@connections/nope', await sign(gw, 'POST', '/dev/@connections/nope', 'x'), 'x');
    assert.equal(wire.status, 410);
    assert.equal(wire.headers['x-amzn-errortype'], 'GoneException');
    assert.equal(wire.body, '');
    assert.ok(wire.headers['x-amzn-requestid']);
    assert.ok(wire.headers.date, 'Date header, which SDK v3 uses to correct clock skew');
  });

  it('answers PayloadTooLargeException (413) over the message limit and delivers nothing', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    await rejectsWith(v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(1025) })), PayloadTooLargeException);
    await c.expectSilence(100);
    await v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(1024) }));
    assert.equal((await c.next()).text.length, 1024);
    c.close();
  });

  it('refuses with LimitExceededException when the client cannot take more (send buffer full), never dropping silently', async () => {
    // The kernel's socket buffers (megabytes on loopback) fill before the gateway's: large posts fill them in a few hundred calls.
    const big = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, limits: { messageBytes: 64 * 1024, sendBufferBytes: 1024 } });
    try {
      const c = await TestClient.connect(big.url);
      const id = await idOf(c);
      c.ws.pause(); // the client stops reading: the server's socket buffer fills
      (c.ws as any)._socket.pause();
      let refusedAt = -1;
      let delivered = 0;
      const sdk = v3(big);
      for (let i = 0; i < 20_000 && refusedAt < 0; i++) {
        try {
          await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'y'.repeat(64 * 1024) }));
          delivered++;
        } catch (err) {
          assert.ok(err instanceof LimitExceededException, `got ${(err as Error).name}`);
          refusedAt = i;
        }
      }
      assert.ok(refusedAt > 0, 'a full buffer is refused');
      (c.ws as any)._socket.resume();
      c.ws.resume();
      await until(() => c.inbox.length === delivered, `all ${delivered} accepted messages delivered`, 10_000);
      c.close();
    } finally {
      await big.close();
    }
  });

  it('works with an endpoint that ends in "/" (SDK v3 then sends //@connections)', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    await v3(gw, CREDS, gw.managementEndpoint + '/').send(new PostToConnectionCommand({ ConnectionId: id, Data: 'slash' }));
    assert.equal((await c.next()).text, 'slash');
    c.close();
  });

  it('refuses a wrong secret and an unknown key with 403 and AWS error names, and changes nothing', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const wrongSecret = await rejectsWith(v3(gw, { ...CREDS, secretAccessKey: 'wrong' }).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })), Error);
    assert.equal((wrongSecret as any).$metadata.httpStatusCode, 403);
    assert.equal((wrongSecret as any).name, 'InvalidSignatureException');
    const unknownKey = await rejectsWith(v3(gw, { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' }).send(new DeleteConnectionCommand({ ConnectionId: id })), Error);
    assert.equal((unknownKey as any).$metadata.httpStatusCode, 403);
    assert.equal((unknownKey as any).name, 'UnrecognizedClientException');
    await c.expectSilence(100);
    assert.equal(c.ws.readyState, 1, 'still open');
    c.close();
  });

  it('accepts a percent-encoded "@" in the path (%40connections)', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const p = `/dev/%40connections/${id}`;
    assert.equal((await raw(gw, 'POST', p, await sign(gw, 'POST', p, 'encoded'), 'encoded')).status, 200);
    assert.equal((await c.next()).text, 'encoded');
    c.close();
  });

  it('answers ForbiddenException for a management call on another stage', async () => {
    const other = gw.managementEndpoint.replace(/\/dev$/, '/prod');
    await rejectsWith(v3(gw, CREDS, other).send(new PostToConnectionCommand({ ConnectionId: 'x', Data: 'x' })), ForbiddenException);
  });
});

for (const topo of TOPOLOGIES) describe(`management API: AWS SDK v2 (the client of the original force-disconnect write-ups), ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => {
    gw = await topo.start({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } } });
  });
  after(() => gw.close());

  it('postToConnection, getConnection, deleteConnection, and GoneException afterwards', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const api = v2(gw);
    await api.postToConnection({ ConnectionId: id, Data: 'from v2' }).promise();
    assert.equal((await c.next()).text, 'from v2');
    const info = await api.getConnection({ ConnectionId: id }).promise();
    assert.equal(info.Identity?.SourceIp, '127.0.0.1');
    assert.ok(info.ConnectedAt instanceof Date);
    await api.deleteConnection({ ConnectionId: id }).promise();
    assert.equal((await c.waitClose(1000)).code, 1000);
    const err = await api.postToConnection({ ConnectionId: id, Data: 'x' }).promise().then(
      () => null,
      (e: any) => e,
    );
    assert.equal(err?.code, 'GoneException');
    assert.equal(err?.statusCode, 410);
  });
});

describe('management API: tampered requests are refused with 403 and change nothing', () => {
  let gw: Gateway;
  let c: TestClient;
  let id: string;
  before(async () => {
    gw = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } } });
  });
  after(() => gw.close());
  // A client per test: a tampered call that got through cannot leave a message for the next test.
  beforeEach(async () => {
    c = await TestClient.connect(gw.url);
    id = await idOf(c);
  });
  afterEach(() => c.ws.terminate());

  const path = () => `/dev/@connections/${id}`;

  it('accepts the untampered request (control)', async () => {
    const h = await sign(gw, 'POST', path(), 'genuine', CREDS, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
    assert.equal((await raw(gw, 'POST', path(), h, 'genuine')).status, 200);
    assert.equal((await c.next()).text, 'genuine');
  });

  const MISMATCH = ['InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'];
  // What AWS answers for each, error type and message, as the SDKs surface them.
  const cases: Array<[string, string[], (h: Record<string, string>) => { method?: string; path?: string; headers: Record<string, string>; body: string }]> = [
    ['changed body', MISMATCH, (h) => ({ headers: h, body: 'tampered' })],
    ['changed path', MISMATCH, (h) => ({ path: '/dev/@connections/someone-else', headers: h, body: 'original' })],
    ['changed method', MISMATCH, (h) => ({ method: 'DELETE', headers: h, body: 'original' })],
    ['changed signed header', MISMATCH, (h) => ({ headers: { ...h, 'x-extra': 'evil' }, body: 'original' })],
    ['changed date', MISMATCH, (h) => ({ headers: { ...h, 'x-amz-date': h['x-amz-date']!.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10)) }, body: 'original' })],
    ['unknown key', ['UnrecognizedClientException', 'The security token included in the request is invalid.'], (h) => ({ headers: { ...h, authorization: h.authorization!.replace(CREDS.accessKeyId, 'AKIDOTHER') }, body: 'original' })],
    ['altered signature', MISMATCH, (h) => ({ headers: { ...h, authorization: h.authorization!.replace(/.$/, (d) => (d === '0' ? '1' : '0')) }, body: 'original' })],
    ['no signature', ['MissingAuthenticationTokenException', 'Missing Authentication Token'], (h) => ({ headers: { host: h.host!, 'x-amz-date': h['x-amz-date']! }, body: 'original' })],
  ];
  for (const [name, [errorType, message], tamper] of cases) {
    it(`${name}: 403 ${errorType}`, async () => {
      const h = await sign(gw, 'POST', path(), 'original', CREDS, { 'x-extra': 'fine' });
      const t = tamper(h);
      const res = await raw(gw, t.method ?? 'POST', t.path ?? path(), t.headers, t.body);
      assert.equal(res.status, 403, `${name}: ${res.body}`);
      assert.equal(res.headers['x-amzn-errortype'], errorType);
      assert.deepEqual(JSON.parse(res.body), { message });
      await c.expectSilence(50);
      assert.equal(c.ws.readyState, 1);
    });
  }

  it('expired date (6 minutes old) is refused with AWS\'s "Signature expired" message', async () => {
    const signer = new SignatureV4({ credentials: CREDS, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
    const req = new HttpRequest({ method: 'POST', hostname: '127.0.0.1', port: gw.port, path: path(), headers: { host: `127.0.0.1:${gw.port}` }, body: 'old' });
    const signed = await signer.sign(req, { signingDate: new Date(Date.now() - 6 * 60 * 1000) });
    const res = await raw(gw, 'POST', path(), signed.headers as Record<string, string>, 'old');
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.body).message, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    await c.expectSilence(50);
  });
});

describe('management API: auth none, rate limit, malformed requests', () => {
  it('auth: none accepts unsigned calls (local development), and says so loudly in the log', async () => {
    const lines: any[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const gw = await createGateway({ config: { routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, management: { auth: 'none' } }, baseDir: FIXTURES, port: 0, logger });
    const warning = lines.find((l) => /AUTHENTICATION IS OFF/.test(l.msg));
    assert.ok(warning, 'a warning that management authentication is off');
    assert.equal(warning.level, 40, 'at warn level, seen at the default level');
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    assert.equal((await raw(gw, 'POST', `/dev/@connections/${id}`, {}, 'unsigned')).status, 200);
    assert.equal((await c.next()).text, 'unsigned');
    c.close();
    await gw.close();
  });

  it('answers LimitExceededException (429) beyond the configured rate', async () => {
    const gw = await startGateway({ routes: {}, management: { credentials: [{ ...CREDS }], rateLimit: { perSecond: 1, burst: 3 } } });
    const client = v3(gw);
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(await client.send(new GetConnectionCommand({ ConnectionId: 'x' })).then(() => 'ok', (e: Error) => e.name));
    }
    assert.deepEqual(results, ['GoneException', 'GoneException', 'GoneException', 'LimitExceededException', 'LimitExceededException']);
    await gw.close();
  });

  it('answers 400 BadRequestException for a malformed connection id and for invalid close parameters', async () => {
    const gw = await startGateway({ routes: {}, management: { auth: 'none' } });
    const bad = await raw(gw, 'POST', '/dev/@connections/%E0%A4%A', {}, 'x');
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['x-amzn-errortype'], 'BadRequestException');
    const code = await raw(gw, 'DELETE', '/dev/@connections/abc?code=1234', {});
    assert.equal(code.status, 400);
    const notFound = await raw(gw, 'GET', '/dev/@nothing/abc', {});
    assert.equal(notFound.status, 404);
    assert.match(JSON.parse(notFound.body).message, /^No method found matching route dev\/@nothing\/abc for http method GET\.$/);
    await gw.close();
  });
});

/** RFC 3986 encoding, as SigV4 canonicalises query components. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A presigned (query-string SigV4) request target for `path` with `query`, as @smithy/signature-v4 produces it. */
async function presign(gw: Gateway, method: string, path: string, query: Record<string, string> = {}, body?: string): Promise<string> {
  const signer = new SignatureV4({ credentials: { ...CREDS }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const req = new HttpRequest({ method, protocol: 'http:', hostname: '127.0.0.1', port: gw.port, path, query, headers: { host: `127.0.0.1:${gw.port}` }, ...(body !== undefined ? { body } : {}) });
  const signed = await signer.presign(req, { expiresIn: 60 });
  const q = Object.entries(signed.query ?? {}).map(([k, v]) => `${rfc3986(k)}=${rfc3986(String(v))}`);
  return q.length ? `${path}?${q.join('&')}` : path;
}

for (const topo of TOPOLOGIES) describe(`management API: presigned (query-string SigV4) calls, ${topo.name}`, () => {
  let gw: Gateway;
  before(async () => {
    gw = await topo.start({ routes: { $disconnect: { handler: `${H}#disconnect` }, whoami: { handler: `${H}#whoami`, routeResponse: true } } });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('POST, GET and DELETE (with code and reason) work presigned; a tampered query is refused with 403 and closes nothing', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const path = `/dev/@connections/${id}`;

    const post = await raw(gw, 'POST', await presign(gw, 'POST', path, {}, 'presigned hello'), {}, 'presigned hello');
    assert.equal(post.status, 200, post.body);
    assert.equal((await c.next()).text, 'presigned hello');

    const get = await raw(gw, 'GET', await presign(gw, 'GET', path), {});
    assert.equal(get.status, 200, get.body);
    const info = JSON.parse(get.body);
    assert.match(info.connectedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(info.identity.sourceIp, '127.0.0.1');

    const target = await presign(gw, 'DELETE', path, { code: '4001', reason: 'bye' });
    assert.match(target, /[?&]reason=bye(&|$)/);
    const tampered = await raw(gw, 'DELETE', target.replace(/([?&])reason=bye(?=&|$)/, '$1reason=evil'), {});
    assert.equal(tampered.status, 403, tampered.body);
    assert.ok(tampered.headers['x-amzn-errortype']);
    await c.expectSilence(100);
    assert.equal(c.ws.readyState, 1, 'the tampered DELETE closed nothing');

    const del = await raw(gw, 'DELETE', target, {});
    assert.equal(del.status, 204, del.body);
    assert.deepEqual(await c.waitClose(1000), { code: 4001, reason: 'bye' });
    await until(() => eventsOf('$disconnect').length === 1, '$disconnect');
    assert.equal(eventsOf('$disconnect')[0].requestContext.disconnectStatusCode, 4001);
  });
});

describe('management API: authentication comes before the body', () => {
  it('an unsigned POST with a body over limits.messageBytes answers 403 Missing Authentication Token, not 413', async () => {
    const gw = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, limits: { messageBytes: 1024 } });
    try {
      const c = await TestClient.connect(gw.url);
      const id = await idOf(c);
      const res = await raw(gw, 'POST', `/dev/@connections/${id}`, {}, 'x'.repeat(4096));
      assert.equal(res.status, 403, `${res.status} ${res.body}`);
      assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.equal(JSON.parse(res.body).message, 'Missing Authentication Token');
      await c.expectSilence(100);
      // A signed call over the limit is still 413.
      await rejectsWith(v3(gw).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(1025) })), PayloadTooLargeException);
      c.close();
    } finally {
      await gw.close();
    }
  });
});

describe('management API: credentials from the environment', () => {
  it('management.credentialsFromEnv accepts the keys of the env map given to createGateway, and no other', async () => {
    const gw = await createGateway({
      config: { routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, management: { credentialsFromEnv: true } },
      env: { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'envsecret' },
      port: 0,
      baseDir: FIXTURES,
      logger: pino({ level: process.env.SB_TEST_LOG ?? 'silent' }),
    });
    try {
      const c = await TestClient.connect(gw.url);
      const id = await idOf(c);
      const envClient = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDENV', secretAccessKey: 'envsecret' }, maxAttempts: 1 });
      const out = await envClient.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'from env keys' }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.equal((await c.next()).text, 'from env keys');
      for (const creds of [{ accessKeyId: 'AKIDOTHER', secretAccessKey: 'envsecret' }, { ...CREDS }]) {
        const other = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
        const err = await rejectsWith(other.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })), Error);
        assert.equal((err as any).$metadata?.httpStatusCode, 403, `${creds.accessKeyId}`);
        assert.equal((err as any).name, 'UnrecognizedClientException', `${creds.accessKeyId}`);
      }
      await c.expectSilence(100);
      c.close();
    } finally {
      await gw.close();
    }
  });
});

describe('management API: library use leaves process.env as it found it', () => {
  const KEYS = ['AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const snapshot = () => Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));

  function setEnv(values: Record<string, string | undefined>): void {
    for (const k of KEYS) {
      if (values[k] === undefined) delete process.env[k];
      else process.env[k] = values[k];
    }
  }

  it('close() restores the four variables a gateway sets for handlers, unset ones staying unset', async () => {
    const original = snapshot();
    try {
      for (const start of [
        { ...original },
        Object.fromEntries(KEYS.map((k) => [k, undefined])),
        { AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: 'http://example.invalid/x', AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'AKIDBEFORE', AWS_SECRET_ACCESS_KEY: 'before-secret' },
      ]) {
        setEnv(start);
        const before = snapshot();
        const gw = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } } });
        assert.equal(process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, gw.managementEndpoint, 'set for handlers while running');
        await gw.close();
        assert.deepEqual(snapshot(), before);
        for (const k of KEYS) if (before[k] === undefined) assert.equal(k in process.env, false, `${k} stays unset`);
      }
    } finally {
      setEnv(original);
    }
  });
});
