// Header names and query keys are the client's choice: `constructor`, `toString`, `__proto__`
// and `valueOf` are ordinary keys, in $connect events, authorizer events, identity sources and
// authorizer contexts (they once answered 500, or let a missing identity source pass).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Gateway } from '../../../src/index.js';
import { TestClient } from '../../helpers/client.js';
import { startGateway } from '../../helpers/gateway.js';
import { rawHandshake } from '../../helpers/raw-handshake.js';

const P = './event-probe.mjs';
const NAMES = ['constructor', 'toString', '__proto__', 'valueOf'];
const probe = (): any[] => ((globalThis as any).__sbProbe ??= []);
const own = (o: object, k: string) => Object.getOwnPropertyDescriptor(o, k)?.value;

describe('abuse: prototype names as header names and query keys', () => {
  let gw: Gateway;
  let authGw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${P}#connect` }, $default: { handler: `${P}#record`, routeResponse: true } } });
    authGw = await startGateway({
      routes: {
        $connect: {
          handler: `${P}#connect`,
          authorizer: { handler: `${P}#authorize`, identitySource: NAMES.flatMap((n) => [`route.request.header.${n}`, `route.request.querystring.${n}`]) },
        },
        $default: { handler: `${P}#record`, routeResponse: true },
      },
    });
  });
  after(async () => {
    await gw.close();
    await authGw.close();
  });
  beforeEach(() => (probe().length = 0));

  const target = (g: Gateway, names: string[]) => `/${g.stage}?${names.map((n) => `${n}=q1-${n}&${n}=q2-${n}`).join('&')}`;
  const headerLines = (names: string[]) => names.map((n) => `${n}: h-${n}`);

  for (const name of [...NAMES.map((n) => [n]), NAMES]) {
    it(`${name.join(', ')} as header and query key: accepted, every key kept in the $connect event`, async () => {
      const r = await rawHandshake(gw.port, target(gw, name), headerLines(name));
      assert.equal(r.status, 101, r.head);
      r.close();
      const ev = probe().find((e) => e.requestContext?.routeKey === '$connect');
      for (const n of name) {
        assert.equal(own(ev.headers, n), `h-${n}`);
        assert.deepEqual(own(ev.multiValueHeaders, n), [`h-${n}`]);
        assert.equal(own(ev.queryStringParameters, n), `q2-${n}`);
        assert.deepEqual(own(ev.multiValueQueryStringParameters, n), [`q1-${n}`, `q2-${n}`]);
      }
      // Everything else about the event is as usual.
      assert.equal(Object.getPrototypeOf(ev.headers), Object.prototype, 'an ordinary object, as Lambda gives it');
      assert.equal(ev.headers.Upgrade, undefined);
    });
  }

  it('a REQUEST authorizer with identity sources on these names: called with them, its context keys kept', async () => {
    const r = await rawHandshake(authGw.port, target(authGw, NAMES), headerLines(NAMES));
    assert.equal(r.status, 101, r.head);
    r.close();
    const auth = probe().find((e) => e.type === 'REQUEST');
    for (const n of NAMES) {
      assert.equal(own(auth.headers, n), `h-${n}`);
      assert.equal(own(auth.queryStringParameters, n), `q2-${n}`);
    }
    const connect = probe().find((e) => e.type === undefined && e.requestContext?.routeKey === '$connect');
    const ctx = connect.requestContext.authorizer;
    assert.equal(own(ctx, '__proto__'), 'ctx-proto');
    assert.equal(own(ctx, 'constructor'), 'ctx-ctor');
    assert.equal(ctx.plain, 'yes');
    assert.equal(ctx.principalId, 'probe');
  });

  for (const missing of NAMES) {
    it(`identity source ${missing} missing (as query key, everything else sent): 401 without calling the authorizer`, async () => {
      const r = await rawHandshake(authGw.port, target(authGw, NAMES.filter((n) => n !== missing)), headerLines(NAMES));
      assert.equal(r.status, 401, r.head);
      r.close();
      const h = await rawHandshake(authGw.port, target(authGw, NAMES), headerLines(NAMES.filter((n) => n !== missing)));
      assert.equal(h.status, 401, h.head);
      h.close();
      assert.equal(probe().filter((e) => e.type === 'REQUEST').length, 0);
    });
  }

  it('a bystander is served throughout', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request('hi')).text, 'ok');
    c.close();
  });
});
