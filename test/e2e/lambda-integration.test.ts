import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { startFakeLambda, type InvokeRecord } from '../helpers/lambda-endpoint.js';

describe('lambda integration (the Lambda Invoke API)', () => {
  let lambda: Awaited<ReturnType<typeof startFakeLambda>>;
  let gw: Gateway;
  const never = new Promise<never>(() => {});

  before(async () => {
    lambda = await startFakeLambda({
      echo: (event) => ({ statusCode: 200, body: `lambda:${event.body}` }),
      crash: () => {
        throw new TypeError('function blew up');
      },
      handled: () => ({ __handledError: 'handled failure' }),
      slow: () => never,
      connect: (event) => (event.headers?.['x-deny'] ? { statusCode: 403, body: 'denied' } : { statusCode: 200 }),
      authorize: (event) => {
        if (event.headers?.auth !== 'let-me-in') throw new Error('Unauthorized');
        return { principalId: 'user-1', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] }, context: { tier: 'gold' } };
      },
    });
    const at = (functionName: string) => ({ functionName, endpoint: lambda.url });
    gw = await startGateway({
      routes: {
        $connect: { lambda: at('connect'), authorizer: { lambda: at('authorize'), identitySource: ['route.request.header.Auth'] } },
        echo: { lambda: at('echo'), routeResponse: true },
        qualified: { lambda: { functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:echo:live', endpoint: lambda.url }, routeResponse: true },
        crash: { lambda: at('crash'), routeResponse: true },
        handled: { lambda: at('handled'), routeResponse: true },
        slow: { lambda: at('slow'), routeResponse: true, timeoutMs: 500 },
        missing: { lambda: at('missing'), routeResponse: true },
      },
    });
  });

  after(async () => {
    await gw?.close();
    await lambda?.close();
  });

  const connect = (headers: Record<string, string> = { auth: 'let-me-in' }) => TestClient.connect(gw.url, { headers });
  const last = (name: string): InvokeRecord => lambda.calls.filter((c) => c.functionName === name).at(-1)!;

  it('sends the AWS event to the function, SigV4-signed, and sends its body back', async () => {
    const client = await connect();
    assert.equal((await client.request({ action: 'echo', n: 1 }, 10_000)).text, 'lambda:{"action":"echo","n":1}');
    const call = last('echo');
    assert.match(call.headers.authorization!, /^AWS4-HMAC-SHA256 Credential=\w+\/\d{8}\/us-east-1\/lambda\/aws4_request/);
    assert.equal(call.event.requestContext.routeKey, 'echo');
    assert.equal(call.event.requestContext.eventType, 'MESSAGE');
    assert.equal(call.event.body, '{"action":"echo","n":1}');
    client.ws.close();
  });

  it('calls a full ARN with a qualifier, signed for the ARN\'s region', async () => {
    const client = await connect();
    assert.equal((await client.request({ action: 'qualified' }, 10_000)).text, 'lambda:{"action":"qualified"}');
    const call = last('echo');
    assert.equal(call.qualifier, 'live');
    assert.match(call.headers.authorization!, /\/eu-west-1\/lambda\/aws4_request/);
    client.ws.close();
  });

  it('answers "Internal server error" for Unhandled and Handled function errors and unknown functions; the connection stays', async () => {
    const client = await connect();
    for (const action of ['crash', 'handled', 'missing']) {
      client.send({ action });
      const answer = await client.json(10_000);
      assert.equal(answer.message, 'Internal server error', action);
      assert.equal(typeof answer.requestId, 'string');
    }
    assert.equal((await client.request({ action: 'echo' }, 10_000)).text, 'lambda:{"action":"echo"}');
    client.ws.close();
  });

  it('times out with "Endpoint request timed out" and aborts the Invoke request', async () => {
    const client = await connect();
    client.send({ action: 'slow' });
    assert.equal((await client.json(10_000)).message, 'Endpoint request timed out');
    await until(() => last('slow')?.aborted === true, 'the Invoke request aborted', 10_000);
    client.ws.close();
  });

  it('runs $connect and its REQUEST authorizer as functions: Unauthorized → 401, a refusing $connect → its status', async () => {
    await assert.rejects(connect({ auth: 'wrong' }), (err: { status?: number }) => err.status === 401);
    await assert.rejects(connect({ auth: 'let-me-in', 'x-deny': '1' }), (err: { status?: number }) => err.status === 403);
    const client = await connect();
    assert.equal(last('connect').event.requestContext.authorizer.principalId, 'user-1');
    assert.equal(last('connect').event.requestContext.authorizer.tier, 'gold');
    client.ws.close();
  });
});
