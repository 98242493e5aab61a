// Handlers that build the callback endpoint themselves (AWS's chat sample, serverless-patterns,
// Serverless docs) reach the gateway unchanged: the execute-api hostname, `https://${domainName}/${stage}`,
// and environment values holding either, through SDK v3, SDK v2 and a SigV4-signed fetch, in-process
// and in worker threads.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import { rewriteCallbackUrl } from '../../src/integrations/callback-hook.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, FIXTURES } from '../helpers/gateway.js';

const FORMS = ['v3Api', 'v3Domain', 'v3Env', 'v3Foreign', 'v2Api', 'v2Domain', 'v2Env', 'fetchApi', 'fetchDomain', 'fetchForeign'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Sends `action` and collects what comes back: the callback's text and the route response. */
async function exchange(client: TestClient, action: string): Promise<string[]> {
  client.send({ action });
  const got: string[] = [];
  // The route response (`sent` or `failed: …`) is the last message of the exchange.
  while (!got.some((t) => t === 'sent' || t.startsWith('failed'))) got.push((await client.next(30_000)).text);
  return got;
}

describe('callback URLs that handlers build themselves', () => {
  let gw: Gateway;
  let client: TestClient;
  const logs: Array<Record<string, any>> = [];
  const originalCreateConnection = https.Agent.prototype.createConnection;
  let originalDispatcher: unknown;

  before(async () => {
    await import('undici'); // what sets the global dispatcher the hook stands in front of
    originalDispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const routes = Object.fromEntries(FORMS.map((f) => [f, { handler: `./callbacks.mjs#${f}`, routeResponse: true, timeoutMs: 20_000 }]));
    gw = await createGateway({
      config: {
        routes: {
          ...routes,
          // The same handlers in worker threads: each worker installs the hook.
          workerApi: { handler: './callbacks.mjs#v3Api', isolation: 'worker', routeResponse: true, timeoutMs: 20_000 },
          workerDomainV2: { handler: './callbacks.mjs#v2Domain', isolation: 'worker', routeResponse: true, timeoutMs: 20_000 },
          workerFetchApi: { handler: './callbacks.mjs#fetchApi', isolation: 'worker', routeResponse: true, timeoutMs: 20_000 },
          workerFetchDomain: { handler: './callbacks.mjs#fetchDomain', isolation: 'worker', routeResponse: true, timeoutMs: 20_000 },
          workerEnv: { handler: './callbacks.mjs#v3Env', isolation: 'worker', routeResponse: true, timeoutMs: 20_000, environment: { CALLBACK_URL: 'https://switchboard.execute-api.us-east-1.amazonaws.com/dev' } },
          // An importer copies a function's environment as written: the URL it names is this gateway's.
          envRoute: { handler: './callbacks.mjs#v3Env', environment: { CALLBACK_URL: 'https://switchboard.execute-api.us-east-1.amazonaws.com/dev', OTHER: 'https://example.com/dev' } },
        },
        management: { credentials: [{ ...CREDS }] },
      },
      baseDir: FIXTURES,
      port: await freePort(),
      logger,
    });
    client = await TestClient.connect(gw.url);
  });

  after(async () => {
    client?.ws.close();
    await gw?.close();
    delete process.env.CALLBACK_URL;
  });

  it('SDK v3, https://{apiId}.execute-api.{region}.amazonaws.com/{stage} (the AWS chat sample)', async () => {
    assert.deepEqual(await exchange(client, 'v3Api'), ['v3 api', 'sent']);
  });

  it('SDK v3, https://{domainName}/{stage} with TLS off', async () => {
    assert.deepEqual(await exchange(client, 'v3Domain'), ['v3 domain', 'sent']);
  });

  it('SDK v3, an environment value holding either form', async () => {
    process.env.CALLBACK_URL = `https://switchboard.execute-api.us-east-1.amazonaws.com/dev`;
    assert.deepEqual(await exchange(client, 'v3Env'), ['v3 env', 'sent']);
    process.env.CALLBACK_URL = `https://127.0.0.1:${gw.port}/dev`;
    assert.deepEqual(await exchange(client, 'v3Env'), ['v3 env', 'sent']);
  });

  it('SDK v2, the execute-api URL, domainName + "/" + stage without a scheme, and an environment value', async () => {
    assert.deepEqual(await exchange(client, 'v2Api'), ['v2 api', 'sent']);
    assert.deepEqual(await exchange(client, 'v2Domain'), ['v2 domain', 'sent']);
    process.env.CALLBACK_URL = `https://switchboard.execute-api.us-east-1.amazonaws.com/dev`;
    assert.deepEqual(await exchange(client, 'v2Env'), ['v2 env', 'sent']);
  });

  it('in worker threads (isolation: worker): the execute-api URL, SDK v2 domainName + "/" + stage, and a route environment value', async () => {
    assert.deepEqual(await exchange(client, 'workerApi'), ['v3 api', 'sent']);
    assert.deepEqual(await exchange(client, 'workerDomainV2'), ['v2 domain', 'sent']);
    assert.deepEqual(await exchange(client, 'workerEnv'), ['v3 env', 'sent']);
  });

  it('fetch (Node\'s global one), SigV4-signed by hand: the execute-api URL and https://{domainName}/{stage}, in-process and in workers', async () => {
    assert.deepEqual(await exchange(client, 'fetchApi'), ['fetch api', 'sent']);
    assert.deepEqual(await exchange(client, 'fetchDomain'), ['fetch domain', 'sent']);
    assert.deepEqual(await exchange(client, 'workerFetchApi'), ['fetch api', 'sent']);
    assert.deepEqual(await exchange(client, 'workerFetchDomain'), ['fetch domain', 'sent']);
  });

  it('route environment values naming this API are rewritten to the gateway when it starts; others are kept', () => {
    const env = gw.config.routes.envRoute!.environment!;
    assert.equal(env.CALLBACK_URL, gw.managementEndpoint);
    assert.equal(env.OTHER, 'https://example.com/dev');
  });

  it('a callback to another API id fails with ENOTFOUND and is logged (rate-limited) with the fix; bystanders are served', async () => {
    const bystander = await TestClient.connect(gw.url);
    const got = await exchange(client, 'v3Foreign');
    assert.match(got.at(-1)!, /^failed: .*ENOTFOUND/);
    await exchange(client, 'v3Foreign');
    await until(() => logs.some((l) => l.host === 'zz9plural.execute-api.us-east-1.amazonaws.com'), 'the unresolved-callback log line', 10_000);
    const lines = logs.filter((l) => l.host === 'zz9plural.execute-api.us-east-1.amazonaws.com');
    assert.equal(lines.length, 1, 'one line per 10 s, repeats summarised');
    assert.match(lines[0]!.msg, /set apiId and region/);
    assert.ok(gw.counters.get('callbackUnresolved') >= 2);
    assert.deepEqual(await exchange(bystander, 'v3Api'), ['v3 api', 'sent']);
    bystander.ws.close();
  });

  it('fetch to other origins is untouched, and a fetch to another API id is reported like the SDKs\' callbacks', async () => {
    const other = http.createServer((req, res) => res.end(`other ${req.headers.host}`));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as { port: number }).port;
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), `other 127.0.0.1:${port}`);
    } finally {
      other.close();
    }
    // Counted (the log line shares the SDK callbacks' rate limit, which the next test checks).
    const before = gw.counters.get('callbackUnresolved');
    const got = await exchange(client, 'fetchForeign');
    assert.match(got.at(-1)!, /^failed: (ENOTFOUND|EAI_AGAIN)/);
    await until(() => gw.counters.get('callbackUnresolved') > before, 'the unresolved fetch counted', 10_000);
  });

  it('the hook is removed when the gateway closes', async () => {
    assert.notEqual(https.Agent.prototype.createConnection, originalCreateConnection);
    const other = await createGateway({ config: { management: { credentials: [{ ...CREDS }] } }, port: 0, logger: pino({ level: 'silent' }) });
    await other.close();
    assert.notEqual(https.Agent.prototype.createConnection, originalCreateConnection, 'still installed for the first gateway');
    await gw.close();
    assert.equal(https.Agent.prototype.createConnection, originalCreateConnection);
    assert.equal((globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')], originalDispatcher, 'the fetch dispatcher is put back');
  });
});

describe('rewriteCallbackUrl', () => {
  const api = { apiId: 'abc123', region: 'eu-west-1', stage: 'prod', domainName: 'chat.example.com', endpoint: 'http://127.0.0.1:8080/prod' };
  it('rewrites the forms real projects use and nothing else', () => {
    assert.equal(rewriteCallbackUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod', api), 'http://127.0.0.1:8080/prod');
    assert.equal(rewriteCallbackUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', api), 'http://127.0.0.1:8080/prod/');
    assert.equal(rewriteCallbackUrl('wss://abc123.execute-api.eu-west-1.amazonaws.com/prod', api), 'ws://127.0.0.1:8080/prod');
    assert.equal(rewriteCallbackUrl('abc123.execute-api.eu-west-1.amazonaws.com/prod', api), '127.0.0.1:8080/prod');
    assert.equal(rewriteCallbackUrl('https://chat.example.com/prod', api), 'http://127.0.0.1:8080/prod');
    assert.equal(rewriteCallbackUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/@connections', api), 'http://127.0.0.1:8080/prod/@connections');
    assert.equal(rewriteCallbackUrl('https://abc123.execute-api.eu-west-1.amazonaws.com', api), 'http://127.0.0.1:8080');
    for (const v of ['https://other.execute-api.eu-west-1.amazonaws.com/prod', 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev', 'simplechat_connections', 'https://example.com/prod', '']) {
      assert.equal(rewriteCallbackUrl(v, api), v);
    }
  });
});
