// The closing window: once a close has begun from either side (the client's close frame arrived,
// the gateway started a close, the socket ended), the connection is gone for every management
// call alike. POST, GET and DELETE (and group join, listings, fan-outs) must never disagree.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { Gateway } from '../../../src/index.js';
import { TestClient, until } from '../../helpers/client.js';
import { CREDS, eventsOf, resetRecorded, startGateway } from '../../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';
import { call } from '../../helpers/signed.js';

const H = './handlers.ts';

/** The HTTP status an SDK v3 call came to (its error's status when it failed). */
async function status(p: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number> {
  try {
    return (await p).$metadata.httpStatusCode!;
  } catch (err) {
    const s = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (s === undefined) throw err;
    return s;
  }
}

/** A masked client frame (payload under 126 bytes). */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** A raw TCP WebSocket client: completes the handshake and speaks frames by hand. */
async function rawPeer(gw: Gateway): Promise<{ s: Socket; read: () => Promise<Buffer> }> {
  // Half-open allowed: the peer keeps its side open after the gateway's FIN (it never completes the close).
  const s = tcpConnect({ port: gw.port, host: '127.0.0.1', allowHalfOpen: true });
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    wake?.();
  });
  s.on('error', () => {});
  const more = () => new Promise<void>((r) => (wake = r));
  s.write(`GET /${gw.stage} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  while (buf.indexOf('\r\n\r\n') === -1) await more();
  assert.match(buf.toString('latin1'), /^HTTP\/1\.1 101 /);
  buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
  /** The next server frame (unmasked, payload under 126 bytes), with its first byte. */
  const read = async () => {
    while (buf.length < 2 || buf.length < 2 + buf[1]!) await more();
    const f = buf.subarray(0, 2 + buf[1]!);
    buf = buf.subarray(f.length);
    return f;
  };
  return { s, read };
}

describe('closing window: POST, GET and DELETE agree once a close has begun', () => {
  let gw: Gateway;
  let sdk: ApiGatewayManagementApiClient;
  let bystander: TestClient;
  before(async () => {
    gw = await startGateway({
      routes: {
        $disconnect: { handler: `${H}#disconnect` },
        whoami: { handler: `${H}#whoami`, routeResponse: true },
        $default: { handler: `${H}#echo`, routeResponse: true },
      },
    });
    sdk = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });
    bystander = await TestClient.connect(gw.url);
  });
  after(async () => {
    assert.equal((await bystander.request('still here')).text, 'still here');
    bystander.close();
    sdk.destroy();
    await gw.close();
  });

  const get = (id: string) => status(sdk.send(new GetConnectionCommand({ ConnectionId: id })));
  const del = (id: string) => status(sdk.send(new DeleteConnectionCommand({ ConnectionId: id })));
  const post = (id: string) => status(sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' })));

  it('client.close(): once any call answers 410, every later one does; after the close completed, all three answer 410 (200 tries)', async () => {
    // A gateway in its own process: the race with the client's event loop is the real one.
    const proc: GatewayProcess = await startGatewayProcess({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } } });
    const sdk = new ApiGatewayManagementApiClient({ endpoint: proc.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });
    const get = (id: string) => status(sdk.send(new GetConnectionCommand({ ConnectionId: id })));
    const del = (id: string) => status(sdk.send(new DeleteConnectionCommand({ ConnectionId: id })));
    const post = (id: string) => status(sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' })));
    const disagreements: string[] = [];
    for (let i = 0; i < 200; i++) {
      const c = await TestClient.connect(proc.url);
      const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
      c.close();
      // Racing the close frame: answers may flip from open to gone, never back.
      const racing = [await get(id), await post(id), await get(id)];
      const firstGone = racing.indexOf(410);
      if (firstGone !== -1 && racing.slice(firstGone).some((s) => s !== 410)) disagreements.push(`try ${i} racing: ${racing.join(',')}`);
      await c.waitClose(5000);
      // The client saw its close complete: the gateway has its close frame, so the id is gone.
      const settled = [await get(id), await del(id), await post(id)];
      if (settled.some((s) => s !== 410)) disagreements.push(`try ${i} after close: GET ${settled[0]}, DELETE ${settled[1]}, POST ${settled[2]}`);
    }
    sdk.destroy();
    assert.equal(proc.alive(), true);
    await proc.stop();
    assert.deepEqual(disagreements, []);
  });

  it('a raw peer that sends a close frame and never completes the close is gone for POST, GET, DELETE, group join, listings and fan-outs', async () => {
    resetRecorded();
    const { s, read } = await rawPeer(gw);
    s.write(frame(0x1, Buffer.from('{"action":"whoami"}')));
    const id = JSON.parse((await read()).subarray(2).toString()).connectionId as string;
    assert.equal(await get(id), 200);
    s.write(frame(0x8, Buffer.from([0x03, 0xe8]))); // close 1000, then silence: no FIN, no reading on
    const echo = await read();
    assert.equal(echo[0], 0x88, 'the gateway answered the close frame');
    assert.deepEqual([await get(id), await del(id), await post(id)], [410, 410, 410]);
    assert.equal((await call(gw, 'PUT', `/@groups/room/connections/${id}`)).status, 410);
    const listed = (await call(gw, 'GET', '/@connections')).json().items.map((x: { connectionId: string }) => x.connectionId);
    assert.ok(!listed.includes(id), 'not listed');
    const fan = (await call(gw, 'POST', '/@broadcast', 'hi')).json();
    assert.deepEqual(fan.failed.filter((f: { connectionId: string }) => f.connectionId === id), [{ connectionId: id, reason: 'gone' }]);
    assert.equal((await bystander.next()).text, 'hi');
    s.destroy();
    await until(() => eventsOf('$disconnect').length === 1, 'its $disconnect', 5000);
  });
});
