// Every key of src/config/schema.ts (except those other work owns: inflightPerConnection,
// sendBufferTotalBytes, slowConsumerSeconds, handshakeTimeoutMs, requestBodyTimeoutMs,
// httpIntegration*, handshakeAnswerBytes, routeSettings, defaultRouteSettings, trustProxy,
// shutdown): its default, its bounds, and every cross-field rule, each with a valid control.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseWithEnv, formatIssues, loadConfigFile, validateConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

function errorOf(input: unknown): string {
  try {
    validateConfig(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error).name}`);
    return err.message;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

/** Asserts `input` is refused with exactly one line, for `key`, matching `message`. */
function refused(input: unknown, key: string, message: RegExp): void {
  const lines = errorOf(input).split('\n').slice(1);
  assert.equal(lines.length, 1, `expected one problem, got:\n${lines.join('\n')}`);
  assert.ok(lines[0]!.startsWith(`  ${key}: `), `expected the problem under ${key}, got: ${lines[0]}`);
  assert.match(lines[0]!, message);
}

const accepted = (input: unknown) => validateConfig(input);
const H = './h.ts#f';

describe('config schema: cross-field rules (each with its valid control)', () => {
  it('a route takes "handler" or "http", not both', () => {
    refused({ routes: { echo: { handler: H, http: 'http://127.0.0.1:1/x' } } }, 'routes.echo', /a route takes one integration: one of "handler", "http", "httpProxy", "lambda" or "mock", not several/);
    accepted({ routes: { echo: { handler: H } } });
    accepted({ routes: { echo: { http: 'http://127.0.0.1:1/x' } } });
  });

  it('a message route needs an integration; $connect and $disconnect do not', () => {
    refused({ routes: { echo: { routeResponse: true } } }, 'routes.echo', /a message route needs an integration: "handler", "http", "httpProxy", "lambda" or "mock"/);
    refused({ routes: { $default: {} } }, 'routes.$default', /a message route needs an integration: "handler", "http", "httpProxy", "lambda" or "mock"/);
    accepted({ routes: { $connect: {}, $disconnect: {} } });
  });

  it('an authorizer needs exactly one of handler or http', () => {
    refused({ routes: { $connect: { authorizer: { handler: H, http: 'http://127.0.0.1:1/a' } } } }, 'routes.$connect.authorizer', /exactly one of "handler", "http" or "lambda"/);
    refused({ routes: { $connect: { authorizer: {} } } }, 'routes.$connect.authorizer', /exactly one of "handler", "http" or "lambda"/);
    accepted({ routes: { $connect: { authorizer: { http: 'http://127.0.0.1:1/a' } } } });
  });

  it('an authorizer or an authorizationType on a route other than $connect is refused', () => {
    refused({ routes: { echo: { handler: H, authorizer: { handler: H } } } }, 'routes.echo', /authorizers apply to \$connect only/);
    refused({ routes: { $default: { handler: H, authorizationType: 'AWS_IAM' } } }, 'routes.$default', /authorizers apply to \$connect only/);
    refused({ routes: { $disconnect: { authorizationType: 'NONE' } } }, 'routes.$disconnect', /authorizers apply to \$connect only/);
    accepted({ routes: { $connect: { authorizer: { handler: H } } } });
  });

  it('AWS_IAM together with an authorizer is refused; CUSTOM needs one', () => {
    refused({ routes: { $connect: { authorizationType: 'AWS_IAM', authorizer: { handler: H } } } }, 'routes.$connect', /AWS_IAM and a custom authorizer cannot be combined/);
    refused({ routes: { $connect: { authorizationType: 'CUSTOM' } } }, 'routes.$connect.authorizer', /authorizationType CUSTOM needs an "authorizer"/);
    accepted({ routes: { $connect: { authorizationType: 'AWS_IAM' } } });
    accepted({ routes: { $connect: { authorizationType: 'CUSTOM', authorizer: { handler: H } } } });
    accepted({ routes: { $connect: { authorizationType: 'NONE' } } });
  });

  it('a result cache needs an identity source', () => {
    refused({ routes: { $connect: { authorizer: { handler: H, resultTtlSeconds: 5 } } } }, 'routes.$connect.authorizer.resultTtlSeconds', /needs at least one identitySource/);
    accepted({ routes: { $connect: { authorizer: { handler: H, resultTtlSeconds: 5, identitySource: ['route.request.header.Auth'] } } } });
    accepted({ routes: { $connect: { authorizer: { handler: H, resultTtlSeconds: 0 } } } });
  });

  it('$disconnect cannot have a route response, in either spelling; $connect and message routes can', () => {
    refused({ routes: { $disconnect: { handler: H, routeResponse: true } } }, 'routes.$disconnect', /\$disconnect cannot have a route response/);
    refused({ routes: { $disconnect: { handler: H, routeResponseSelectionExpression: '$default' } } }, 'routes.$disconnect', /\$disconnect cannot have a route response/);
    accepted({ routes: { $disconnect: { handler: H, routeResponse: false } } });
    accepted({ routes: { $connect: { handler: H, routeResponse: true }, echo: { handler: H, routeResponseSelectionExpression: '$default' } } });
  });

  it('route keys: $connect, $disconnect, $default, or 1-128 characters without spaces not starting with "$"', () => {
    for (const bad of ['$other', 'has space', 'x'.repeat(129), '']) refused({ routes: { [bad]: { handler: H } } }, `routes.${bad}`, /invalid route key/);
    accepted({ routes: { ['x'.repeat(128)]: { handler: H }, 'chat/send': { handler: H }, 'a$b': { handler: H } } });
  });

  it('routeSelectionExpression: supported forms only', () => {
    for (const bad of ['$request.header.x', '$request.body', '$context.routeKey', '${request.header.x}/a']) refused({ routeSelectionExpression: bad }, 'routeSelectionExpression', /unsupported/);
    for (const good of ['$request.body.action', '$request.body.a.b', '$request.body.list[0]', '${request.body.a}/${request.body.b}', 'literal', '$default']) accepted({ routeSelectionExpression: good });
  });
});

describe('config schema: every key, its default and its bounds', () => {
  const d = validateConfig({});

  it('top-level keys: defaults', () => {
    assert.equal(d.stage, 'dev');
    assert.equal(d.host, '127.0.0.1');
    assert.equal(d.port, 8080);
    assert.equal(d.apiId, 'switchboard');
    assert.equal(d.region, 'us-east-1');
    assert.equal(d.accountId, '000000000000');
    assert.equal(d.domainName, undefined);
    assert.deepEqual(d.routes, {});
    assert.equal(d.handlerEnvironment, true);
    assert.deepEqual(d.logging, { level: 'info', pretty: 'auto', accessLog: { enabled: true, open: false } });
  });

  it('limits: defaults', () => {
    const l = d.limits;
    assert.equal(l.sendBufferBytes, 4 * 1024 * 1024);
    assert.equal(l.binaryFrames, 'accept');
    assert.equal(l.pingCountsAsActivity, false);
    assert.equal(l.maxConnections, 0);
  });

  it('management: defaults (sigv4, no credentials, env off, any region, no rate limit)', () => {
    assert.deepEqual(d.management, { auth: 'sigv4', credentials: [], credentialsFromEnv: false });
    assert.equal(d.management.regions, undefined);
    assert.equal(d.management.rateLimit, undefined);
  });

  it('authorizer: defaults (no identity source, AWS\'s 10 s timeout, no cache)', () => {
    const a = validateConfig({ routes: { $connect: { authorizer: { handler: H } } } }).routes.$connect!.authorizer!;
    assert.deepEqual(a.identitySource, []);
    assert.equal(a.timeoutMs, 10_000);
    assert.equal(a.resultTtlSeconds, 0);
  });

  const bounds: Array<[string, unknown, boolean]> = [
    // [dotted key, value, accepted?]
    ['stage', 'prod_2-x', true], ['stage', 'a/b', false], ['stage', '', false], ['stage', 'x'.repeat(128), true], ['stage', 'x'.repeat(129), false],
    ['host', '0.0.0.0', true], ['host', '', false],
    ['port', 0, true], ['port', 65_535, true], ['port', 65_536, false], ['port', -1, false], ['port', 80.5, false],
    ['apiId', 'abc123', true], ['apiId', 'ABC', false], ['apiId', 'x'.repeat(32), true], ['apiId', 'x'.repeat(33), false],
    ['region', 'eu-west-1', true], ['region', '', false],
    ['accountId', '123456789012', true], ['accountId', '12345678901', false], ['accountId', '12345678901a', false],
    ['domainName', 'ws.example.com', true], ['domainName', '', false],
    ['handlerEnvironment', false, true], ['handlerEnvironment', 'no', false],
    ['logging.level', 'debug', true], ['logging.level', 'silent', true], ['logging.level', 'verbose', false],
    ['limits.messageBytes', 1, true], ['limits.messageBytes', 0, false], ['limits.messageBytes', 64 * 1024 * 1024, true], ['limits.messageBytes', 64 * 1024 * 1024 + 1, false],
    ['limits.frameBytes', 64 * 1024 * 1024, true], ['limits.maxConnectionSeconds', 365 * 24 * 3600, true], ['limits.binaryFrames', 'accept', true], ['management.auth', 'sigv4', true],
    ['limits.frameBytes', 1, true], ['limits.frameBytes', 0, false], ['limits.frameBytes', 64 * 1024 * 1024 + 1, false],
    ['limits.idleTimeoutSeconds', 0.05, true], ['limits.idleTimeoutSeconds', 0.04, false], ['limits.idleTimeoutSeconds', 31 * 24 * 3600, true], ['limits.idleTimeoutSeconds', 31 * 24 * 3600 + 1, false],
    ['limits.maxConnectionSeconds', 0.05, true], ['limits.maxConnectionSeconds', 0.04, false], ['limits.maxConnectionSeconds', 365 * 24 * 3600 + 1, false],
    ['limits.integrationTimeoutMs', 1, true], ['limits.integrationTimeoutMs', 0, false], ['limits.integrationTimeoutMs', 900_000, true], ['limits.integrationTimeoutMs', 900_001, false], ['limits.integrationTimeoutMs', 1.5, false],
    ['limits.sendBufferBytes', 1024, true], ['limits.sendBufferBytes', 1023, false],
    ['limits.binaryFrames', 'reject', true], ['limits.binaryFrames', 'drop', false],
    ['limits.pingCountsAsActivity', true, true], ['limits.pingCountsAsActivity', 1, false],
    ['limits.maxConnections', 0, true], ['limits.maxConnections', -1, false], ['limits.maxConnections', 2.5, false],
    ['management.auth', 'none', true], ['management.auth', 'iam', false],
    ['management.credentials', [{ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' }], true],
    ['management.credentials', [{ accessKeyId: '', secretAccessKey: 'S' }], false],
    ['management.credentials', [{ accessKeyId: 'A', secretAccessKey: '' }], false],
    ['management.credentials', [{ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: '' }], false],
    ['management.credentials', [{ accessKeyId: 'A', secretAccessKey: 'S', extra: 1 }], false],
    ['management.credentialsFromEnv', true, true], ['management.credentialsFromEnv', 'yes', false],
    ['management.regions', ['eu-west-1'], true], ['management.regions', [''], false],
    ['management.rateLimit', { perSecond: 0.5, burst: 1 }, true], ['management.rateLimit', { perSecond: 0, burst: 1 }, false],
    ['management.rateLimit', { perSecond: 1, burst: 0 }, false], ['management.rateLimit', { perSecond: 1, burst: 1.5 }, false], ['management.rateLimit', { perSecond: 1 }, false],
  ];
  for (const [key, value, ok] of bounds) {
    it(`${key} = ${JSON.stringify(value).slice(0, 40)} is ${ok ? 'accepted' : 'refused under that key'}`, () => {
      const input: Record<string, any> = {};
      const parts = key.split('.');
      let node = input;
      for (const p of parts.slice(0, -1)) node = node[p] = {};
      node[parts.at(-1)!] = value;
      if (ok) {
        const c = validateConfig(input) as any;
        assert.deepEqual(parts.reduce((n, p) => n[p], c), value);
      } else {
        const line = errorOf(input).split('\n')[1]!;
        assert.ok(line.trimStart().startsWith(key), `expected the problem under ${key}, got: ${line}`);
      }
    });
  }

  it('route keys: handler refs, http URLs, timeoutMs and functionName bounds', () => {
    for (const ok of ['./a.ts', './a.ts#handler', 'dir/a.js#$x_1']) accepted({ routes: { e: { handler: ok } } });
    for (const bad of ['./a.ts#1x', 'a b.ts', './a.ts#', '#x']) refused({ routes: { e: { handler: bad } } }, 'routes.e.handler', /expected "path\/to\/module#export"/);
    refused({ routes: { e: { http: 'not a url' } } }, 'routes.e.http', /./);
    accepted({ routes: { e: { handler: H, timeoutMs: 1, functionName: 'x'.repeat(140) } } });
    refused({ routes: { e: { handler: H, timeoutMs: 0 } } }, 'routes.e.timeoutMs', /./);
    refused({ routes: { e: { handler: H, timeoutMs: 900_001 } } }, 'routes.e.timeoutMs', /./);
    refused({ routes: { e: { handler: H, functionName: '' } } }, 'routes.e.functionName', /./);
    refused({ routes: { e: { handler: H, functionName: 'x'.repeat(141) } } }, 'routes.e.functionName', /./);
    refused({ routes: { e: { handler: H, routeResponseSelectionExpression: '$other' } } }, 'routes.e.routeResponseSelectionExpression', /./);
    refused({ routes: { e: { handler: H, unknown: 1 } } }, 'routes.e', /unrecognized key|unknown/i);
  });

  it('authorizer keys: identity sources in AWS form, timeout and cache bounds', () => {
    const route = (authorizer: object) => ({ routes: { $connect: { authorizer: { handler: H, ...authorizer } } } });
    accepted(route({ identitySource: ['route.request.header.Auth', 'route.request.querystring.token'] }));
    for (const bad of ['route.request.body.x', 'request.header.Auth', 'route.request.header.', 'route.request.header.a.b', 'route.request.header.a b']) {
      refused(route({ identitySource: [bad] }), 'routes.$connect.authorizer.identitySource.0', /expected route\.request\.header\.NAME or route\.request\.querystring\.NAME/);
    }
    accepted(route({ timeoutMs: 1, resultTtlSeconds: 3600, identitySource: ['route.request.header.A'] }));
    refused(route({ identitySource: ['xroute.request.header.A'] }), 'routes.$connect.authorizer.identitySource.0', /expected route\.request\.header\.NAME/);
    refused({ routes: { $connect: { authorizer: { handler: 'a b' } } } }, 'routes.$connect.authorizer.handler', /expected "path\/to\/module#export"/);
    refused(route({ timeoutMs: 0 }), 'routes.$connect.authorizer.timeoutMs', /./);
    refused(route({ timeoutMs: 900_001 }), 'routes.$connect.authorizer.timeoutMs', /./);
    refused(route({ resultTtlSeconds: 3601, identitySource: ['route.request.header.A'] }), 'routes.$connect.authorizer.resultTtlSeconds', /./);
    refused(route({ resultTtlSeconds: -1, identitySource: ['route.request.header.A'] }), 'routes.$connect.authorizer.resultTtlSeconds', /./);
  });

  it('unknown keys are refused at every level (strict objects)', () => {
    for (const [input, key] of [
      [{ limits: { nope: 1 } }, 'limits'],
      [{ management: { nope: 1 } }, 'management'],
      [{ management: { rateLimit: { perSecond: 1, burst: 1, nope: 1 } } }, 'management.rateLimit'],
      [{ logging: { level: 'info', nope: 1 } }, 'logging'],
      [{ routes: { $connect: { authorizer: { handler: H, nope: 1 } } } }, 'routes.$connect.authorizer'],
    ] as const) {
      const line = errorOf(input).split('\n')[1]!;
      assert.ok(line.trimStart().startsWith(`${key}: `), `${key}: ${line}`);
      assert.match(line, /nope/);
    }
  });
});

describe('config loading: environment references and files', () => {
  it('${NAME} and ${NAME:-default}; an empty variable takes the default; an unset one without default is an error naming it', () => {
    assert.deepEqual(parseWithEnv('port: ${P}', { P: '9000' }, 'f'), { port: 9000 });
    assert.deepEqual(parseWithEnv('port: ${P:-8080}', {}, 'f'), { port: 8080 });
    assert.deepEqual(parseWithEnv('port: ${P:-8080}', { P: '' }, 'f'), { port: 8080 });
    assert.deepEqual(parseWithEnv('x: ${A}${B:-}', { A: 'a' }, 'f'), { x: 'a' });
    assert.deepEqual(parseWithEnv('x: $P {P}', { P: 'no' }, 'f'), { x: '$P {P}' });
    assert.throws(() => parseWithEnv('port: ${MISSING}', {}, 'cfg.yaml'), (e: Error) => e instanceof ConfigError && /cfg\.yaml: environment variable MISSING is not set/.test(e.message));
  });

  it('formatIssues names the file and one key per line; the top level is "(top level)"', () => {
    const r = ConfigSchema.safeParse({ port: 'x', nope: 1 });
    assert.equal(r.success, false);
    const text = formatIssues(r.error!, 'file.yaml');
    assert.match(text, /^invalid configuration in file\.yaml:\n {2}port: .+\n {2}\(top level\): .*nope/);
    const top = ConfigSchema.safeParse(42);
    assert.match(formatIssues(top.error!, 'f'), /^invalid configuration in f:\n {2}\(top level\): /);
  });

  it('ConfigError is named so; validateConfig names its source ("configuration" by default)', () => {
    assert.equal(new ConfigError('x').name, 'ConfigError');
    assert.match(errorOf({ port: 'x' }), /^invalid configuration in configuration:\n/);
    assert.throws(() => validateConfig({ port: 'x' }, 'my.yaml'), /^ConfigError: invalid configuration in my\.yaml:/);
  });

  it('loadConfigFile: a mapping is required at the top level; an empty file is the defaults', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-cfg-'));
    const write = (name: string, text: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    await assert.rejects(loadConfigFile(write('list.yaml', '- a\n- b\n')), /expected a mapping of configuration keys at the top level/);
    await assert.rejects(loadConfigFile(write('scalar.yaml', '42\n')), /expected a mapping/);
    await assert.rejects(loadConfigFile(write('bool.yaml', 'true\n')), /expected a mapping/);
    assert.deepEqual((await loadConfigFile(write('null.yaml', 'null\n'))).config, validateConfig({}));
    assert.deepEqual((await loadConfigFile(write('tilde.yaml', '~\n'))).config, validateConfig({}));
    const missing = path.join(dir, 'nope.yaml');
    await assert.rejects(loadConfigFile(missing), (e: Error) => e instanceof ConfigError && e.message.startsWith(`cannot read configuration file ${missing}: ENOENT`));
    const bad = write('bad.yaml', 'a: [1, 2\n');
    await assert.rejects(loadConfigFile(bad), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${bad} is not valid YAML/JSON: `));
    await assert.rejects(loadConfigFile(write('env.yaml', 'port: ${SB_SURELY_UNSET_X}\n'), {}), (e: Error) => e instanceof ConfigError && /environment variable SB_SURELY_UNSET_X is not set/.test(e.message));
    const empty = await loadConfigFile(write('empty.yaml', ''));
    assert.deepEqual(empty.config, validateConfig({}));
    assert.equal(empty.baseDir, dir);
    const json = await loadConfigFile(write('c.json', '{"port": ${PORT:-1234}}'), {});
    assert.equal(json.config.port, 1234);
  });
});
