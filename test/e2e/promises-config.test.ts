// Configuration keys whose effect was untested: each test fails when the key stops doing what
// src/config/schema.ts and the README say it does.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, FIXTURES, eventsOf, recorded, resetRecorded, startGateway } from '../helpers/gateway.js';
import { startGatewayProcess } from '../helpers/process.js';
import { unsigned } from '../helpers/signed.js';

const H = './handlers.ts';

async function whoami(c: TestClient): Promise<string> {
  return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId;
}

describe('promise: management.regions, set through the configuration', () => {
  it('accepts calls signed for a listed region and refuses others with InvalidSignatureException (403)', async () => {
    const gw = await startGateway({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, management: { regions: ['eu-west-1', 'eu-north-1'] } });
    const c = await TestClient.connect(gw.url);
    try {
      const id = await whoami(c);
      const client = (region: string) => new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region, credentials: { ...CREDS }, maxAttempts: 1 });
      const ok = await client('eu-north-1').send(new GetConnectionCommand({ ConnectionId: id }));
      assert.ok(ok.ConnectedAt instanceof Date);
      const err: any = await client('us-east-1').send(new GetConnectionCommand({ ConnectionId: id })).then(() => null, (e) => e);
      assert.ok(err, 'a call signed for us-east-1 must be refused');
      assert.equal(err.name, 'InvalidSignatureException');
      assert.equal(err.$metadata.httpStatusCode, 403);
      assert.equal(err.message, 'Credential should be scoped to a valid region.');
    } finally {
      c.ws.terminate();
      await gw.close();
    }
  });
});

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

function start(config: ConfigInput, logger: pino.Logger): Promise<Gateway> {
  return createGateway({ config: { ...config, management: { credentials: [{ ...CREDS }] } }, baseDir: FIXTURES, port: 0, logger });
}

describe('promise: handlerEnvironment, and two gateways in one process', () => {
  const ENDPOINT = 'AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI';
  const routes = { context: { handler: `${H}#context`, routeResponse: true } };

  it('handlerEnvironment: false leaves process.env alone; handlers then see what was there', async () => {
    const before = { endpoint: process.env[ENDPOINT], region: process.env.AWS_REGION };
    const { logger } = capturingLogger();
    const gw = await start({ routes, region: 'ap-south-1', handlerEnvironment: false }, logger);
    const c = await TestClient.connect(gw.url);
    try {
      assert.equal(process.env[ENDPOINT], before.endpoint);
      assert.equal(process.env.AWS_REGION, before.region);
      const seen = JSON.parse((await c.request({ action: 'context' })).text);
      assert.notEqual(seen.endpoint, gw.managementEndpoint);
      assert.notEqual(seen.region, 'ap-south-1');
    } finally {
      c.ws.terminate();
      await gw.close();
    }
  });

  it('two gateways setting it: the newer one wins and warns; closing it restores the older one; handlerEnvironment: false neither changes it nor warns', async () => {
    const original = process.env[ENDPOINT];
    const older = capturingLogger();
    const newer = capturingLogger();
    const quiet = capturingLogger();
    const a = await start({ routes }, older.logger);
    const b = await start({ routes }, newer.logger);
    let c: Gateway | undefined;
    try {
      assert.equal(process.env[ENDPOINT], b.managementEndpoint, 'the newer gateway\'s values are in force');
      assert.equal(older.lines.filter((l) => /handlerEnvironment: false/.test(l.msg)).length, 0);
      assert.equal(newer.lines.filter((l) => /another gateway in this process already set the handler environment/.test(l.msg)).length, 1);
      c = await start({ routes, handlerEnvironment: false }, quiet.logger);
      assert.equal(process.env[ENDPOINT], b.managementEndpoint, 'handlerEnvironment: false changes nothing');
      assert.deepEqual(quiet.lines.filter((l) => /handler environment/.test(l.msg)), []);
      await b.close();
      assert.equal(process.env[ENDPOINT], a.managementEndpoint, 'closing the newer one restores the older one\'s');
    } finally {
      await Promise.all([a.close(), b.close(), c?.close()]);
    }
    assert.equal(process.env[ENDPOINT], original);
  });
});

describe('promise: apiId, region, accountId and domainName appear in events and ARNs', () => {
  it('the authorizer\'s methodArn, every event\'s requestContext, the $disconnect Host, function names and AWS_REGION use them', async () => {
    resetRecorded();
    const sb = recorded() as any;
    sb.authCalls = [];
    const gw = await startGateway({
      apiId: 'abc123xyz',
      region: 'eu-central-1',
      accountId: '123456789012',
      domainName: 'ws.example.com',
      routes: {
        $connect: { handler: `${H}#connect`, authorizer: { handler: './authorizers.ts#authorize', identitySource: ['route.request.querystring.token'] } },
        $disconnect: { handler: `${H}#disconnect` },
        context: { handler: `${H}#context`, routeResponse: true },
      },
    });
    try {
      const c = await TestClient.connect(`${gw.url}?token=alice-token`);
      const ctx = JSON.parse((await c.request({ action: 'context' })).text);
      c.close();
      await until(() => eventsOf('$disconnect').length === 1, '$disconnect');
      assert.equal(sb.authCalls[0].methodArn, 'arn:aws:execute-api:eu-central-1:123456789012:abc123xyz/dev/$connect');
      assert.equal(sb.authCalls[0].requestContext.apiId, 'abc123xyz');
      assert.equal(sb.authCalls[0].requestContext.domainName, 'ws.example.com');
      for (const route of ['$connect', 'context', '$disconnect']) {
        const [ev] = eventsOf(route);
        assert.equal(ev.requestContext.apiId, 'abc123xyz', route);
        assert.equal(ev.requestContext.domainName, 'ws.example.com', route);
        assert.equal(ev.requestContext.stage, 'dev', route);
      }
      assert.equal(eventsOf('$disconnect')[0].headers.Host, 'ws.example.com');
      assert.equal(ctx.functionName, 'abc123xyz-dev-context');
      assert.equal(ctx.region, 'eu-central-1');
      // The policy is evaluated against the same ARN: an Allow on another account's ARN is no Allow.
      const refused = await TestClient.connect(`${gw.url}?token=other-resource`).then(() => null, (e) => e);
      assert.equal(refused?.status, 403);
    } finally {
      await gw.close();
    }
  });

  it('without domainName, requestContext.domainName is the Host header the client sent', async () => {
    resetRecorded();
    const gw = await startGateway({ routes: { $connect: { handler: `${H}#connect` } } });
    try {
      const c = await TestClient.connect(gw.url, { headers: { Host: 'chat.example.org' } });
      c.close();
      assert.equal(eventsOf('$connect')[0].requestContext.domainName, 'chat.example.org');
    } finally {
      await gw.close();
    }
  });
});

describe('promise: nested selection paths ($request.body.a.b)', () => {
  it('routes on a nested field, and falls back to $default when the path is missing', async () => {
    const gw = await startGateway({
      routeSelectionExpression: '$request.body.meta.action',
      routes: { ping: { handler: `${H}#whoami`, routeResponse: true }, $default: { handler: `${H}#echo`, routeResponse: true } },
    });
    const c = await TestClient.connect(gw.url);
    try {
      assert.ok(JSON.parse((await c.request({ meta: { action: 'ping' } })).text).connectionId, 'routed to ping');
      assert.equal((await c.request('{"action":"ping"}')).text, '{"action":"ping"}', 'the top-level field is not the path');
      assert.equal((await c.request('{"meta":"ping"}')).text, '{"meta":"ping"}');
    } finally {
      c.ws.terminate();
      await gw.close();
    }
  });
});

describe('promise: logging.level', () => {
  // The CLI logs JSON on stderr at logging.level: a child process shows what is written.
  const routes = { $connect: { handler: `${H}#connect` }, fail: { handler: `${H}#fail` } };

  it('warn: warnings are written, info lines are not', async () => {
    const gw = await startGatewayProcess({ routes, logging: { level: 'warn' } });
    try {
      assert.equal((await unsigned(gw as any, 'GET', '/@connections')).status, 403); // logged at info
      const c = await TestClient.connect(gw.url);
      c.send({ action: 'fail' }); // logged at warn
      await c.next();
      c.close();
      await until(() => gw.logRecords().some((l) => l.msg === 'integration failed'), 'the warning', 10_000);
      const levels = new Set(gw.logRecords().map((l) => l.level));
      assert.ok(![...levels].some((l) => l < 40), `lines below warn were written: ${gw.logs().join('\n')}`);
    } finally {
      await gw.stop();
    }
  });

  it('debug: debug lines are written', async () => {
    const gw = await startGatewayProcess({ routes, logging: { level: 'debug' } });
    try {
      await TestClient.connect(`${gw.url}?status=401`).catch(() => {});
      await until(() => gw.logRecords().some((l) => l.msg === '$connect refused the connection' && l.level === 20), 'the debug line', 10_000);
    } finally {
      await gw.stop();
    }
  });
});
