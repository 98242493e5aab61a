import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const FNS = './runtime/worker-fns.mjs';

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

describe('worker isolation: runaway handlers, module state, context, callbacks, limits', () => {
  let gw: Gateway;
  let client: TestClient;

  before(async () => {
    gw = await startGateway({
      isolation: 'worker',
      routes: {
        work: { handler: `${FNS}#work`, routeResponse: true, timeoutMs: 3000 },
        count: { handler: `${FNS}#count`, routeResponse: true, maxConcurrency: 1 },
        context: { handler: `${FNS}#context`, routeResponse: true, timeoutMs: 20_000, functionName: 'ctx-fn' },
        callback: { handler: `${FNS}#callback` },
        slow: { handler: `${FNS}#slow`, routeResponse: true, maxConcurrency: 1 },
        binary: { handler: `${FNS}#echo`, routeResponse: true },
        $default: { handler: `${FNS}#binary`, routeResponse: true },
        inline: { handler: `${FNS}#echo`, routeResponse: true, isolation: 'inline' },
      },
    });
    client = await TestClient.connect(gw.url);
  });

  after(async () => {
    client?.ws.close();
    await gw?.close();
  });

  it('stops a runaway while(true) handler at its timeout; the next call runs in a fresh worker', async () => {
    const bystander = await TestClient.connect(gw.url);
    client.send({ action: 'work', op: 'spin' });
    const frame = await client.json(20_000);
    assert.equal(frame.message, 'Endpoint request timed out');
    assert.equal(gw.counters.get('workerCrashes', 'timeout'), 1);
    // The gateway and other functions were never blocked.
    assert.equal((await bystander.request({ action: 'inline' }, 10_000)).text, 'echo:{"action":"inline"}');
    const next = JSON.parse((await client.request({ action: 'work', op: 'count' }, 20_000)).text);
    assert.equal(next.calls, 1, 'a fresh worker: module state starts over');
    bystander.ws.close();
  });

  it('keeps module state between calls, in a worker thread', async () => {
    const first = JSON.parse((await client.request({ action: 'count' }, 20_000)).text);
    const second = JSON.parse((await client.request({ action: 'count' }, 20_000)).text);
    assert.equal(second.calls, first.calls + 1);
    assert.equal(second.threadId, first.threadId);
    assert.notEqual(first.threadId, 0);
  });

  it('gives handlers a Lambda context and AWS_LAMBDA_FUNCTION_NAME', async () => {
    const ctx = JSON.parse((await client.request({ action: 'context' }, 20_000)).text);
    assert.equal(ctx.functionName, 'ctx-fn');
    assert.equal(ctx.envName, 'ctx-fn');
    assert.equal(ctx.isMain, false);
    assert.ok(ctx.remaining > 0 && ctx.remaining <= 20_000, String(ctx.remaining));
    assert.match(ctx.requestId, /^[0-9a-f-]{36}$/);
    assert.match(ctx.arn, /^arn:aws:lambda:us-east-1:000000000000:function:ctx-fn$/);
  });

  it('lets handlers in workers call back through the management API with no configuration', async () => {
    client.send({ action: 'callback' });
    assert.match((await client.next(20_000)).text, /^pushed from thread [1-9]\d*$/);
  });

  it('refuses a call over maxConcurrency at once with the error frame, and counts it', async () => {
    client.send({ action: 'slow', n: 1 });
    client.send({ action: 'slow', n: 2 });
    const frames = [await client.next(20_000), await client.next(20_000)].map((f) => f.text);
    const refused = frames.find((t) => t.startsWith('{'));
    assert.ok(refused, frames.join(' | '));
    assert.equal(JSON.parse(refused).message, 'Internal server error');
    assert.ok(frames.includes('slow:{"action":"slow","n":1}'), frames.join(' | '));
    assert.equal(gw.counters.get('rejected', 'maxConcurrency'), 1);
  });

  it('carries binary frames through the worker (base64 in, decoded to a Buffer, binary out)', async () => {
    client.send(Buffer.from([1, 2, 3]), true);
    const m = await client.next(20_000);
    assert.equal(m.binary, true);
    assert.deepEqual([...m.data], [1, 1, 2, 3]);
  });
});

describe('worker isolation: a handler that crashes its worker', () => {
  let gw: GatewayProcess;

  before(async () => {
    gw = await startGatewayProcess({
      isolation: 'worker',
      workers: { maxOldGenerationSizeMb: 32 },
      routes: {
        throwLater: { handler: `${FNS}#throwLater`, routeResponse: true },
        exit: { handler: `${FNS}#exit`, routeResponse: true },
        oom: { handler: `${FNS}#oom`, routeResponse: true },
        echo: { handler: `${FNS}#echo`, routeResponse: true },
      },
    });
  });

  after(async () => {
    await gw?.stop();
  });

  for (const action of ['throwLater', 'exit', 'oom']) {
    it(`${action}: the caller gets "Internal server error", the gateway and other handlers carry on`, async () => {
      const bystander = await TestClient.connect(gw.url);
      const client = await TestClient.connect(gw.url);
      client.send({ action });
      assert.equal((await client.json(30_000)).message, 'Internal server error');
      assert.ok(gw.alive());
      assert.equal((await bystander.request({ action: 'echo' }, 10_000)).text, 'echo:{"action":"echo"}');
      // The same function works again, in a fresh worker, on the same connection.
      assert.equal((await client.request({ action: 'echo' }, 10_000)).text, 'echo:{"action":"echo"}');
      await until(() => gw.logRecords().some((r) => typeof r.msg === 'string' && /worker/.test(r.msg) && r.where === `routes.${action}`), `a log line about routes.${action}`, 10_000);
      client.ws.close();
      bystander.ws.close();
    });
  }

  it('a $connect whose worker exits refuses the handshake with 502; the gateway lives on', async () => {
    const gw2 = await startGatewayProcess({ isolation: 'worker', routes: { $connect: { handler: `${FNS}#connectExit` }, echo: { handler: `${FNS}#echo`, routeResponse: true } } });
    try {
      await assert.rejects(TestClient.connect(gw2.url), (err: { status?: number }) => err.status === 502);
      assert.ok(gw2.alive());
      await assert.rejects(TestClient.connect(gw2.url), (err: { status?: number }) => err.status === 502);
    } finally {
      await gw2.stop();
    }
  });
});
