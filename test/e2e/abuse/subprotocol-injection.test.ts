// A $connect answer that echoes a client value into Sec-WebSocket-Protocol must not become
// header injection in the 101 response; a 1xx "refusal" must not read as an upgrade.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { TestClient } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';
import { rawHandshake } from '../../helpers/raw-handshake.js';

const P = './event-probe.mjs';

describe('abuse: Sec-WebSocket-Protocol and status from $connect', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${P}#connect` }, $default: { handler: `${P}#record`, routeResponse: true } } });
  });
  after(() => gw.close());

  const withProtocol = (p: string) => `/${gw.stage}?protocol=${encodeURIComponent(p)}`;

  it('a token list is echoed in the 101 response', async () => {
    const r = await rawHandshake(gw.port, withProtocol('chat.v2'), ['Sec-WebSocket-Protocol: chat.v2, json']);
    assert.equal(r.status, 101);
    assert.match(r.head, /\r\nSec-WebSocket-Protocol: chat\.v2(\r\n|$)/);
    r.close();
  });

  for (const bad of ['x\r\nSet-Cookie: session=stolen', 'x\nX-Injected: 1', 'x\rX-Injected: 1', 'a b', 'a;b', 'a,', '', 'x\u0000y']) {
    it(`${JSON.stringify(bad)} is refused with 500 (no header injected), counted`, async () => {
      const before = gw.counters.get('malformedAnswers', 'Sec-WebSocket-Protocol');
      const r = await rawHandshake(gw.port, withProtocol(bad));
      assert.equal(r.status, 500, r.head);
      assert.doesNotMatch(r.head, /Set-Cookie|X-Injected|101 Switching/i);
      r.close();
      assert.equal(gw.counters.get('malformedAnswers', 'Sec-WebSocket-Protocol'), before + 1);
    });
  }

  for (const status of [100, 101, 103, 199]) {
    it(`a $connect status ${status} is answered 500, never 1xx`, async () => {
      const r = await rawHandshake(gw.port, `/${gw.stage}?status=${status}`);
      assert.equal(r.status, 500, r.head);
      r.close();
    });
  }

  it('a bystander is served', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request('hi')).text, 'ok');
    c.close();
  });
});
