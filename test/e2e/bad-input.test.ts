// Bad input at the protocol level: raw TCP garbage, broken handshakes and broken frames each get a
// defined answer (HTTP status or close code, and one $disconnect for accepted connections), and
// the gateway keeps serving everyone else.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import { TestClient, sleep, until } from '../helpers/client.js';
import { FIXTURES, eventsOf, resetRecorded } from '../helpers/gateway.js';

const H = './handlers.ts';

/** Writes raw bytes to the gateway's port and collects everything it answers until it closes (or 2 s). */
function raw(gw: Gateway, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(gw.port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => (s.destroy(), resolve(out)), 2000);
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('close', () => (clearTimeout(timer), resolve(out)));
    s.on('error', reject);
    s.end(bytes);
  });
}

const upgrade = (path: string, headers: Record<string, string>) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
const WS_HEADERS = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };

describe('bad input at the protocol level', () => {
  let gw: Gateway;
  let bystander: TestClient;
  // What the gateway logged, at its default level (info): every refusal must show up there.
  const logs: Array<{ level: number; msg: string; code?: string }> = [];
  const logged = (re: RegExp) => until(() => logs.some((l) => re.test(l.msg)), `a log line matching ${re}`);
  before(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    gw = await createGateway({ config: { routes: { $disconnect: { handler: `${H}#disconnect` }, $default: { handler: `${H}#echo`, routeResponse: true } } }, baseDir: FIXTURES, port: 0, logger });
    bystander = await TestClient.connect(gw.url);
  });
  after(async () => {
    // Everyone else was served throughout: the bystander still gets its echo.
    assert.equal((await bystander.request('still here')).text, 'still here');
    bystander.close();
    await gw.close();
  });
  beforeEach(() => {
    resetRecorded();
    logs.length = 0;
  });

  async function disconnect(): Promise<[number, string]> {
    await until(() => eventsOf('$disconnect').length === 1, '$disconnect');
    await sleep(50);
    const d = eventsOf('$disconnect');
    assert.equal(d.length, 1, 'exactly one $disconnect');
    assert.equal(gw.connectionCount(), 1, 'only the bystander remains');
    return [d[0].requestContext.disconnectStatusCode, d[0].requestContext.disconnectReason];
  }

  it('answers 400 to bytes that are not HTTP, and to an unparseable request line', async () => {
    assert.match(await raw(gw, 'hello there\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(gw, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])), /^HTTP\/1\.1 400 /); // a TLS ClientHello: no TLS here
    await logged(/not valid HTTP/);
  });

  it('answers 400 to a WebSocket handshake without a valid key or version, 403 on another path', async () => {
    const { 'Sec-WebSocket-Key': _key, ...noKey } = WS_HEADERS;
    assert.match(await raw(gw, upgrade(`/${gw.stage}`, noKey)), /^HTTP\/1\.1 400 /);
    assert.match(await raw(gw, upgrade(`/${gw.stage}`, { ...WS_HEADERS, 'Sec-WebSocket-Key': 'short' })), /^HTTP\/1\.1 400 /);
    assert.match(await raw(gw, upgrade(`/${gw.stage}`, { ...WS_HEADERS, 'Sec-WebSocket-Version': '12' })), /^HTTP\/1\.1 400 /);
    assert.match(await raw(gw, upgrade('/elsewhere', WS_HEADERS)), /^HTTP\/1\.1 403 /);
    await logged(/not a valid WebSocket handshake/);
    await logged(/not this stage/);
    // A correct one is accepted (so the refusals above were about what they broke).
    assert.match(await raw(gw, upgrade(`/${gw.stage}`, WS_HEADERS)), /^HTTP\/1\.1 101 /);
    await until(() => gw.connectionCount() === 1, 'the half-closed raw connection to end');
    await until(() => eventsOf('$disconnect').length === 1, 'its $disconnect');
  });

  it('closes with 1002 on an unmasked client frame, with one $disconnect', async () => {
    const c = await TestClient.connect(gw.url);
    (c.ws as any)._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", unmasked: clients must mask
    assert.equal((await c.waitClose()).code, 1002);
    assert.deepEqual(await disconnect(), [1002, 'Protocol error']);
    await logged(/protocol error/);
    assert.equal(logs.find((l) => /protocol error/.test(l.msg))!.code, 'WS_ERR_EXPECTED_MASK');
  });

  it('closes with 1002 on a reserved opcode', async () => {
    const c = await TestClient.connect(gw.url);
    (c.ws as any)._socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4])); // opcode 3, masked, empty
    assert.equal((await c.waitClose()).code, 1002);
    assert.deepEqual(await disconnect(), [1002, 'Protocol error']);
  });

  it('closes with 1007 on a text frame that is not UTF-8', async () => {
    const c = await TestClient.connect(gw.url);
    c.ws.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false });
    assert.equal((await c.waitClose()).code, 1007);
    assert.deepEqual(await disconnect(), [1007, 'Invalid UTF-8']);
  });

  it('survives a client that vanishes mid-frame', async () => {
    const c = await TestClient.connect(gw.url);
    (c.ws as any)._socket.write(Buffer.from([0x81, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 0x41])); // announces 4096 bytes, sends 1
    await sleep(20);
    c.ws.terminate();
    assert.deepEqual(await disconnect(), [1006, 'Connection closed abnormally']);
  });
});
