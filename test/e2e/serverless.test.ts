import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import { TestClient } from '../helpers/client.js';
import { FIXTURES } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const PROJECT = path.join(FIXTURES, 'serverless-project');
const AUTH = { headers: { Auth: 'let-me-in' } };

/** A port free right now (serverless-offline projects name their port; the test picks one for them). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The status of a refused handshake (fails when it is accepted). */
async function refusal(url: string, opts = {}): Promise<number> {
  try {
    const c = await TestClient.connect(url, opts);
    c.ws.close();
  } catch (err) {
    return (err as { status: number }).status;
  }
  throw new Error(`expected ${url} to be refused`);
}

function post(port: number, target: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: target, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('switchboard start --serverless (serverless-offline mode, child process)', () => {
  let gw: GatewayProcess;
  let port: number;
  before(async () => {
    port = await freePort();
    gw = await startGatewayProcess({}, { startArgs: ['--serverless', PROJECT], env: { SB_TEST_WS_PORT: String(port) } });
  });
  after(() => gw.stop());

  it('listens on the project\'s websocketPort and accepts clients at ws://HOST:PORT without the stage, as serverless-offline does', async () => {
    assert.equal(gw.port, port);
    const bare = await TestClient.connect(`ws://127.0.0.1:${port}`, AUTH);
    const staged = await TestClient.connect(`ws://127.0.0.1:${port}/local`, AUTH);
    bare.ws.close();
    staged.ws.close();
  });

  it('runs the $connect authorizer (a named function; identitySource defaults to the Auth header) before the TypeScript $connect handler', async () => {
    assert.equal(await refusal(`ws://127.0.0.1:${port}`), 401); // no Auth header: refused without calling the authorizer
    assert.equal(await refusal(`ws://127.0.0.1:${port}`, { headers: { Auth: 'wrong' } }), 401); // the authorizer throws Unauthorized
    const ok = await TestClient.connect(`ws://127.0.0.1:${port}`, AUTH);
    ok.ws.close();
  });

  it('a two-way route: the CommonJS handler pushes through http://localhost:PORT/@connections/{id} (SigV4, no stage) and sees its environment', async () => {
    const c = await TestClient.connect(`ws://127.0.0.1:${port}`, AUTH);
    c.send({ action: 'sendmessage', text: 'hi' });
    const first = await c.next(20_000);
    const second = await c.next(20_000);
    assert.equal(first.text, 'pushed:hi');
    const r = JSON.parse(second.text);
    assert.deepEqual(r.env, {
      TABLE_NAME: 'sbchat-connections-local', // ${self:custom.settings.tablePrefix}-${sls:stage}, settings from ${file(./config/settings.yml)}
      STAGE: 'local', // ${opt:stage, 'local'}
      REGION: 'eu-west-1', // ${aws:region}
      GREETING: 'hello from .env', // ${env:CHAT_GREETING} from .env
      ROOM_PREFIX: 'room-local', // ${param:roomPrefix}
      MAX_ROOMS: '25', // ${file(./config/settings.json):limits.rooms}
      DEBUG: 'false', // ${strToBool(${env:CHAT_DEBUG, 'false'})}
      API_ID: 'switchboard', // Ref: WebsocketsApi
      IS_OFFLINE: 'true',
      FUNCTION_ROLE: 'sender', // the function's own environment over the provider's
      // SECRET_TOKEN belongs to the authorizer function only
    });
    assert.equal(r.functionName, 'sbchat-local-sendMessage');
    assert.ok(r.remainingMs > 6000 && r.remainingMs <= 12_000, `timeout 12 s from the function, got ${r.remainingMs} ms left`);
    c.ws.close();
  });

  it('$default reaches a nested export (src/chat.handlers.fallback) and answers', async () => {
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/local`, AUTH);
    c.send('no route here');
    assert.equal((await c.next(20_000)).text, 'echo:no route here');
    c.ws.close();
  });

  it('the stage-less management path still requires a signature', async () => {
    assert.equal(await post(port, '/@connections/abc', 'x'), 403);
    assert.ok(gw.alive());
  });

  it('prints the routes, the serverless-offline URLs and what it ignored', () => {
    const out = gw.stdout();
    assert.match(out, /^Switchboard listening on ws:\/\/127\.0\.0\.1:\d+\/local$/m);
    assert.match(out, /serverless: .*serverless\.yml \(API sbchat-local-ws, stage local, serverless-offline mode\)/);
    assert.match(out, /\$connect\s+-> function connect/);
    assert.match(out, /sendmessage\s+-> function sendMessage/);
    assert.match(out, new RegExp(`serverless-offline URLs: ws://127\\.0\\.0\\.1:${port} and http://127\\.0\\.0\\.1:${port}/@connections/\\{connectionId\\}`));
    assert.match(out, /note: functions\.sendMessage: http event ignored/);
  });
});

describe('createGateway({ serverless })', () => {
  let gw: Gateway;
  before(async () => {
    gw = await createGateway({ serverless: { path: PROJECT, stage: 'prod', offline: false, params: { roomPrefix: 'from-cli' }, env: { ...process.env, CHAT_GREETING: 'from the environment' } }, port: 0, logger: pino({ level: 'silent' }) });
  });
  after(() => gw.close());

  it('uses --stage for ${sls:stage}, --param over the file\'s params, the environment over .env; no serverless-offline extras', async () => {
    assert.match(gw.url, /\/prod$/);
    const c = await TestClient.connect(gw.url, AUTH);
    c.send({ action: 'sendmessage', text: 'yo' });
    assert.equal((await c.next(20_000)).text, 'pushed:yo'); // through AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
    const r = JSON.parse((await c.next(20_000)).text);
    assert.equal(r.env.STAGE, 'prod');
    assert.equal(r.env.TABLE_NAME, 'sbchat-connections-prod');
    assert.equal(r.env.ROOM_PREFIX, 'from-cli');
    assert.equal(r.env.GREETING, 'from the environment');
    assert.equal(r.env.IS_OFFLINE, undefined);
    assert.equal(r.functionName, 'sbchat-prod-sendMessage');
    c.ws.close();
  });

  it('without serverless-offline mode, the stage-less URLs are AWS\'s: 403', async () => {
    assert.equal(await refusal(gw.url.replace(/\/prod$/, ''), AUTH), 403);
    const client = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint.replace(/\/prod$/, ''), region: 'us-east-1', credentials: gw.handlerCredentials!, maxAttempts: 1 });
    await assert.rejects(client.send(new GetConnectionCommand({ ConnectionId: 'abc' })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403);
  });
});

describe('createGateway({ serverless }) in serverless-offline mode', () => {
  it('GetConnection over the stage-less path, signed by the SDK with the path as sent', async () => {
    const gw = await createGateway({ serverless: PROJECT, port: 0, logger: pino({ level: 'silent' }) });
    try {
      const c = await TestClient.connect(gw.url, AUTH);
      c.send({ action: 'sendmessage', text: 'id?' });
      // The route response is not needed; the connection id comes from the management list below.
      const base = gw.managementEndpoint.replace(/\/local$/, '');
      const client = new ApiGatewayManagementApiClient({ endpoint: base, region: 'us-east-1', credentials: gw.handlerCredentials!, maxAttempts: 1 });
      await assert.rejects(client.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAAAAA' })), (err: Error) => err.name === 'GoneException');
      c.ws.close();
    } finally {
      await gw.close();
    }
  });
});
