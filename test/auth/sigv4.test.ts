import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { CredentialStore, type Credential } from '../../src/auth/credentials.js';
import { SigV4Verifier, type SignedRequest, type VerifyResult } from '../../src/auth/sigv4.js';
import { ApiError, sendError } from '../../src/management/errors.js';

const Sha256 = Hash.bind(null, 'sha256');
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const KEY: Credential = { accessKeyId: 'AKIDSWITCHBOARD', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const OPEN_TEMP: Credential = { accessKeyId: 'ASIAOPENTOKEN', secretAccessKey: 'open-token-secret' };
const PINNED: Credential = { accessKeyId: 'ASIAPINNED', secretAccessKey: 'pinned-secret', sessionToken: 'pinned-token/with+chars==' };
const store = new CredentialStore([KEY, OPEN_TEMP, PINNED]);

/** Fixed clock for the hand-signed requests: 2026-11-24T21:40:00Z. */
const T0 = Date.UTC(2026, 10, 24, 21, 40, 0);
const MIN = 60_000;
const GET_BODY = '{"connectedAt":"2026-01-01T00:00:00.000Z","identity":{"sourceIp":"127.0.0.1","userAgent":null},"lastActiveAt":"2026-01-01T00:00:00.000Z"}';

interface Record_ { method: string; rawPath: string; rawQuery: string; result: VerifyResult }
const records: Record_[] = [];
let verifier = new SigV4Verifier({ credentials: store });
let port = 0;
let host = '';

/** Gateway-shaped test server: reads the body, verifies, answers like the management API. */
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    const signed: SignedRequest = { method, rawPath, rawQuery, headers: req.headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
    void verifier.verify(signed).then((result) => {
      records.push({ method, rawPath, rawQuery, result });
      if (!result.ok) {
        // As the gateway answers (management/api.ts): the verifier's error type and message, in AWS's shape.
        sendError(res, new ApiError(result.status, result.errorType, result.message), 'test-request');
      } else if (method === 'GET' && rawPath.includes('@connections')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(GET_BODY);
      } else if (method === 'DELETE') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200).end();
      }
    });
  });
});

const last = (): Record_ => {
  const r = records.at(-1);
  assert.ok(r, 'server recorded no request');
  return r;
};

function assertOk(r: Record_, accessKeyId: string, region = 'us-east-1'): void {
  assert.equal(r.result.ok, true, `expected ok, got ${JSON.stringify(r.result)}`);
  if (r.result.ok) {
    assert.equal(r.result.accessKeyId, accessKeyId);
    assert.equal(r.result.region, region);
  }
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

interface RawRequest { method: string; path: string; headers: Record<string, string>; body: Uint8Array }

/** Sends exactly these bytes' worth of request (node adds only Connection). */
function send(r: RawRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(Buffer.from(r.body));
  });
}

interface SignOpts {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  service?: string;
  date?: number;
  applyChecksum?: boolean;
  signableHeaders?: Set<string>;
}

/** Signs like an SDK would (encoded path handed to the signer) with SignatureV4 itself. */
async function signDirect(o: SignOpts = {}): Promise<RawRequest> {
  const method = o.method ?? 'POST';
  const body = new TextEncoder().encode(o.body ?? (method === 'POST' ? 'hello world' : ''));
  const headers: Record<string, string> = { host, ...(o.headers ?? {}) };
  if (method === 'POST') {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(body.byteLength);
  }
  const signer = new SignatureV4({
    credentials: o.creds ?? KEY,
    region: o.region ?? 'us-east-1',
    service: o.service ?? 'execute-api',
    sha256: Sha256,
    applyChecksum: o.applyChecksum ?? true,
  });
  const path = o.path ?? '/dev/@connections/abc%3D';
  const signed = await signer.sign(
    new HttpRequest({ method, protocol: 'http:', hostname: '127.0.0.1', port, path, headers, body: body.byteLength ? body : undefined }),
    { signingDate: new Date(o.date ?? T0), ...(o.signableHeaders ? { signableHeaders: o.signableHeaders } : {}) },
  );
  return { method, path, headers: { ...signed.headers }, body };
}

async function expectFail(r: RawRequest, errorType: string, message?: string | RegExp): Promise<void> {
  const res = await send(r);
  assert.equal(res.status, 403);
  const rec = last();
  assert.equal(rec.result.ok, false);
  if (!rec.result.ok) {
    assert.equal(rec.result.status, 403);
    assert.equal(rec.result.errorType, errorType, rec.result.message);
    if (typeof message === 'string') assert.equal(rec.result.message, message);
    else if (message) assert.match(rec.result.message, message);
  }
}

async function expectPass(r: RawRequest, accessKeyId = KEY.accessKeyId, region = 'us-east-1'): Promise<Record_> {
  const res = await send(r);
  const rec = last();
  assertOk(rec, accessKeyId, region);
  assert.ok(res.status === 200 || res.status === 204);
  return rec;
}

const withHeader = (r: RawRequest, name: string, value: string): RawRequest => ({ ...r, headers: { ...r.headers, [name]: value } });
const withSig = (r: RawRequest, f: (sig: string) => string): RawRequest =>
  withHeader(r, 'authorization', r.headers['authorization']!.replace(/Signature=([0-9a-f]+)$/, (_m, s: string) => `Signature=${f(s)}`));

describe('real SDK v3 client', () => {
  before(() => {
    verifier = new SigV4Verifier({ credentials: store });
  });

  for (const [label, endpointSuffix, creds, expectedPath] of [
    ['static credentials', '/dev', KEY, '/dev/@connections/abc%3D'],
    ['session credentials, pinned token', '/dev', PINNED, '/dev/@connections/abc%3D'],
    ['session credentials, any token', '/dev', { ...OPEN_TEMP, sessionToken: 'whatever-sts-gave' }, '/dev/@connections/abc%3D'],
    ['endpoint with trailing slash', '/dev/', KEY, '/dev//@connections/abc%3D'],
  ] as const) {
    test(`Post/Get/Delete verify: ${label}`, async () => {
      const client = new ApiGatewayManagementApiClient({ endpoint: `http://${host}${endpointSuffix}`, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: new TextEncoder().encode('hello') }));
        let r = last();
        assertOk(r, creds.accessKeyId);
        assert.equal(r.method, 'POST');
        assert.equal(r.rawPath, expectedPath);
        if (r.result.ok) assert.equal(r.result.sessionToken, 'sessionToken' in creds ? creds.sessionToken : undefined);

        const got = await client.send(new GetConnectionCommand({ ConnectionId: 'abc=' }));
        r = last();
        assertOk(r, creds.accessKeyId);
        assert.equal(r.method, 'GET');
        assert.equal(got.ConnectedAt?.toISOString(), '2026-01-01T00:00:00.000Z');
        assert.equal(got.Identity?.SourceIp, '127.0.0.1');

        await client.send(new DeleteConnectionCommand({ ConnectionId: 'abc=' }));
        r = last();
        assertOk(r, creds.accessKeyId);
        assert.equal(r.method, 'DELETE');
      } finally {
        client.destroy();
      }
    });
  }

  test('a wrong secret surfaces as InvalidSignatureException in the SDK, with AWS\'s message', async () => {
    const client = new ApiGatewayManagementApiClient({ endpoint: `http://${host}/dev`, region: 'us-east-1', credentials: { ...KEY, secretAccessKey: 'nope' }, maxAttempts: 1 });
    try {
      await assert.rejects(client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: new TextEncoder().encode('x') })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, 'InvalidSignatureException');
        assert.equal(err.message, MISMATCH);
        assert.equal(err.$metadata?.httpStatusCode, 403);
        return true;
      });
    } finally {
      client.destroy();
    }
  });
});

describe('real SDK v2 client', () => {
  test('postToConnection/getConnection/deleteConnection verify', async () => {
    process.env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] = '1';
    const { default: AWS } = await import('aws-sdk');
    for (const creds of [KEY, PINNED]) {
      const api = new AWS.ApiGatewayManagementApi({
        endpoint: `http://${host}/dev`,
        region: 'us-east-1',
        credentials: new AWS.Credentials(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken),
        maxRetries: 0,
      });
      await api.postToConnection({ ConnectionId: 'abc=', Data: 'hello from v2' }).promise();
      assertOk(last(), creds.accessKeyId);
      assert.equal(last().rawPath, '/dev/@connections/abc%3D');
      const got = await api.getConnection({ ConnectionId: 'abc=' }).promise();
      assertOk(last(), creds.accessKeyId);
      assert.equal(got.Identity?.SourceIp, '127.0.0.1');
      await api.deleteConnection({ ConnectionId: 'abc=' }).promise();
      assertOk(last(), creds.accessKeyId);
      assert.equal(last().method, 'DELETE');
    }
  });
});

describe('hand-signed requests (SignatureV4)', () => {
  before(() => {
    verifier = new SigV4Verifier({ credentials: store, now: () => T0 });
  });

  test('correct requests pass: SDK-v3 style, boto3 style (no x-amz-content-sha256), GET, raw "=", signed user-agent, UNSIGNED-PAYLOAD', async () => {
    await expectPass(await signDirect());
    await expectPass(await signDirect({ applyChecksum: false }));
    await expectPass(await signDirect({ method: 'GET' }));
    await expectPass(await signDirect({ method: 'DELETE', applyChecksum: false }));
    await expectPass(await signDirect({ path: '/dev/@connections/abc=' }));
    await expectPass(await signDirect({ headers: { 'user-agent': 'my  client/1.0' }, signableHeaders: new Set(['user-agent']) }));
    const unsigned = await signDirect({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    await expectPass(unsigned);
    await expectPass({ ...unsigned, body: new TextEncoder().encode('other body!') }); // body not covered: by design of UNSIGNED-PAYLOAD
  });

  test('clock skew inside 5 minutes passes', async () => {
    await expectPass(await signDirect({ date: T0 - 4 * MIN }));
    await expectPass(await signDirect({ date: T0 + 4 * MIN }));
  });

  test('tampering fails with InvalidSignatureException', async () => {
    const good = await signDirect();
    await expectFail({ ...good, body: new TextEncoder().encode('hello World') }, 'InvalidSignatureException', MISMATCH); // payload hash header no longer matches
    const boto = await signDirect({ applyChecksum: false });
    await expectFail({ ...boto, body: new TextEncoder().encode('hello World') }, 'InvalidSignatureException', MISMATCH); // signature covers the body hash
    await expectFail({ ...good, path: '/dev/@connections/abd%3D' }, 'InvalidSignatureException', MISMATCH);
    await expectFail(withHeader(good, 'content-type', 'text/plain'), 'InvalidSignatureException', MISMATCH);
    await expectFail(withHeader(good, 'x-amz-date', '20261124T214001Z'), 'InvalidSignatureException', MISMATCH);
    await expectFail(withSig(good, (s) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0')), 'InvalidSignatureException', MISMATCH);
    await expectFail(withSig(good, (s) => s.slice(0, 40)), 'InvalidSignatureException', MISMATCH);
    await expectFail(await signDirect({ creds: { ...KEY, secretAccessKey: 'wrong' } }), 'InvalidSignatureException', MISMATCH);
    await expectFail(withHeader(good, 'x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'), 'InvalidSignatureException', MISMATCH);
  });

  test('unknown access key fails with UnrecognizedClientException', async () => {
    await expectFail(await signDirect({ creds: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } }), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  });

  test('scope: wrong service, region outside the configured list, scope date not the request date', async () => {
    await expectFail(await signDirect({ service: 'execute-apx' }), 'InvalidSignatureException', "Credential should be scoped to correct service: 'execute-api'.");
    verifier = new SigV4Verifier({ credentials: store, now: () => T0, regions: ['eu-west-1'] });
    try {
      await expectFail(await signDirect(), 'InvalidSignatureException', 'Credential should be scoped to a valid region.');
      await expectPass(await signDirect({ region: 'eu-west-1' }), KEY.accessKeyId, 'eu-west-1');
    } finally {
      verifier = new SigV4Verifier({ credentials: store, now: () => T0 });
    }
    const good = await signDirect();
    await expectFail(withHeader(good, 'x-amz-date', '20261125T000000Z'), 'InvalidSignatureException', /^Date in Credential scope does not match/);
  });

  test('clock: 6 minutes old and 6 minutes ahead', async () => {
    await expectFail(await signDirect({ date: T0 - 6 * MIN }), 'InvalidSignatureException',
      'Signature expired: 20261124T213400Z is now earlier than 20261124T213500Z (20261124T214000Z - 5 min.)');
    await expectFail(await signDirect({ date: T0 + 6 * MIN }), 'InvalidSignatureException',
      'Signature not yet current: 20261124T214600Z is still later than 20261124T214500Z (20261124T214000Z + 5 min.)');
  });

  test('missing, garbage and malformed Authorization', async () => {
    const good = await signDirect();
    const { authorization: _drop, ...noAuth } = good.headers;
    await expectFail({ ...good, headers: noAuth }, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    await expectFail(withHeader(good, 'authorization', 'Bearer abc.def.ghi'), 'IncompleteSignatureException', /unsupported scheme 'Bearer'/);
    await expectFail(withHeader(good, 'authorization', 'AWS4-HMAC-SHA256 garbage'), 'IncompleteSignatureException', /missing equal-sign/);
    await expectFail(withHeader(good, 'authorization', good.headers['authorization']!.replace(/, Signature=.*$/, '')), 'IncompleteSignatureException',
      "Authorization header requires 'Signature' parameter.");
    await expectFail(withHeader(good, 'authorization', good.headers['authorization']!.replace('/aws4_request', '')), 'IncompleteSignatureException', /malformed Credential/);
    await expectFail(withHeader(good, 'x-amz-date', '2026-11-24T21:40:00Z'), 'IncompleteSignatureException', /ISO8601 Long Format/);
    const { 'x-amz-date': _d, ...noDate } = good.headers;
    await expectFail({ ...good, headers: noDate }, 'IncompleteSignatureException', /requires existence of either a 'X-Amz-Date'/);
    await expectFail(withHeader(good, 'authorization', good.headers['authorization']!.replace('SignedHeaders=content-length;content-type;host;', 'SignedHeaders=content-length;content-type;')), 'IncompleteSignatureException', /'Host'/);
  });

  test('session tokens: pinned token must match; unpinned keys accept any token; token must be signed', async () => {
    const ok = await signDirect({ creds: PINNED });
    const rec = await expectPass(ok, PINNED.accessKeyId);
    assert.equal(rec.result.ok && rec.result.sessionToken, PINNED.sessionToken);
    await expectFail(await signDirect({ creds: { ...PINNED, sessionToken: 'some-other-token' } }), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    await expectFail(await signDirect({ creds: { accessKeyId: PINNED.accessKeyId, secretAccessKey: PINNED.secretAccessKey } }), 'UnrecognizedClientException');
    await expectPass(await signDirect({ creds: { ...OPEN_TEMP, sessionToken: 'anything' } }), OPEN_TEMP.accessKeyId);
    await expectFail(withHeader(await signDirect(), 'x-amz-security-token', 'smuggled'), 'IncompleteSignatureException', /X-Amz-Security-Token/);
  });
});

describe('presigned (query) form', () => {
  async function presign(o: { creds?: SignOpts['creds']; expiresIn?: number; query?: Record<string, string> } = {}): Promise<RawRequest> {
    const signer = new SignatureV4({ credentials: o.creds ?? KEY, region: 'us-east-1', service: 'execute-api', sha256: Sha256 });
    const out = await signer.presign(
      new HttpRequest({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path: '/dev', query: o.query ?? { token: 'x' }, headers: { host } }),
      { signingDate: new Date(T0), expiresIn: o.expiresIn ?? 60 },
    );
    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const qs = Object.entries(out.query ?? {}).map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&');
    return { method: 'GET', path: `/dev?${qs}`, headers: { ...out.headers }, body: new Uint8Array() };
  }

  before(() => {
    verifier = new SigV4Verifier({ credentials: store, now: () => T0 + 30_000 });
  });

  test('a presigned GET /dev?token=x passes, with and without a session token', async () => {
    const r = await presign();
    const rec = await expectPass(r);
    assert.equal(rec.rawPath, '/dev');
    assert.match(rec.rawQuery, /token=x/);
    const withToken = await expectPass(await presign({ creds: PINNED }), PINNED.accessKeyId);
    assert.equal(withToken.result.ok && withToken.result.sessionToken, PINNED.sessionToken);
    await expectPass(await presign({ query: { token: 'a b+c/d=é' } }));
  });

  test('tampered query value, expired URL, wrong key, pinned token mismatch', async () => {
    const r = await presign();
    await expectFail({ ...r, path: r.path.replace('token=x', 'token=y') }, 'InvalidSignatureException', MISMATCH);
    await expectFail({ ...r, path: r.path.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=' + '0'.repeat(64)) }, 'InvalidSignatureException', MISMATCH);
    await expectFail(await presign({ creds: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } }), 'UnrecognizedClientException');
    await expectFail(await presign({ creds: { ...PINNED, sessionToken: 'nope' } }), 'UnrecognizedClientException');
    await expectFail({ ...r, path: r.path.replace(/&?X-Amz-Credential=[^&]+/, '') }, 'IncompleteSignatureException', /must include 'X-Amz-Credential'/);
    await expectFail(withHeader(r, 'authorization', 'AWS4-HMAC-SHA256 Credential=x'), 'IncompleteSignatureException', /Only one auth mechanism/);
    verifier = new SigV4Verifier({ credentials: store, now: () => T0 + 2 * MIN });
    try {
      await expectFail(r, 'InvalidSignatureException', /^Signature expired: 20261124T214000Z is now earlier than/);
    } finally {
      verifier = new SigV4Verifier({ credentials: store, now: () => T0 + 30_000 });
    }
    verifier = new SigV4Verifier({ credentials: store, now: () => T0 - 6 * MIN });
    try {
      await expectFail(r, 'InvalidSignatureException', /^Signature not yet current/);
    } finally {
      verifier = new SigV4Verifier({ credentials: store, now: () => T0 + 30_000 });
    }
  });
});

describe('robustness', () => {
  test('verify never throws on odd input', async () => {
    const v = new SigV4Verifier({ credentials: store, now: () => T0 });
    const body = new Uint8Array();
    const odd: SignedRequest[] = [
      { method: 'GET', rawPath: '', rawQuery: '', headers: {}, body },
      { method: 'GET', rawPath: '/x', rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=x', headers: {}, body },
      { method: 'GET', rawPath: '/x', rawQuery: 'X-Amz-Signature=%E0%A4%A', headers: {}, body },
      { method: 'GET', rawPath: '/x', rawQuery: '', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSWITCHBOARD/20261124/us-east-1/execute-api/aws4_request, SignedHeaders=__proto__;host;x-amz-date, Signature=00', 'x-amz-date': '20261124T214000Z' }, body },
      { method: 'GET', rawPath: '/x', rawQuery: '', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSWITCHBOARD/20261124/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00', 'x-amz-date': '20261399T214000Z' }, body },
      { method: 'GET', rawPath: '/x', rawQuery: '', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSWITCHBOARD/20261124/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00', 'x-amz-date': '20261124T214000Z' }, body },
      { method: 'GET', rawPath: '/x', rawQuery: '', headers: { authorization: 123 as unknown as string }, body },
    ];
    for (const r of odd) {
      const res = await v.verify(r);
      assert.equal(res.ok, false, JSON.stringify(r));
      if (!res.ok) assert.equal(res.status, 403);
    }
  });
});
