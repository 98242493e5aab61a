// Only `Upgrade: websocket` is a handshake. A request asking for another protocol (the JDK's
// HttpClient and `curl --http2` send `Upgrade: h2c` on plain http) is served as the ordinary
// request it also is, body and all, as HTTP allows a server to ignore an upgrade offer.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Gateway } from '../../../src/index.js';
import { TestClient } from '../../helpers/client.js';
import { CREDS, startGateway } from '../../helpers/gateway.js';

const H = './handlers.ts';
const H2C = { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAEAAEAAAAIAAAAAAAMAAAAAZAAEAQAAAAAFAAAQAA' };
const signer = new SignatureV4({ credentials: { ...CREDS }, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads HTTP/1.1 answers (Content-Length framed) off a raw socket, in order. */
class RawConnection {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  readonly socket: Socket;
  constructor(port: number) {
    this.socket = tcpConnect(port, '127.0.0.1');
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    this.socket.on('error', () => {});
  }
  async answer(timeoutMs = 5000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        const length = Number(headers['content-length'] ?? 0);
        if (this.buf.length >= end + 4 + length) {
          const body = this.buf.subarray(end + 4, end + 4 + length).toString();
          this.buf = this.buf.subarray(end + 4 + length);
          return { status, headers, body };
        }
      }
      if (Date.now() > deadline) throw new Error(`no complete answer within ${timeoutMs} ms: ${this.buf.toString('latin1')}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }
}

/** A SigV4-signed management request as raw bytes, with `extra` headers added after signing (as a JDK client adds its upgrade offer). */
async function signedRaw(gw: Gateway, method: string, path: string, extra: Record<string, string>, body?: string, chunked = false): Promise<string> {
  const full = `/${gw.stage}${path}`;
  const signed = await signer.sign(new HttpRequest({ method, hostname: '127.0.0.1', port: gw.port, path: full, headers: { host: `127.0.0.1:${gw.port}` }, body: body ?? '' }));
  const headers: Record<string, string> = { ...(signed.headers as Record<string, string>), ...extra };
  let payload = '';
  if (body !== undefined && chunked) {
    headers['Transfer-Encoding'] = 'chunked';
    const half = Math.floor(body.length / 2);
    for (const part of [body.slice(0, half), body.slice(half)]) payload += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
    payload += '0\r\n\r\n';
  } else if (body !== undefined) {
    headers['Content-Length'] = String(Buffer.byteLength(body));
    payload = body;
  }
  return `${method} ${full} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${payload}`;
}

describe('Upgrade headers other than websocket', () => {
  let gw: Gateway;
  let bystander: TestClient;
  before(async () => {
    gw = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true }, $default: { handler: `${H}#echo`, routeResponse: true } } });
    bystander = await TestClient.connect(gw.url);
  });
  after(async () => {
    assert.equal((await bystander.request('still here')).text, 'still here');
    bystander.close();
    await gw.close();
  });

  it('a signed POST, GET and DELETE with Upgrade: h2c get the same answers as without it, on one kept-alive socket', async () => {
    const c = await TestClient.connect(gw.url);
    const id = await idOf(c);
    const raw = new RawConnection(gw.port);
    // POST with a Content-Length body, then one with a chunked body, pipelined with a GET.
    raw.socket.write((await signedRaw(gw, 'POST', `/@connections/${id}`, H2C, 'pushed over h2c offer')) + (await signedRaw(gw, 'POST', `/@connections/${id}`, H2C, 'chunked over h2c offer', true)));
    assert.equal((await raw.answer()).status, 200);
    assert.equal((await raw.answer()).status, 200);
    assert.equal((await c.next()).text, 'pushed over h2c offer');
    assert.equal((await c.next()).text, 'chunked over h2c offer');
    raw.socket.write(await signedRaw(gw, 'GET', `/@connections/${id}`, H2C));
    const info = await raw.answer();
    assert.equal(info.status, 200);
    assert.ok(typeof JSON.parse(info.body).connectedAt === 'string');
    raw.socket.write(await signedRaw(gw, 'DELETE', `/@connections/${id}`, H2C));
    assert.equal((await raw.answer()).status, 204);
    await c.waitClose();
    raw.socket.write(await signedRaw(gw, 'POST', `/@connections/${id}`, H2C, 'too late'));
    const gone = await raw.answer();
    assert.equal(gone.status, 410);
    assert.equal(gone.headers['x-amzn-errortype'], 'GoneException');
    raw.socket.write(await signedRaw(gw, 'GET', `/@connections/${id}`, H2C));
    const gone2 = await raw.answer();
    assert.equal(gone2.status, 410);
    assert.equal(gone2.headers['x-amzn-errortype'], 'GoneException');
    raw.socket.destroy();
  });

  it('an unsigned management call with Upgrade: h2c is refused as without it (403 with x-amzn-ErrorType)', async () => {
    const raw = new RawConnection(gw.port);
    raw.socket.write(`POST /${gw.stage}/@connections/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 2\r\n\r\nhi`);
    const a = await raw.answer();
    assert.equal(a.status, 403);
    assert.ok(a.headers['x-amzn-errortype'], 'an AWS error type');
    raw.socket.destroy();
  });

  it('a plain GET with Upgrade: h2c on the stage path gets 426 like any plain GET', async () => {
    const raw = new RawConnection(gw.port);
    raw.socket.write(`GET /${gw.stage} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`);
    const a = await raw.answer();
    assert.equal(a.status, 426);
    assert.equal(a.headers.upgrade, 'websocket');
    raw.socket.destroy();
  });
});

/** The connection id of a client, from the whoami route. */
async function idOf(c: TestClient): Promise<string> {
  return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
}
