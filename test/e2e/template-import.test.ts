import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, FIXTURES, ROOT, recorded, resetRecorded } from '../helpers/gateway.js';
import { launchGateway, type GatewayProcess, switchboardArgv } from '../helpers/process.js';

const SAM = path.join(FIXTURES, 'sam-project', 'template.yaml');
const CFN = path.join(FIXTURES, 'cfn-project', 'template.yaml');
const CDK = path.join(FIXTURES, 'cdk-out', 'ChatStack.template.json');

function startTemplate(template: string, parameters?: Record<string, string>): Promise<Gateway> {
  return createGateway({ template, parameters, config: { management: { credentials: [{ ...CREDS }] } }, port: 0, logger: pino({ level: process.env.SB_TEST_LOG ?? 'silent' }) });
}

async function refusedStatus(url: string, opts = {}): Promise<number> {
  try {
    const c = await TestClient.connect(url, opts);
    c.close();
  } catch (err) {
    return (err as { status: number }).status;
  }
  throw new Error('expected the handshake to be refused');
}

const seen = (fn: string) => recorded().events.filter((e) => e.__function === fn);

describe('createGateway({ template }): a SAM project runs unchanged', () => {
  let gw: Gateway;
  before(async () => {
    resetRecorded();
    gw = await startTemplate(SAM);
  });
  after(() => gw.close());

  it('serves on the Stage of the template, with its throttling settings', () => {
    assert.equal(gw.stage, 'Prod');
    assert.match(gw.url, /\/Prod$/);
    assert.deepEqual(gw.config.routeSettings.echo, { throttlingRateLimit: 50, throttlingBurstLimit: 20 });
  });

  it('$connect: the REQUEST authorizer refuses a missing or wrong token (401) and accepts the right one', async () => {
    assert.equal(await refusedStatus(gw.url), 401);
    assert.equal(await refusedStatus(`${gw.url}?token=wrong`), 401);
    const c = await TestClient.connect(`${gw.url}?token=letmein`);
    await until(() => seen('connect').length === 1, '$connect ran');
    assert.equal(seen('connect')[0].__functionName, 'OnConnectFunction');
    assert.equal(seen('connect')[0].requestContext.authorizer.principalId, 'user-1');
    c.close();
    await until(() => seen('disconnect').length === 1, '$disconnect ran');
    assert.equal(seen('disconnect')[0].__functionName, 'OnDisconnectFunction');
  });

  it('the two-way route answers with the function\'s own environment (Globals merged), name and the stage', async () => {
    const c = await TestClient.connect(`${gw.url}?token=letmein`);
    const answer = JSON.parse((await c.request({ action: 'echo', text: 'hi' }, 10_000)).text);
    assert.deepEqual(answer, {
      routeKey: 'echo',
      stage: 'Prod',
      apiId: 'switchboard',
      functionName: 'sam-project-echo',
      text: 'hi',
      env: { GREETING: 'hello', TABLE_NAME: 'chat_connections', SHARED: 'from-globals', TABLE_ARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/chat_connections' },
    });
    c.close();
  });

  it('$default calls back through the @connections API with the SDK and no endpoint in code', async () => {
    const c = await TestClient.connect(`${gw.url}?token=letmein`);
    c.send({ action: 'nothing-matches', n: 1 });
    const msg = JSON.parse((await c.next(10_000)).text);
    assert.deepEqual(msg, { from: '$default', got: '{"action":"nothing-matches","n":1}', principal: 'user-1' });
    c.close();
  });
});

describe('createGateway({ template, parameters }): a plain CloudFormation template', () => {
  let gw: Gateway;
  before(async () => {
    resetRecorded();
    gw = await startTemplate(CFN, { StageName: 'test', Environment: 'prod' });
  });
  after(() => gw.close());

  it('runs on the stage the parameter chose; the inline (Code.ZipFile) authorizer checks the header', async () => {
    assert.match(gw.url, /\/test$/);
    assert.equal(await refusedStatus(gw.url), 401, 'identity source header missing');
    assert.equal(await refusedStatus(gw.url, { headers: { 'X-Token': 'nope' } }), 401);
    const c = await TestClient.connect(gw.url, { headers: { 'X-Token': 'open-sesame' } });
    const answer = JSON.parse((await c.request({ type: 'reverse', text: 'abc' }, 10_000)).text);
    assert.deepEqual(answer, { reversed: 'cba', functionName: 'cfn-project-reverse', principal: 'cfn-user', greeting: 'hello', mode: 'production' });
    c.send({ type: 'other' });
    assert.equal((await c.next(10_000)).text, 'fallback:{"type":"other"}');
    c.close();
    await until(() => seen('disconnect').length === 1, '$disconnect ran');
  });
});

describe('createGateway({ template }): a CDK cdk.out template', () => {
  let gw: Gateway;
  before(async () => {
    resetRecorded();
    gw = await startTemplate(CDK);
  });
  after(() => gw.close());

  it('loads code from the asset folders and inline code, with the authorizer on the Authorization header', async () => {
    assert.match(gw.url, /\/prod$/);
    assert.equal(await refusedStatus(gw.url, { headers: { Authorization: 'Bearer wrong' } }), 401);
    const c = await TestClient.connect(gw.url, { headers: { Authorization: 'Bearer cdk-token' } });
    const sum = JSON.parse((await c.request({ action: 'sum', numbers: [1, 2, 39] }, 10_000)).text);
    assert.deepEqual(sum, { sum: 42, functionName: 'SumFn6F7A8B9C', stage: 'prod', region: 'us-east-1' });
    c.send({ action: 'unknown' });
    assert.equal((await c.next(10_000)).text, 'default:{"action":"unknown"}');
    c.close();
    await until(() => seen('disconnect').length === 1, '$disconnect ran');
  });
});

describe('switchboard start --template: the real command, in a child process', () => {
  const procs: GatewayProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it('SAM template: authorizer, two-way route with per-function environment, $default calling back', async () => {
    const p = await launchGateway(['--template', SAM, '--parameter', 'Greeting=hi']);
    procs.push(p);
    assert.match(p.url, /\/Prod$/);
    assert.equal(await refusedStatus(p.url), 401);
    const c = await TestClient.connect(`${p.url}?token=letmein`);
    const echo = JSON.parse((await c.request({ action: 'echo', text: 'x' }, 10_000)).text);
    assert.equal(echo.env.GREETING, 'hi', '--parameter reached the function environment');
    assert.equal(echo.functionName, 'sam-project-echo');
    c.send({ action: 'other' });
    assert.equal(JSON.parse((await c.next(10_000)).text).from, '$default');
    c.close();
  });

  it('plain CloudFormation and cdk.out templates', async () => {
    const cfn = await launchGateway(['--template', CFN]);
    procs.push(cfn);
    assert.match(cfn.url, /\/live$/);
    const a = await TestClient.connect(cfn.url, { headers: { 'X-Token': 'open-sesame' } });
    assert.equal(JSON.parse((await a.request({ type: 'reverse', text: 'ab' }, 10_000)).text).greeting, 'howdy');
    a.close();
    const cdk = await launchGateway(['--template', CDK]);
    procs.push(cdk);
    const b = await TestClient.connect(cdk.url, { headers: { Authorization: 'Bearer cdk-token' } });
    assert.equal(JSON.parse((await b.request({ action: 'sum', numbers: [2, 3] }, 10_000)).text).sum, 5);
    b.send({ action: 'x' });
    assert.equal((await b.next(10_000)).text, 'default:{"action":"x"}');
    b.close();
  });

  it('--config keys are written over the template (here the stage, picking the template\'s parameterised Stage, and a route)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-tpl-cfg-'));
    const file = path.join(dir, 'overrides.yaml');
    writeFileSync(file, `logging:\n  level: \${SB_TEST_LEVEL:-warn}\nroutes:\n  echo:\n    handler: ${path.join(FIXTURES, 'handlers.ts')}#echo\n`);
    const p = await launchGateway(['--template', SAM, '--config', file]);
    procs.push(p);
    const c = await TestClient.connect(`${p.url}?token=letmein`);
    // The fixture echo handler answers with the message body: the template's echo function is replaced.
    assert.equal((await c.request({ action: 'echo', text: 'over' }, 10_000)).text, '{"action":"echo","text":"over"}');
    c.close();
  });

  it('a template it cannot run: exit code 2 before listening, every problem named by resource and key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-tpl-bad-'));
    const template = path.join(dir, 'template.yaml');
    writeFileSync(
      template,
      `Resources:\n  Api:\n    Type: AWS::ApiGatewayV2::Api\n    Properties: { ProtocolType: WEBSOCKET }\n  SendRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: send\n      Target: !Sub integrations/\${SendInteg}\n  SendInteg:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS\n      IntegrationUri: arn:aws:apigateway:us-east-1:dynamodb:action/PutItem\n  PyRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: py\n      Target: !Sub integrations/\${PyInteg}\n  PyInteg:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${PyFn.Arn}/invocations\n  PyFn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      Code: ./\n`,
    );
    const child = spawn(process.execPath, switchboardArgv(['start', '--template', template, '--port', '0']), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /Resources\.SendInteg\.Properties\.IntegrationType: "AWS"/);
    assert.match(stderr, /Resources\.PyFn\.Properties\.Runtime: "python3\.12" is not a Node\.js runtime/);
  });
});

describe('CommonJS function code inside an ESM project ("type": "module"), as Lambda loads it', () => {
  const ESM = path.join(FIXTURES, 'esm-project');
  const run = async (template: string, isolation: 'inline' | 'worker', n: number): Promise<string> => {
    const gw = await createGateway({ template, config: { isolation, management: { credentials: [{ ...CREDS }] } }, port: 0, logger: pino({ level: process.env.SB_TEST_LOG ?? 'silent' }) });
    try {
      const c = await TestClient.connect(gw.url);
      const text = (await c.request({ action: 'echo', n }, 20_000)).text;
      c.close();
      return text;
    } finally {
      await gw.close();
    }
  };

  it('a CDK asset folder (cdk.out/asset.*) without a package.json: index.js and what it requires are CommonJS, in-process and in a worker', async () => {
    const cdk = path.join(ESM, 'cdk.out', 'EsmStack.template.json');
    assert.equal(await run(cdk, 'inline', 1), 'cdk object/string 1 main');
    assert.equal(await run(cdk, 'worker', 2), 'cdk object/string 2 worker');
  });

  it('a SAM CodeUri folder without a package.json: app.js is CommonJS', async () => {
    assert.equal(await run(path.join(ESM, 'template.yaml'), 'inline', 3), 'sam object/app.js 3');
    assert.equal(await run(path.join(ESM, 'template.yaml'), 'worker', 4), 'sam object/app.js 4');
  });
});
