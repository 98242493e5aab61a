import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/load.js';
import { loadServerless } from '../../../src/config/serverless/index.js';
import { ROOT } from '../../helpers/gateway.js';

/** A project folder with serverless.yml = `yml` and handler files src/chat.js, src/auth.js, src/typed.ts. */
function project(yml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-sls-'));
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'serverless.yml'), yml);
  writeFileSync(path.join(dir, 'src', 'chat.js'), 'exports.send = async () => ({ statusCode: 200 });\n');
  writeFileSync(path.join(dir, 'src', 'auth.js'), 'exports.check = async () => ({ principalId: "u" });\n');
  writeFileSync(path.join(dir, 'src', 'typed.ts'), 'export const handler = async (): Promise<object> => ({ statusCode: 200 });\n');
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  return dir;
}

function errorOf(dir: string, opts = {}): string {
  try {
    loadServerless({ path: dir, env: {}, ...opts });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error).stack}`);
    return err.message;
  }
  throw new Error('expected the project to be refused');
}

const fn = (name: string, body: string) => `service: svc\nprovider:\n  name: aws\nfunctions:\n  ${name}:\n${body}`;

describe('serverless import: what it produces', () => {
  it('routes, handler refs (extension found), environment, timeouts, names, authorizer with its default identity source', () => {
    const dir = project(`service: svc
provider:
  name: aws
  stage: qa
  timeout: 40
  environment: { A: provider, B: provider, N: 3 }
  websocketsApiRouteSelectionExpression: \${request.body.service}/\${request.body.action}
functions:
  connect:
    handler: src/typed.handler
    events: [{ websocket: { route: $connect, authorizer: { name: auth } } }]
  auth:
    handler: src/auth.check
    timeout: 3
  send:
    handler: src/chat.send
    name: custom-name
    environment: { B: function }
    events:
      - websocket: { route: send, routeResponseSelectionExpression: $default }
      - websocket: other
`);
    const r = loadServerless({ path: dir, env: {}, offline: false });
    const routes = r.config.routes;
    assert.equal(r.config.stage, 'qa');
    assert.equal(r.config.routeSelectionExpression, '${request.body.service}/${request.body.action}');
    assert.equal(routes.$connect!.handler, './src/typed.ts#handler');
    assert.deepEqual(routes.$connect!.authorizer?.identitySource, ['route.request.header.Auth']);
    assert.equal(routes.$connect!.authorizer?.handler, './src/auth.js#check');
    assert.equal(routes.$connect!.authorizer?.timeoutMs, 3000);
    assert.equal(routes.$connect!.timeoutMs, 29_000); // 40 s capped at API Gateway's 29 s
    assert.equal(routes.$connect!.functionName, 'svc-qa-connect');
    assert.deepEqual(routes.send!.environment, { A: 'provider', B: 'function', N: '3' });
    assert.equal(routes.send!.routeResponse, true);
    assert.equal(routes.send!.functionName, 'custom-name');
    assert.equal(routes.other!.handler, './src/chat.js#send');
    assert.equal(routes.other!.routeResponse, undefined);
    assert.equal(r.config.stagelessPaths, false);
    assert.equal(r.config.port, 8080);
    assert.ok(r.notes.some((n) => n.includes('capped')), r.notes.join('\n'));
  });

  it('serverless-offline mode: on when the project uses the plugin, websocketPort, IS_OFFLINE, stage-less paths; --no-offline turns it off', () => {
    const yml = `service: svc\nplugins: [serverless-offline]\nprovider: { name: aws }\ncustom:\n  serverless-offline: { websocketPort: 4444, webSocketIdleTimeout: 30 }\nfunctions:\n  f: { handler: src/chat.send, events: [{ websocket: $default }] }\n`;
    const on = loadServerless({ path: project(yml), env: {} });
    assert.equal(on.offline, true);
    assert.equal(on.config.port, 4444);
    assert.equal(on.config.stagelessPaths, true);
    assert.equal(on.config.limits.idleTimeoutSeconds, 30);
    assert.equal(on.config.routes.$default!.environment?.IS_OFFLINE, 'true');
    const off = loadServerless({ path: project(yml), env: {}, offline: false });
    assert.equal(off.config.port, 8080);
    assert.equal(off.config.routes.$default!.environment?.IS_OFFLINE, undefined);
    const noPlugin = loadServerless({ path: project(`service: svc\nfunctions:\n  f: { handler: src/chat.send, events: [{ websocket: $default }] }\n`), env: {}, offline: true });
    assert.equal(noPlugin.config.port, 3001);
  });

  it('--set replaces a value before variables resolve', () => {
    const dir = project(fn('f', '    handler: src/chat.send\n    environment: { SECRET: "${ssm:/app/secret}" }\n    events: [{ websocket: $default }]\n'));
    const r = loadServerless({ path: dir, env: {}, set: { 'functions.f.environment.SECRET': 'local' } });
    assert.equal(r.config.routes.$default!.environment?.SECRET, 'local');
  });
});

describe('serverless import: bad projects name the function and the key', () => {
  it('an unknown variable source', () => {
    const msg = errorOf(project(fn('send', '    handler: src/chat.send\n    environment: { X: "${nosuch:thing}" }\n    events: [{ websocket: $default }]\n')));
    assert.match(msg, /serverless\.yml: functions\.send\.environment\.X: \$\{nosuch:thing\}: unknown variable source "nosuch"/);
  });

  it('a variable that needs AWS', () => {
    const msg = errorOf(project(fn('send', '    handler: src/chat.send\n    environment: { TABLE: "${cf:infra-prod.TableName}" }\n    events: [{ websocket: $default }]\n')));
    assert.match(msg, /functions\.send\.environment\.TABLE: \$\{cf:infra-prod\.TableName\} needs a CloudFormation stack output/);
    assert.match(msg, /\$\{cf:infra-prod\.TableName, 'local-value'\}/);
    assert.match(msg, /--set functions\.send\.environment\.TABLE=VALUE/);
  });

  it('a missing handler file', () => {
    const msg = errorOf(project(fn('send', '    handler: src/missing.send\n    events: [{ websocket: $default }]\n')));
    assert.match(msg, /functions\.send\.handler: handler "src\/missing\.send": no file src\/missing\{\.js,\.mjs,\.cjs,\.ts,\.mts,\.cts,\.tsx\}/);
  });

  it('a bad handler string', () => {
    assert.match(errorOf(project(fn('send', '    handler: src/chat\n    events: [{ websocket: $default }]\n'))), /functions\.send\.handler: handler "src\/chat" is not MODULE\.EXPORT/);
    assert.match(errorOf(project(fn('send', '    handler: ../up/chat.send\n    events: [{ websocket: $default }]\n'))), /functions\.send\.handler: .*may not contain "\.\."/);
    assert.match(errorOf(project(fn('send', '    events: [{ websocket: $default }]\n'))), /functions\.send\.handler: a handler .* is required/);
  });

  it('a route key served twice (serverless-offline keeps the last silently)', () => {
    const msg = errorOf(project(`service: svc\nfunctions:\n  a: { handler: src/chat.send, events: [{ websocket: dup }] }\n  b: { handler: src/chat.send, events: [{ websocket: { route: dup } }] }\n`));
    assert.match(msg, /functions\.b\.events\.0\.websocket: route "dup" is already served by function "a"/);
  });

  it('authorizers it cannot run are refused, never dropped', () => {
    assert.match(errorOf(project(fn('c', '    handler: src/chat.send\n    events: [{ websocket: { route: $connect, authorizer: nope } }]\n'))), /functions\.c\.events\.0\.websocket\.authorizer: no function "nope"/);
    assert.match(errorOf(project(fn('c', '    handler: src/chat.send\n    events: [{ websocket: { route: send, authorizer: c } }]\n'))), /functions\.c\.events\.0\.websocket\.authorizer: authorizers apply to \$connect only/);
    assert.match(errorOf(project(fn('c', '    handler: src/chat.send\n    events: [{ websocket: { route: $connect, authorizer: { name: c, identitySource: [stageVariables.x] } } }]\n'))), /functions\.c\.events\.0\.websocket\.authorizer\.identitySource\.0: "stageVariables\.x" cannot be read locally/);
  });

  it('non-Node runtimes, no websocket events, serverless.ts', () => {
    assert.match(errorOf(project(fn('py', '    handler: src/chat.send\n    runtime: python3.12\n    events: [{ websocket: $default }]\n'))), /functions\.py\.runtime: runtime "python3\.12" is not Node\.js/);
    assert.match(errorOf(project(fn('f', '    handler: src/chat.send\n    events: [{ http: { path: /, method: get } }]\n'))), /functions: no function has a websocket event/);
    const ts = mkdtempSync(path.join(tmpdir(), 'sb-sls-ts-'));
    writeFileSync(path.join(ts, 'serverless.ts'), 'export default {};\n');
    assert.match(errorOf(ts), /serverless\.ts: serverless\.js\/serverless\.ts configurations are programs/);
  });

  it('the CLI prints the error and exits 2 before listening', () => {
    const dir = project(fn('send', '    handler: src/chat.send\n    environment: { K: "${ssm:/k}" }\n    events: [{ websocket: $default }]\n'));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'start', '--serverless', dir, '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^switchboard: .*serverless\.yml: functions\.send\.environment\.K: \$\{ssm:\/k\} needs AWS Systems Manager Parameter Store/);
    assert.equal(r.stdout, '');
  });
});

describe('serverless.yml environment intrinsics (the template importer\'s evaluator)', () => {
  const yml = (env: string) =>
    `service: svc\nprovider: { name: aws, region: eu-west-1 }\nfunctions:\n  send:\n    handler: src/chat.send\n    events: [{ websocket: $default }]\n    environment:\n${env}\nresources:\n  Resources:\n    Table: { Type: AWS::DynamoDB::Table, Properties: { TableName: chat } }\n`;

  it('Ref, Fn::Join, Fn::Sub, Fn::GetAtt …Arn as before, and the evaluator\'s other functions; AWS::NoValue drops the variable', () => {
    const r = loadServerless({
      path: project(
        yml(
          `      API: { Ref: WebsocketsApi }\n      URL: { 'Fn::Join': ['', ['https://', { Ref: WebsocketsApi }, '.execute-api.', { Ref: 'AWS::Region' }, '.amazonaws.com/dev']] }\n` +
            `      SUB: { 'Fn::Sub': ['\${AWS::StackName}/\${T}/\${!Lit}', { T: { Ref: Table } }] }\n      ARN: { 'Fn::GetAtt': [Table, Arn] }\n` +
            `      PICK: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }\n      GONE: { Ref: 'AWS::NoValue' }`,
        ),
      ),
      env: {},
      offline: false,
    });
    const env = r.config.routes!.$default!.environment!;
    assert.deepEqual(
      { ...env },
      { API: 'switchboard', URL: 'https://switchboard.execute-api.eu-west-1.amazonaws.com/dev', SUB: 'svc-dev/chat/${Lit}', ARN: 'arn:aws:local:eu-west-1:000000000000:chat', PICK: 'b' },
    );
  });

  it('what cannot be evaluated offline names the key and how to override it', () => {
    assert.match(errorOf(project(yml(`      X: { Ref: Nowhere }`))), /functions\.send\.environment\.X: Ref to "Nowhere".*\(override it: --set functions\.send\.environment\.X=VALUE\)/);
    assert.match(errorOf(project(yml(`      X: { 'Fn::GetAtt': [Table, StreamArn] }`))), /functions\.send\.environment\.X: Fn::GetAtt Table\.StreamArn cannot be evaluated offline/);
    assert.match(errorOf(project(yml(`      X: { 'Fn::ImportValue': shared }`))), /functions\.send\.environment\.X: Fn::ImportValue reads another deployed stack's exports/);
  });
});
