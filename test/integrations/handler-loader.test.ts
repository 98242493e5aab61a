import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HandlerLoadError, loadHandler, PROBE_EXTENSIONS } from '../../src/integrations/handler.js';

/** Handler files laid out as Lambda projects have them, in a fresh folder. */
let dir: string;

function write(rel: string, text: string): void {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sb-loader-'));
  write('cjs/app.js', "exports.handler = async () => 'cjs-js'; exports.nested = { deeper: { fn: async () => 'cjs-nested' } };");
  write('esm/package.json', '{"type":"module"}');
  write('esm/app.js', "export const handler = async () => 'esm-js'; export const handlers = { send: async () => 'esm-nested' }; export const notFn = 42;");
  write('mjs/app.mjs', "export const handler = async () => 'mjs';");
  write('cjsx/app.cjs', "module.exports = { handler: async () => 'cjs', group: { one: async () => 'cjs-group' } };");
  write('ts/app.ts', "export const handler = async (): Promise<string> => 'ts'; export const api = { v1: { connect: async (): Promise<string> => 'ts-nested' } };");
  write('bare/app', "exports.handler = async () => 'extensionless';");
  // Both exist: .js wins over .ts, as Lambda probes .js first.
  write('both/app.js', "exports.handler = async () => 'both-js';");
  write('both/app.ts', "export const handler = async (): Promise<string> => 'both-ts';");
  write('broken/app.js', 'this is not javascript');
  write('dflt/app.mjs', "export default { handler: async () => 'default-object' };");
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function call(ref: string): Promise<unknown> {
  const { fn } = await loadHandler(ref, dir);
  return fn({}, {});
}

describe('handler loader', () => {
  it('probes extensions in Lambda order: as given, .js, .mjs, .cjs, then TypeScript', () => {
    assert.deepEqual(PROBE_EXTENSIONS.slice(0, 5), ['', '.js', '.mjs', '.cjs', '.ts']);
  });

  it('loads an extensionless reference as .js (CommonJS without "type": "module")', async () => {
    assert.equal(await call('./cjs/app#handler'), 'cjs-js');
    const loaded = await loadHandler('./cjs/app', dir);
    assert.equal(loaded.file, path.join(dir, 'cjs/app.js'));
    assert.equal(loaded.exportName, 'handler');
  });

  it('loads .js as ESM under a package.json with "type": "module"', async () => {
    assert.equal(await call('esm/app#handler'), 'esm-js');
  });

  it('finds .mjs, .cjs and .ts modules', async () => {
    assert.equal(await call('./mjs/app#handler'), 'mjs');
    assert.equal(await call('./cjsx/app#handler'), 'cjs');
    assert.equal(await call('./ts/app#handler'), 'ts');
  });

  it('loads a file that exists exactly as named, even without an extension', async () => {
    assert.equal(await call('./bare/app#handler'), 'extensionless');
  });

  it('prefers .js over .ts when both exist', async () => {
    assert.equal(await call('./both/app#handler'), 'both-js');
  });

  it('still takes an explicit extension', async () => {
    assert.equal(await call('./both/app.ts#handler'), 'both-ts');
  });

  it('resolves nested export paths in ESM, CommonJS and TypeScript modules', async () => {
    assert.equal(await call('./esm/app#handlers.send'), 'esm-nested');
    assert.equal(await call('./cjs/app#nested.deeper.fn'), 'cjs-nested');
    assert.equal(await call('./cjsx/app#group.one'), 'cjs-group');
    assert.equal(await call('./ts/app#api.v1.connect'), 'ts-nested');
    assert.equal(await call('./dflt/app#handler'), 'default-object');
  });

  it('names every path tried when no file exists', async () => {
    await assert.rejects(loadHandler('./nope/app#handler', dir), (err: Error) => {
      assert.ok(err instanceof HandlerLoadError);
      for (const ext of ['', '.js', '.mjs', '.cjs', '.ts']) assert.ok(err.message.includes(path.join(dir, 'nope/app') + ext), err.message);
      return true;
    });
  });

  it('names the file and the export when the export is missing', async () => {
    await assert.rejects(loadHandler('./esm/app#missing', dir), (err: Error) => err instanceof HandlerLoadError && err.message.includes(path.join(dir, 'esm/app.js')) && err.message.includes('"missing"') && err.message.includes('handlers'));
    await assert.rejects(loadHandler('./esm/app#handlers.nope', dir), (err: Error) => err instanceof HandlerLoadError && err.message.includes('"handlers" has no property "nope"') && err.message.includes('send'));
    await assert.rejects(loadHandler('./esm/app#notFn', dir), (err: Error) => err instanceof HandlerLoadError && err.message.includes('"notFn" is a number, not a function'));
  });

  it('names the file when the module does not load', async () => {
    await assert.rejects(loadHandler('./broken/app#handler', dir), (err: Error) => err instanceof HandlerLoadError && err.message.includes(path.join(dir, 'broken/app.js')));
  });
});
