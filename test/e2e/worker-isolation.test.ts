import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

/**
 * Per-function environment, in both modes: each function sees its own `environment` merged
 * over the gateway's, and what one function writes to process.env stays its own.
 */
for (const isolation of ['inline', 'worker'] as const) {
  describe(`per-function environment (isolation: ${isolation})`, () => {
    let gw: Gateway;
    let client: TestClient;
    const saved = { gatewayVar: process.env.SB_TEST_GATEWAY_VAR, dropMe: process.env.DROP_ME };

    before(async () => {
      process.env.SB_TEST_GATEWAY_VAR = 'from-gateway';
      process.env.DROP_ME = 'gateway-value';
      gw = await startGateway({
        isolation,
        routes: {
          a: { handler: './runtime/env-a.mjs#handler', routeResponse: true, environment: { FN_NAME: 'a' } },
          b: { handler: './runtime/env-b#handler', routeResponse: true, environment: { FN_NAME: 'b' } },
        },
      });
      client = await TestClient.connect(gw.url);
    });

    after(async () => {
      client?.ws.close();
      await gw?.close();
      for (const [k, v] of [['SB_TEST_GATEWAY_VAR', saved.gatewayVar], ['DROP_ME', saved.dropMe]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    const ask = async (action: string, op = 'read') => JSON.parse((await client.request({ action, op }, 20_000)).text);

    it('each function sees its own variables, at load time and in calls, over the gateway environment', async () => {
      const a = await ask('a');
      const b = await ask('b');
      assert.equal(a.fn, 'a');
      assert.equal(b.fn, 'b');
      assert.equal(a.atLoad, 'a');
      assert.equal(b.atLoad, 'b');
      assert.equal(a.gateway, 'from-gateway');
      assert.equal(b.gateway, 'from-gateway');
      assert.equal(a.inKeys, true);
      assert.equal(a.has, true);
      assert.equal(a.endpoint, 'string', 'handlers can call back: AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI is set');
    });

    it('what one function writes or deletes stays its own', async () => {
      const a = await ask('a', 'write');
      assert.equal(a.leak, 'from-a');
      assert.equal(a.dropMe, null);
      const b = await ask('b');
      assert.equal(b.leak, null);
      assert.equal(b.dropMe, 'gateway-value');
      // Kept between calls, as a warm Lambda keeps its environment.
      assert.equal((await ask('a')).leak, 'from-a');
      // The gateway's own environment is untouched.
      assert.equal(process.env.LEAK, undefined);
      assert.equal(process.env.DROP_ME, 'gateway-value');
    });
  });
}

describe('per-function environment: no proxy without environments', () => {
  it('leaves process.env alone when no function has an environment, and restores it on close', async () => {
    const real = process.env;
    const gw = await startGateway({ routes: { $default: { handler: './handlers.mjs#handler', routeResponse: true } } });
    assert.equal(process.env, real);
    await gw.close();
    const gw2 = await startGateway({ routes: { a: { handler: './runtime/env-a.mjs#handler', environment: { FN_NAME: 'a' } } } });
    assert.notEqual(process.env, real);
    await gw2.close();
    assert.equal(process.env, real);
  });
});
