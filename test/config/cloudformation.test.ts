import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { importTemplate, parseTemplate, TemplateError } from '../../src/config/cloudformation/index.js';
import { FIXTURES } from '../helpers/gateway.js';

const SAM = path.join(FIXTURES, 'sam-project', 'template.yaml');
const CFN = path.join(FIXTURES, 'cfn-project', 'template.yaml');
const CDK = path.join(FIXTURES, 'cdk-out', 'ChatStack.template.json');

/** A project folder with `template.yaml` and the given files. */
function project(template: string, files: Record<string, string> = { 'src/app.mjs': 'export const handler = async () => ({ statusCode: 200 });\n' }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-tpl-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  writeFileSync(path.join(dir, 'template.yaml'), template);
  return path.join(dir, 'template.yaml');
}

/** A small valid SAM template; `patch` rewrites parts of it for the bad-template cases. */
function samTemplate(patch: (t: string) => string = (t) => t): string {
  return patch(`Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs20.x
    CodeUri: src/
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: echo
      Target: !Join [/, [integrations, !Ref EchoInteg]]
  EchoInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${EchoFunction.Arn}/invocations
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
`);
}

async function refusal(template: string, opts: { parameters?: Record<string, string> } = {}): Promise<string> {
  try {
    await importTemplate({ template, ...opts });
  } catch (err) {
    assert.ok(err instanceof TemplateError || (err as Error).name === 'ConfigError', `a configuration error, got ${(err as Error).stack}`);
    return (err as Error).message;
  }
  throw new Error('expected the template to be refused');
}

describe('template parsing: CloudFormation YAML short tags and JSON', () => {
  it('turns scalar, sequence and mapping short tags into long-form intrinsics', () => {
    const t = parseTemplate(
      `a: !Ref X\nb: !GetAtt Db.Endpoint.Address\nc: !Join ['', [a, !Ref B]]\nd: !Sub\n  - "\${A}-x"\n  - A: !Ref P\ne: !If [C, 1, !Ref AWS::NoValue]\nf: !Equals [!Ref E, prod]\ng: 12\nh: !Base64 text\n`,
      't.yaml',
    );
    assert.deepEqual(JSON.parse(JSON.stringify(t)), {
      a: { Ref: 'X' },
      b: { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] },
      c: { 'Fn::Join': ['', ['a', { Ref: 'B' }]] },
      d: { 'Fn::Sub': ['${A}-x', { A: { Ref: 'P' } }] },
      e: { 'Fn::If': ['C', 1, { Ref: 'AWS::NoValue' }] },
      f: { 'Fn::Equals': [{ Ref: 'E' }, 'prod'] },
      g: 12,
      h: { 'Fn::Base64': 'text' },
    });
  });

  it('refuses an unknown short tag, naming the file, line and tag', () => {
    assert.throws(() => parseTemplate('Resources:\n  X:\n    Type: A\n    Properties:\n      P: !Frobnicate x\n', 'bad.yaml'), /bad\.yaml:5:\d+: unknown tag !Frobnicate/);
  });

  it('reads JSON templates (a CDK cdk.out template) as JSON', () => {
    const t = parseTemplate('{"Resources": {"A": {"Type": "X", "Properties": {"P": {"Fn::Join": ["", ["a", {"Ref": "B"}]]}}}}}', 'x.template.json');
    assert.deepEqual(t, { Resources: { A: { Type: 'X', Properties: { P: { 'Fn::Join': ['', ['a', { Ref: 'B' }]] } } } } });
  });
});

describe('template import: the fixtures become configurations', () => {
  it('SAM: Globals merged into each function (environment merged, function keys win), Sub both forms, GetAtt, Join, stage and throttling, two-way route, authorizer', async () => {
    const { config, baseDir, warnings } = await importTemplate({ template: SAM });
    assert.equal(baseDir, path.dirname(SAM));
    assert.deepEqual(warnings, []);
    const routes = config.routes!;
    assert.deepEqual(Object.keys(routes).sort(), ['$connect', '$default', '$disconnect', 'echo']);
    assert.equal(config.stage, 'Prod');
    assert.equal(config.routeSelectionExpression, '$request.body.action');
    assert.deepEqual(config.defaultRouteSettings, { throttlingRateLimit: 500, throttlingBurstLimit: 100 });
    assert.deepEqual(config.routeSettings, { echo: { throttlingRateLimit: 50, throttlingBurstLimit: 20 } });
    const echo = routes.echo!;
    assert.equal(echo.handler, `${path.join(FIXTURES, 'sam-project', 'src', 'echo.js')}#handler`);
    assert.equal(echo.routeResponse, true);
    // Function Timeout 20 s, integration TimeoutInMillis 8000: the integration's deadline wins.
    assert.equal(echo.timeoutMs, 8000);
    assert.equal(echo.functionName, 'sam-project-echo', 'FunctionName: !Sub "${AWS::StackName}-echo", the stack named after the folder');
    assert.deepEqual(echo.environment, {
      TABLE_NAME: 'chat_connections',
      SHARED: 'from-globals',
      GREETING: 'hello',
      TABLE_ARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/chat_connections',
      CALLBACK_URL: 'https://switchboard.execute-api.us-east-1.amazonaws.com/Prod',
    });
    // Globals Timeout 10 s under the 29 s integration default.
    assert.equal(routes.$default!.timeoutMs, 10_000);
    assert.equal(routes.$default!.routeResponse, undefined, 'one-way');
    const auth = routes.$connect!.authorizer!;
    assert.equal(auth.handler, `${path.join(FIXTURES, 'sam-project', 'src', 'auth.js')}#handler`);
    assert.deepEqual(auth.identitySource, ['route.request.querystring.token']);
    assert.equal(auth.timeoutMs, 10_000, 'AWS gives an authorizer 10 s at most');
    assert.equal(auth.environment!.ACCEPTED_TOKEN, 'letmein');
  });

  it('SAM: --parameter values replace defaults and reach Ref, Sub and the environment; pseudo parameters follow region and stack name', async () => {
    const { config } = await importTemplate({ template: SAM, parameters: { Greeting: 'howdy', ConnectionsTableName: 'other_table', 'AWS::StackName': 'chat-dev' }, overrides: { region: 'eu-west-1', accountId: '123456789012' } });
    const env = config.routes!.echo!.environment!;
    assert.equal(env.GREETING, 'howdy');
    assert.equal(env.TABLE_NAME, 'other_table');
    assert.equal(env.TABLE_ARN, 'arn:aws:dynamodb:eu-west-1:123456789012:table/other_table');
    assert.equal(env.CALLBACK_URL, 'https://switchboard.execute-api.eu-west-1.amazonaws.com/Prod');
    assert.equal(config.routes!.echo!.functionName, 'chat-dev-echo');
    assert.equal(config.region, 'eu-west-1');
  });

  it('never expands ${NAME} from the environment inside a template (Fn::Sub variables stay the template\'s)', async () => {
    process.env.ChatApi = 'FROM-THE-ENVIRONMENT';
    try {
      const { config } = await importTemplate({ template: SAM });
      assert.equal(config.routes!.echo!.environment!.CALLBACK_URL, 'https://switchboard.execute-api.us-east-1.amazonaws.com/Prod');
    } finally {
      delete process.env.ChatApi;
    }
  });

  it('plain CloudFormation: long forms, Mappings/FindInMap, Conditions/If/NoValue, Select/Split, CommaDelimitedList, inline Code.ZipFile, two-way by RouteResponse, MOCK', async () => {
    const { config } = await importTemplate({ template: CFN });
    const routes = config.routes!;
    assert.equal(config.stage, 'live');
    assert.equal(config.routeSelectionExpression, '$request.body.type');
    assert.deepEqual(config.defaultRouteSettings, { throttlingRateLimit: 1000, throttlingBurstLimit: 200 }, 'Fn::If IsDev');
    const reverse = routes.reverse!;
    assert.equal(reverse.routeResponse, true, 'a $default RouteResponse makes the route two-way');
    assert.equal(reverse.timeoutMs, 2000, 'function Timeout 2 s under the integration 5 s');
    assert.equal(reverse.functionName, 'cfn-project-reverse');
    assert.equal(reverse.handler, `${path.join(FIXTURES, 'cfn-project', 'handlers', 'app.js')}#reverse`);
    assert.deepEqual(reverse.environment, { GREETING: 'howdy', FIRST_ORIGIN: 'https://a.example', HOST_PART: 'example.org', MODE: 'development' }, 'PROD_ONLY removed by AWS::NoValue');
    assert.equal(routes.$connect!.timeoutMs, 3000, "Lambda's default timeout");
    assert.deepEqual(routes.ping, { mock: { statusCode: 200, body: '{"pong":true}' }, routeResponse: true });
    const auth = routes.$connect!.authorizer!;
    assert.deepEqual(auth.identitySource, ['route.request.header.X-Token']);
    assert.match(auth.handler!, /[/\\]\.switchboard[/\\]inline[/\\][0-9a-f]{24}[/\\]index\.js#handler$/, 'Code.ZipFile written as index.js');

    const prod = await importTemplate({ template: CFN, parameters: { Environment: 'prod', StageName: 'test' } });
    assert.equal(prod.config.stage, 'test');
    assert.equal(prod.config.defaultRouteSettings, undefined, 'Fn::If to AWS::NoValue removes the property');
    assert.deepEqual(prod.config.routes!.reverse!.environment, { GREETING: 'hello', FIRST_ORIGIN: 'https://a.example', HOST_PART: 'example.org', PROD_ONLY: 'yes', MODE: 'production' });
  });

  it('CDK cdk.out: hashed logical ids, Fn::Join URIs and targets, asset folders from aws:asset:path, an unused SSM parameter, stack named after the template', async () => {
    const { config } = await importTemplate({ template: CDK });
    const routes = config.routes!;
    assert.deepEqual(Object.keys(routes).sort(), ['$connect', '$default', '$disconnect', 'sum']);
    assert.equal(config.stage, 'prod');
    const asset = path.join(FIXTURES, 'cdk-out', 'asset.5d4c9e3b1a7f60e28c4b7d95a1f3e6c0b2d8a47f9e1c3b5a7d9f0e2c4b6a8d1e', 'index.mjs');
    assert.equal(routes.$connect!.handler, `${asset}#connect`, 'module found by probing .js, .mjs…');
    assert.equal(routes.$connect!.authorizer!.handler, `${asset}#authorize`);
    assert.deepEqual(routes.$connect!.authorizer!.identitySource, ['route.request.header.Authorization']);
    assert.equal(routes.sum!.routeResponse, true);
    assert.equal(routes.sum!.timeoutMs, 10_000);
    assert.equal(routes.sum!.functionName, 'SumFn6F7A8B9C');
    assert.deepEqual(routes.sum!.environment, { APP_REGION: 'us-east-1' });
    assert.match(routes.$default!.handler!, /index\.js#handler$/);
  });

  it('SAM InlineCode, esbuild EntryPoints, HTTP_PROXY, AWS_IAM on $connect, a nested export path', async () => {
    const template = project(
      samTemplate((t) =>
        t
          .replace('      Handler: app.handler\n', '      Handler: app.handlers.echo\n')
          .replace(
            '  EchoInteg:\n',
            `  ConnectRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: $connect\n      AuthorizationType: AWS_IAM\n      Target: !Sub integrations/\${ConnectInteg}\n  ConnectInteg:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${InlineFn.Arn}/invocations\n  InlineFn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: index.handler\n      InlineCode: "exports.handler = async () => ({ statusCode: 200 });"\n  BuiltFn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: esbuild\n      BuildProperties:\n        EntryPoints: [lib/main.ts]\n    Properties:\n      Handler: main.handler\n  BuiltRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: built\n      Target: !Sub integrations/\${BuiltInteg}\n  BuiltInteg:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${BuiltFn.Arn}/invocations\n  ProxyRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: proxy\n      Target: !Sub integrations/\${ProxyInteg}\n  ProxyInteg:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: HTTP_PROXY\n      IntegrationMethod: POST\n      TimeoutInMillis: 4000\n      IntegrationUri: http://127.0.0.1:9/backend\n  EchoInteg:\n`,
          ),
      ),
      { 'src/app.mjs': 'export const handlers = { echo: async () => ({ statusCode: 200 }) };\n', 'src/lib/main.ts': 'export const handler = async () => ({ statusCode: 200 });\n' },
    );
    const { config } = await importTemplate({ template });
    const routes = config.routes!;
    assert.equal(routes.$connect!.authorizationType, 'AWS_IAM');
    assert.match(routes.$connect!.handler!, /[/\\]\.switchboard[/\\]inline[/\\][0-9a-f]{24}[/\\]index\.js#handler$/);
    assert.equal(routes.built!.handler, `${path.join(path.dirname(template), 'src', 'lib', 'main.ts')}#handler`, 'the esbuild entry point of the same name');
    assert.equal(routes.echo!.handler, `${path.join(path.dirname(template), 'src', 'app.mjs')}#handlers.echo`);
    assert.deepEqual(routes.proxy, { httpProxy: 'http://127.0.0.1:9/backend', timeoutMs: 4000 });
  });

  it('a route given an integration in the overrides replaces the template\'s, and top-level keys replace', async () => {
    const { config } = await importTemplate({ template: SAM, overrides: { port: 9999, stage: 'Prod', routes: { echo: { http: 'http://127.0.0.1:1/echo' } } } });
    assert.equal(config.port, 9999);
    assert.equal(config.routes!.echo!.http, 'http://127.0.0.1:1/echo');
    assert.equal(config.routes!.echo!.handler, undefined);
    assert.equal(config.routes!.echo!.routeResponse, true, 'the rest of the template route stays');
  });
});

describe('template import: refusals name the resource and the key', () => {
  it('unknown intrinsic function', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('Target: !Join [/, [integrations, !Ref EchoInteg]]', 'Target:\n        Fn::Frobnicate: [x]'))));
    assert.match(msg, /Resources\.EchoRoute\.Properties\.Target\.Fn::Frobnicate: unknown intrinsic function Fn::Frobnicate/);
  });

  it('dangling Ref (and a Fn::Sub variable that names nothing)', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('!Ref EchoInteg', '!Ref NoSuchInteg').replace('${EchoFunction.Arn}', '${Missing.Arn}'))));
    assert.match(msg, /Resources\.EchoRoute\.Properties\.Target\.Fn::Join\[1\]\[1\]\.Ref: Ref to "NoSuchInteg", which is neither a parameter, a pseudo parameter nor a resource/);
    assert.match(msg, /Resources\.EchoInteg\.Properties\.IntegrationUri\.Fn::Sub: Fn::Sub variable \$\{Missing\.Arn\} names nothing/);
  });

  it('unsupported integration: AWS (VTL)', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('IntegrationType: AWS_PROXY', 'IntegrationType: AWS\n      RequestTemplates:\n        $default: \'{"route": "$context.routeKey"}\''))));
    assert.match(msg, /Resources\.EchoInteg\.Properties\.IntegrationType: "AWS" \(a non-proxy integration with VTL mapping templates\) cannot run/);
    assert.match(msg, /route "echo"/);
  });

  it('missing handler file', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('Handler: app.handler', 'Handler: handlers/missing.handler'))));
    assert.match(msg, /Resources\.EchoFunction\.Properties\.Handler: "handlers\/missing\.handler": no module src\/handlers\/missing\{,\.js,\.mjs,\.cjs,\.ts,\.mts,\.cts,\.tsx\} in src\/ \(CodeUri\)/);
    const noDir = await refusal(project(samTemplate((t) => t.replace('CodeUri: src/', 'CodeUri: nowhere/'))));
    assert.match(noDir, /Resources\.EchoFunction\.Properties\.CodeUri: .*nowhere does not exist/);
  });

  it('unsupported integration: HTTP (non-proxy) is refused like AWS, naming the resource and route', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('IntegrationType: AWS_PROXY', 'IntegrationType: HTTP'))));
    assert.match(msg, /Resources\.EchoInteg\.Properties\.IntegrationType: "HTTP" \(a non-proxy integration with VTL mapping templates\) cannot run/);
    assert.match(msg, /route "echo"/);
  });

  it('a handler found by probing .cjs, and AWS::Partition evaluated for the region', async () => {
    const template = project(
      samTemplate((t) => t + `      Environment:\n        Variables:\n          PARTITION: !Ref AWS::Partition\n          ARN: !Sub arn:\${AWS::Partition}:s3:::bucket\n`),
      { 'src/app.cjs': 'exports.handler = async () => ({ statusCode: 200 });\n' },
    );
    const { config } = await importTemplate({ template });
    const echo = config.routes!.echo!;
    assert.equal(echo.handler, `${path.join(path.dirname(template), 'src', 'app.cjs')}#handler`);
    assert.equal((echo as any).environment.PARTITION, 'aws');
    assert.equal((echo as any).environment.ARN, 'arn:aws:s3:::bucket');
  });

  it('non-Node runtime', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('Handler: app.handler', 'Handler: app.handler\n      Runtime: python3.12'))));
    assert.match(msg, /Resources\.EchoFunction\.Properties\.Runtime: "python3\.12" is not a Node\.js runtime/);
  });

  it('duplicate route', async () => {
    const dup = `  EchoRoute2:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: echo\n      Target: !Join [/, [integrations, !Ref EchoInteg]]\n`;
    const msg = await refusal(project(samTemplate((t) => t.replace('  EchoInteg:\n', `${dup}  EchoInteg:\n`))));
    assert.match(msg, /Resources\.EchoRoute2\.Properties\.RouteKey: duplicate route "echo": EchoRoute already defines it/);
  });

  it('an authorizer (or integration) invoking a function outside the template', async () => {
    const auth = `  ConnectRoute:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: $connect\n      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Auth\n  Auth:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties:\n      ApiId: !Ref Api\n      AuthorizerType: REQUEST\n      IdentitySource: [route.request.header.Auth]\n      AuthorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:111122223333:function:shared-auth/invocations\n`;
    const msg = await refusal(project(samTemplate((t) => t.replace('  EchoInteg:\n', `${auth}  EchoInteg:\n`))));
    assert.match(msg, /Resources\.Auth\.Properties\.AuthorizerUri: "arn:aws:lambda:us-east-1:111122223333:function:shared-auth" is a Lambda function outside this template/);
  });

  it('Fn::ImportValue where the API needs a value; a parameter outside AllowedValues; several problems listed at once', async () => {
    const msg = await refusal(project(samTemplate((t) => t.replace('Handler: app.handler', 'Handler: app.handler\n      Environment:\n        Variables:\n          SHARED: !ImportValue shared-table'))));
    assert.match(msg, /Resources\.EchoFunction\.Properties\.Environment\.Variables\.SHARED\.Fn::ImportValue: Fn::ImportValue reads another deployed stack's exports/);
    const bad = await refusal(SAM, { parameters: { Greeting: 'yo', Nope: '1' } });
    assert.match(bad, /--parameter Greeting: "yo" is not one of the AllowedValues \(hello, hi, howdy\)/);
    assert.match(bad, /--parameter Nope: the template has no parameter "Nope"/);
  });

  it('a Transform other than SAM and LanguageExtensions, and a template without a WebSocket API', async () => {
    assert.match(await refusal(project(samTemplate((t) => t.replace('Transform: AWS::Serverless-2016-10-31', 'Transform: [AWS::Serverless-2016-10-31, MyMacro]')))), /Transform: MyMacro is a macro a local run cannot apply/);
    assert.match(await refusal(project(samTemplate((t) => t.replace('ProtocolType: WEBSOCKET', 'ProtocolType: HTTP')))), /Resources: no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET/);
  });
});
