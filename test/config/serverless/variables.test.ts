import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../../src/config/load.js';
import { loadDotenv, parseDotenv } from '../../../src/config/serverless/dotenv.js';
import { MAX_DEPTH, resolveStage, resolveVariables, type VariableContext } from '../../../src/config/serverless/variables.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-vars-'));
writeFileSync(path.join(dir, 'settings.yml'), 'table: chat-${sls:stage}\nnested:\n  deep: 7\nref: !Ref Api\n');
writeFileSync(path.join(dir, 'settings.dev.json'), '{ "creds": "dev-creds", "list": [1, 2] }');
writeFileSync(path.join(dir, 'settings.prod.json'), '{ "creds": "prod-creds" }');
writeFileSync(path.join(dir, 'notes.txt'), 'plain text');
writeFileSync(path.join(dir, 'x.js'), 'export const k = 1;');

function ctx(over: Partial<VariableContext> = {}): VariableContext {
  return { serviceDir: dir, file: 'serverless.yml', options: {}, params: {}, env: {}, accountId: '123456789012', ...over };
}

function resolve(doc: Record<string, unknown>, over: Partial<VariableContext> = {}): Record<string, any> {
  return resolveVariables(structuredClone(doc), ctx(over));
}

/** The ConfigError message resolving `doc` throws. */
function errorOf(doc: Record<string, unknown>, over: Partial<VariableContext> = {}): string {
  try {
    resolve(doc, over);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error).stack}`);
    return err.message;
  }
  throw new Error(`expected ${JSON.stringify(doc)} to be refused`);
}

describe('serverless variables: sources', () => {
  it('self: dotted paths, chains of references, and the referenced value\'s type', () => {
    const r = resolve({ service: 'chat', custom: { a: '${self:custom.b}', b: '${self:custom.c.n}', c: { n: 5 }, obj: '${self:custom.c}' }, x: 'svc=${self:service}' });
    assert.equal(r.custom.a, 5);
    assert.deepEqual(r.custom.obj, { n: 5 });
    assert.equal(r.x, 'svc=chat');
  });

  it('sls:stage is --stage, else provider.stage (itself resolved), else dev', () => {
    assert.equal(resolve({ v: '${sls:stage}' }).v, 'dev');
    assert.equal(resolve({ provider: { stage: '${opt:stage, "qa"}' }, v: '${sls:stage}' }).v, 'qa');
    assert.equal(resolve({ provider: { stage: 'qa' }, v: '${sls:stage}' }, { options: { stage: 'prod' } }).v, 'prod');
    assert.equal(resolveStage({ provider: { stage: '${env:STAGE_NAME}' }, other: '${ssm:/never/read}' }, ctx({ env: { STAGE_NAME: 'feat' } })), 'feat');
    assert.match(String(resolve({ v: '${sls:instanceId}' }).v), /^[0-9a-f]{16}$/);
  });

  it('opt and env, with quoted, numeric and variable fallbacks', () => {
    const r = resolve(
      { a: '${opt:region}', b: "${env:MISSING, 'fallback, with comma'}", c: '${env:MISSING, 42}', d: '${env:MISSING, ${self:e}}', e: '${env:HOME_DIR}', f: '${env:MISSING, env:HOME_DIR}', g: '${opt:nope, "dq"}' },
      { options: { region: 'eu-west-3' }, env: { HOME_DIR: '/home/x' } },
    );
    assert.deepEqual([r.a, r.b, r.c, r.d, r.e, r.f, r.g], ['eu-west-3', 'fallback, with comma', 42, '/home/x', '/home/x', '/home/x', 'dq']);
  });

  it('file: whole YAML/JSON, a :path inside, a path built from another variable, text files, missing files fall back', () => {
    const r = resolve({
      whole: '${file(./settings.yml)}',
      table: '${file(./settings.yml):table}',
      deep: '${file(settings.yml):nested.deep}',
      creds: '${file(./settings.${sls:stage}.json):creds}',
      text: '${file(./notes.txt)}',
      missing: "${file(./nope.yml):x, 'default'}",
    }, { options: { stage: 'prod' } });
    assert.deepEqual(r.whole, { table: 'chat-prod', nested: { deep: 7 }, ref: { Ref: 'Api' } });
    assert.equal(r.table, 'chat-prod');
    assert.equal(r.deep, 7);
    assert.equal(r.creds, 'prod-creds');
    assert.equal(r.text, 'plain text');
    assert.equal(r.missing, 'default');
  });

  it('param: --param, then stages.<stage>.params, params.<stage>, stages.default.params, params.default', () => {
    const doc = { provider: { stage: 'prod' }, params: { default: { a: 'pd', b: 'pd', c: 'pd', d: 'pd' }, prod: { a: 'p-prod', b: 'p-prod' } }, stages: { default: { params: { a: 'sd', b: 'sd', c: 'sd' } }, prod: { params: { a: 's-prod' } } }, v: ['${param:a}', '${param:b}', '${param:c}', '${param:d}', '${param:e, "none"}', '${param:cli}'] };
    assert.deepEqual(resolve(doc, { params: { cli: 'from-cli' } }).v, ['s-prod', 'p-prod', 'sd', 'pd', 'none', 'from-cli']);
    assert.equal(resolve(doc, { params: { a: 'cli-wins', cli: '' } }).v[0], 'cli-wins');
  });

  it('strToBool, with a nested variable as its argument', () => {
    const r = resolve({ a: '${strToBool(true)}', b: '${strToBool(0)}', c: '${strToBool(${env:FLAG})}' }, { env: { FLAG: 'FALSE' } });
    assert.deepEqual([r.a, r.b, r.c], [true, false, false]);
    assert.match(errorOf({ a: '${strToBool(yes)}' }), /a: .*strToBool expects true, false, 1 or 0/);
  });

  it('aws:region and aws:accountId have local values', () => {
    assert.deepEqual(resolve({ provider: { region: 'ap-south-1' }, v: ['${aws:region}', '${aws:accountId}'] }).v, ['ap-south-1', '123456789012']);
  });

  it('CloudFormation\'s own ${…} stay as written', () => {
    const doc = { sub: { 'Fn::Sub': 'arn:${AWS::Partition}:${TableName}/${Api.Arn}/${!Literal}' }, plain: '${NotAVariable}' };
    assert.deepEqual(resolve(doc), doc);
  });

  it('references inside text become text; objects there are refused with the key path', () => {
    assert.equal(resolve({ n: 3, s: 'n=${self:n}, b=${strToBool(1)}' }).s, 'n=3, b=true');
    assert.match(errorOf({ o: { a: 1 }, functions: { f: { name: 'x-${self:o}' } } }), /serverless\.yml: functions\.f\.name: .*object or list/);
  });
});

describe('serverless variables: errors', () => {
  it('a source that needs AWS names the variable, the key path, and both ways to give it a value', () => {
    for (const v of ['${ssm:/chat/secret}', '${cf:stack.Output}', '${s3:bucket/key}', '${aws:ssm:/x}', '${output:other.key}']) {
      const msg = errorOf({ functions: { send: { environment: { SECRET: v } } } });
      assert.match(msg, /^serverless\.yml: functions\.send\.environment\.SECRET: /, msg);
      assert.ok(msg.includes(v), msg);
      assert.ok(msg.includes(`${v.slice(0, -1)}, 'local-value'}`), msg);
      assert.ok(msg.includes('needs '), msg);
      assert.ok(msg.includes('--set functions.send.environment.SECRET=VALUE'), msg);
    }
  });

  it('a fallback keeps a remote source from being asked', () => {
    assert.equal(resolve({ v: "${ssm:/chat/secret, 'local'}" }).v, 'local');
    assert.equal(resolve({ v: '${env:SECRET, ssm:/chat/secret}' }, { env: { SECRET: 's' } }).v, 's');
    assert.equal(resolve({ v: "${ssm:/a, ${cf:stack.out}, env:SECRET, 'last'}" }, { env: { SECRET: 's' } }).v, 's');
    assert.match(errorOf({ v: '${env:SECRET, ssm:/chat/secret}' }), /needs AWS Systems Manager/);
  });

  it('unknown sources, missing values and bad fallbacks are errors naming the key', () => {
    assert.match(errorOf({ a: { b: '${vaultz:x}' } }), /a\.b: .*unknown variable source "vaultz"/);
    assert.match(errorOf({ a: '${env:NOPE}' }), /a: .*environment variable NOPE is not set.*\$\{env:NOPE, 'value'\}/);
    assert.match(errorOf({ a: '${opt:nope}' }), /a: .*option --nope was not given/);
    assert.match(errorOf({ a: '${self:custom.none}' }), /a: .*custom\.none is not set/);
    assert.match(errorOf({ a: '${env:NOPE, bare}' }), /a: .*neither a quoted literal/);
    assert.match(errorOf({ a: '${file(./x.js):k}' }), /a: .*JavaScript\/TypeScript files are not evaluated/);
  });

  it('cycles are detected and shown', () => {
    assert.match(errorOf({ a: '${self:b}', b: '${self:c}', c: '${self:a}' }), /cycle: a -> b -> c -> a/);
    assert.match(errorOf({ custom: { x: { y: '${self:custom.x}' } } }), /cycle/);
    assert.match(errorOf({ provider: { stage: '${sls:stage}' }, v: '${sls:stage}' }), /cycle/);
  });

  it('recursion is bounded', () => {
    const doc: Record<string, unknown> = {};
    for (let i = 0; i < MAX_DEPTH + 5; i++) doc[`k${i}`] = `\${self:k${i + 1}}`;
    doc[`k${MAX_DEPTH + 5}`] = 'end';
    assert.match(errorOf(doc), /more than 64 levels/);
    const shallow: Record<string, unknown> = { k0: '${self:k1}', k1: '${self:k2}', k2: 'end' };
    assert.equal(resolve(shallow).k0, 'end');
  });
});

describe('serverless variables: properties', () => {
  // Text that survives as a quoted literal: no quote, no braces, no dollar.
  const literal = fc.string({ maxLength: 20 }).filter((s) => !/['"${}\\]/.test(s) && s.trim() === s && s !== '');

  it('a chain of unset variables ends at its quoted default, however deeply nested', () => {
    fc.assert(
      fc.property(literal, fc.integer({ min: 0, max: 20 }), (value, depth) => {
        let expr = `'${value}'`;
        for (let i = depth; i >= 0; i--) expr = `\${env:UNSET_${i}, ${expr}}`;
        assert.equal(resolve({ v: expr }).v, value);
      }),
    );
  });

  it('among fallbacks, the first that has a value wins', () => {
    fc.assert(
      fc.property(fc.array(fc.option(literal, { nil: undefined }), { minLength: 1, maxLength: 6 }), literal, (values, last) => {
        const env: Record<string, string> = {};
        values.forEach((v, i) => v !== undefined && (env[`V${i}`] = v));
        const expr = `\${${values.map((_, i) => `env:V${i}`).join(', ')}, '${last}'}`;
        const expected = values.find((v) => v !== undefined) ?? last;
        assert.equal(resolve({ v: expr }, { env }).v, expected);
      }),
    );
  });

  it('text without variables is left exactly as it was', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((s) => !s.includes('${')), (s) => {
        assert.equal(resolve({ v: s }).v, s);
      }),
    );
  });
});

describe('.env files', () => {
  it('parses dotenv syntax', () => {
    assert.deepEqual({ ...parseDotenv('# c\nA=1\nexport B = two words \nC="q\\nline"\nD=\'$raw\'\nE=x # comment\n') }, { A: '1', B: 'two words', C: 'q\nline', D: '$raw', E: 'x' });
  });

  it('reads .env.{stage} instead of .env when it exists; the environment wins; references expand', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sb-dotenv-'));
    writeFileSync(path.join(d, '.env'), 'A=base\nB=${A}-b\n');
    writeFileSync(path.join(d, '.env.prod'), 'A=prod\nC=$A/${UNSET:-dflt}\n');
    assert.deepEqual({ ...loadDotenv(d, 'dev', {}).values }, { A: 'base', B: 'base-b' });
    assert.deepEqual({ ...loadDotenv(d, 'prod', {}).values }, { A: 'prod', C: 'prod/dflt' });
    assert.deepEqual({ ...loadDotenv(d, 'dev', { A: 'shell' }).values }, { B: 'shell-b' });
  });
});
