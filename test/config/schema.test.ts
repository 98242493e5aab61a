import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, validateConfig } from '../../src/config/load.js';

/** The ConfigError message validateConfig throws for `input` (fails when it accepts it). */
function errorOf(input: unknown): string {
  try {
    validateConfig(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error).name}: ${(err as Error).message}`);
    return err.message;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

/** The line of a ConfigError message that reports `key` (`  key: message`). */
function lineFor(message: string, key: string): string {
  const line = message.split('\n').find((l) => l.trimStart().startsWith(`${key}: `));
  assert.ok(line, `no line for "${key}" in:\n${message}`);
  return line;
}

describe('config schema: defaults', () => {
  it("are AWS's: stage dev, port 8080, $request.body.action, 128 KB messages, 32 KB frames, 10 min idle, 2 h max, 29 s integrations", () => {
    const c = validateConfig({});
    assert.equal(c.stage, 'dev');
    assert.equal(c.port, 8080);
    assert.equal(c.routeSelectionExpression, '$request.body.action');
    assert.equal(c.limits.messageBytes, 131_072);
    assert.equal(c.limits.frameBytes, 32_768);
    assert.equal(c.limits.idleTimeoutSeconds, 600);
    assert.equal(c.limits.maxConnectionSeconds, 7200);
    assert.equal(c.limits.integrationTimeoutMs, 29_000);
  });

  it('treats undefined like an empty configuration', () => {
    assert.deepEqual(validateConfig(undefined), validateConfig({}));
  });
});

describe('config schema: errors name the key and what was expected', () => {
  it('a port that is not a number', () => {
    assert.match(lineFor(errorOf({ port: 'abc' }), 'port'), /expected number/);
  });

  it('an unknown top-level key', () => {
    const msg = errorOf({ bogus: 1 });
    assert.match(msg, /\(top level\): Unrecognized key: "bogus"/);
  });

  it('an unknown key inside limits is reported under limits', () => {
    assert.match(errorOf({ limits: { messageBytez: 1 } }), /limits: Unrecognized key: "messageBytez"/);
  });

  it('an unsupported route selection expression ($request.header.foo) under routeSelectionExpression', () => {
    const line = lineFor(errorOf({ routeSelectionExpression: '$request.header.foo' }), 'routeSelectionExpression');
    assert.match(line, /\$request\.header\.foo|expected/);
  });

  it('a route key with a space', () => {
    const line = lineFor(errorOf({ routes: { 'bad key': { handler: './handlers.ts#echo' } } }), 'routes.bad key');
    assert.match(line, /route key/i);
  });

  it('an authorizer result cache without an identity source names resultTtlSeconds', () => {
    const msg = errorOf({ routes: { $connect: { handler: './handlers.ts#connect', authorizer: { handler: './authorizers.ts#allow', resultTtlSeconds: 60 } } } });
    const line = lineFor(msg, 'routes.$connect.authorizer.resultTtlSeconds');
    assert.match(line, /identitySource/);
    // The same authorizer with an identity source is fine.
    validateConfig({ routes: { $connect: { handler: './handlers.ts#connect', authorizer: { handler: './authorizers.ts#allow', resultTtlSeconds: 60, identitySource: ['route.request.header.Auth'] } } } });
  });

  it('reports every bad key at once', () => {
    const msg = errorOf({ port: 'abc', bogus: 1 });
    lineFor(msg, 'port');
    assert.match(msg, /Unrecognized key: "bogus"/);
  });
});
