import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Gateway } from '../../../src/index.js';
import { TestClient } from '../../helpers/client.js';
import { CREDS, startGateway } from '../../helpers/gateway.js';

/**
 * The SigV4 canonical path resolves `x/..` and `.`; routing does not. Both must see the same
 * path, so any path with a dot segment (literal or percent-encoded) is refused with 403 before
 * signature or route, as AWS's edge does.
 */

const signer = new SignatureV4({ credentials: { ...CREDS }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });

interface Answer {
  status: number;
  errorType: string | undefined;
  body: string;
}

/** Signs a POST for `signedPath`, then sends it to `sentPath` byte for byte. */
async function replay(gw: Gateway, signedPath: string, sentPath: string, body = 'hello'): Promise<Answer> {
  const signed = await signer.sign(new HttpRequest({ method: 'POST', hostname: '127.0.0.1', port: gw.port, path: signedPath, headers: { host: `127.0.0.1:${gw.port}` }, body }));
  const headers = { ...(signed.headers as Record<string, string>), 'content-length': String(Buffer.byteLength(body)) };
  return send(gw, 'POST', sentPath, headers, body);
}

function send(gw: Gateway, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, errorType: res.headers['x-amzn-errortype'] as string | undefined, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket handshake with the path sent as given (a WHATWG URL would resolve the dots); resolves with the status. */
function handshake(gw: Gateway, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(Number(text.slice(9, 12)));
      }
    });
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

async function idOf(c: TestClient): Promise<string> {
  return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId;
}

describe('path normalisation: dot segments are refused, signature and route see one path', () => {
  let gw: Gateway;
  let a: TestClient;
  let b: TestClient;
  let idA = '';
  let idB = '';

  before(async () => {
    gw = await startGateway({ stage: 'dev', routes: { whoami: { handler: './handlers.ts#whoami', routeResponse: true }, $default: { handler: './handlers.ts#echo', routeResponse: true } } });
    a = await TestClient.connect(gw.url);
    b = await TestClient.connect(gw.url);
    idA = await idOf(a);
    idB = await idOf(b);
  });

  after(async () => {
    a?.close();
    b?.close();
    await gw?.close();
  });

  it('a signature for /dev/@connections/A is refused on every dotted or doubled-slash variant, nothing delivered', async () => {
    const signedFor = `/dev/@connections/${idA}`;
    const dotted = [
      `/dev/@connections/${idB}/../${idA}`,
      `/dev/x/../@connections/${idA}`,
      `/dev/@connections/./${idA}`,
      `/dev/@connections/${idA}/.`,
      `/dev/@connections/${idA}/x/..`,
      `/dev/@connections/${idB}/%2e%2e/${idA}`,
      `/dev/@connections/${idB}/%2E%2e/${idA}`,
      `/dev/@connections/${idB}/.%2E/${idA}`,
      `/dev/@connections/%2e/${idA}`,
      `/dev/./@connections/${idA}`,
      `/x/../dev/@connections/${idA}`,
      `//dev/@connections/${idB}/..//${idA}`,
    ];
    for (const path of dotted) {
      const r = await replay(gw, signedFor, path);
      assert.equal(r.status, 403, `${path}: ${r.status} ${r.body}`);
      assert.equal(r.errorType, 'ForbiddenException', `${path}: ${r.errorType}`);
      assert.deepEqual(JSON.parse(r.body), { message: 'Forbidden' }, path);
    }
    // Doubled slashes that name another connection: the signature does not cover them.
    for (const path of [`/dev/@connections//${idB}`, `//dev/@connections/${idB}`, `/dev//@connections/${idB}/`]) {
      const r = await replay(gw, signedFor, path);
      assert.equal(r.status, 403, `${path}: ${r.status} ${r.body}`);
    }
    await a.expectSilence(200);
    await b.expectSilence(0);
    // The signature itself is good: on its own path it delivers.
    assert.equal((await replay(gw, signedFor, signedFor, 'for A')).status, 200);
    assert.equal((await a.next()).text, 'for A');
    await b.expectSilence(100);
  });

  it('a signature made for a dotted path is refused too (the signer resolves it, routing would not)', async () => {
    const r = await replay(gw, `/dev/@connections/${idB}/../${idA}`, `/dev/@connections/${idB}/../${idA}`);
    assert.equal(r.status, 403);
    assert.equal(r.errorType, 'ForbiddenException');
    await a.expectSilence(100);
    await b.expectSilence(0);
  });

  it('handshakes and plain requests on dotted paths are refused with 403', async () => {
    for (const path of ['/dev/./', '/dev/.', '/x/../dev', '/dev/%2e', '/%2E%2E/dev', '/dev/x/..']) {
      assert.equal(await handshake(gw, path), 403, `${path}: handshake`);
      const plain = await send(gw, 'GET', path, {});
      assert.equal(plain.status, 403, `${path}: plain GET answered ${plain.status}`);
    }
    // A bystander is served throughout.
    assert.equal((await a.request('still here')).text, 'still here');
  });
});
