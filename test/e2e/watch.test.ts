// `switchboard start --watch`: editing a handler file (or a local module it imports) changes
// what the next message gets, while the open connection stays open; a syntax error keeps the old
// code and is logged; TypeScript handlers reload too.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.js';
import { TestClient, until } from '../helpers/client.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-watch-'));
const file = (name: string) => path.join(dir, name);

function writeHandlers(version: string, lib = 'lib1'): void {
  writeFileSync(file('lib.mjs'), `export const libVersion = ${JSON.stringify(lib)};\n`);
  writeFileSync(file('h.mjs'), `import { libVersion } from './lib.mjs';\nexport const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(version)} + '/' + libVersion });\n`);
}

/** Sends `action` until the answer is `want` (a reload is asynchronous), returning every answer seen. */
async function answerBecomes(client: TestClient, action: string, want: string, timeoutMs = 30_000): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = (await client.request({ action }, 20_000)).text;
    seen.push(text);
    if (text === want) return seen;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`answer never became ${want}; saw ${seen.slice(-3).join(', ')}`);
}

/** A gateway process started with `--watch` over `routes`, a client connected, once it watches. */
async function startWatching(routes: NonNullable<ConfigInput['routes']>): Promise<{ gw: GatewayProcess; client: TestClient }> {
  const gw = await startGatewayProcess({ routes }, { args: ['--watch'] });
  const client = await TestClient.connect(gw.url);
  await until(() => gw.logRecords().some((r) => /watching \d+ handler files/.test(r.msg ?? '')), 'the watching log line', 20_000);
  return { gw, client };
}

describe('--watch', () => {
  let gw: GatewayProcess;
  let client: TestClient;

  before(async () => {
    writeHandlers('v1');
    writeFileSync(file('t.ts'), `const n: number = 1;\nexport async function handler() { return { statusCode: 200, body: 'ts' + n }; }\n`);
    ({ gw, client } = await startWatching({ js: { handler: file('h.mjs'), routeResponse: true }, ts: { handler: `${file('t.ts')}#handler`, routeResponse: true } }));
  });

  after(async () => {
    client?.ws.close();
    await gw?.stop();
  });

  it('an edited handler answers the next message with the new code; the connection stays open', async () => {
    assert.equal((await client.request({ action: 'js' }, 20_000)).text, 'v1/lib1');
    writeHandlers('v2');
    await answerBecomes(client, 'js', 'v2/lib1');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await until(() => gw.logRecords().some((r) => /reloaded \d+ handler module/.test(r.msg ?? '')), 'the reload log line', 20_000);
  });

  it('an edited local import is reloaded too', async () => {
    writeHandlers('v2', 'lib2');
    await answerBecomes(client, 'js', 'v2/lib2');
  });

  it('a syntax error keeps the old code and logs the error; fixing it loads the new code', async () => {
    writeFileSync(file('h.mjs'), `export const handler = async ( => 'broken';\n`);
    await until(() => gw.logRecords().some((r) => /reload failed, keeping the old code/.test(r.msg ?? '') && String(r.file).endsWith('h.mjs')), 'the reload-failed log line', 30_000);
    assert.equal((await client.request({ action: 'js' }, 20_000)).text, 'v2/lib2');
    writeHandlers('v3', 'lib2');
    await answerBecomes(client, 'js', 'v3/lib2');
    assert.equal(client.ws.readyState, client.ws.OPEN);
  });

  it('TypeScript handlers reload through tsx', async () => {
    assert.equal((await client.request({ action: 'ts' }, 20_000)).text, 'ts1');
    writeFileSync(file('t.ts'), `const n: number = 2;\nexport async function handler() { return { statusCode: 200, body: 'ts' + n }; }\n`);
    await answerBecomes(client, 'ts', 'ts2');
    assert.ok(gw.alive());
  });
});

describe('--watch with worker-isolated functions and per-function environments', () => {
  const wdir = mkdtempSync(path.join(tmpdir(), 'sb-watch-w-'));
  const wfile = (name: string) => path.join(wdir, name);
  let gw: GatewayProcess;
  let client: TestClient;

  /** A worker function: answers its version and its local import's; `hold` waits until the `release` file exists. */
  function writeWorker(version: string, lib = 'wlib1'): void {
    writeFileSync(wfile('wlib.mjs'), `export const libVersion = ${JSON.stringify(lib)};\n`);
    writeFileSync(
      wfile('w.mjs'),
      `import { existsSync } from 'node:fs';\nimport { isMainThread } from 'node:worker_threads';\nimport { libVersion } from './wlib.mjs';\n` +
        `export const handler = async (event) => {\n` +
        `  if (JSON.parse(event.body).hold) while (!existsSync(${JSON.stringify(wfile('release'))})) await new Promise((r) => setTimeout(r, 20));\n` +
        `  return { statusCode: 200, body: ${JSON.stringify(version)} + '/' + libVersion + (isMainThread ? '/main' : '/worker') };\n};\n`,
    );
  }
  /** An in-process function with its own environment, read at load time and during the call. */
  function writeEnvFn(version: string): void {
    writeFileSync(wfile('e.mjs'), `const atLoad = process.env.GREETING;\nexport const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(version)} + ':' + atLoad + ':' + process.env.GREETING });\n`);
  }

  before(async () => {
    writeWorker('w1');
    writeEnvFn('e1');
    ({ gw, client } = await startWatching({
      wk: { handler: wfile('w.mjs'), isolation: 'worker', routeResponse: true, timeoutMs: 60_000 },
      envfn: { handler: wfile('e.mjs'), environment: { GREETING: 'hello' }, routeResponse: true },
    }));
  });

  after(async () => {
    client?.ws.close();
    await gw?.stop();
  });

  it('an edited worker function answers the next message with the new code, in a worker; a call running meanwhile finishes on the old code', async () => {
    assert.equal((await client.request({ action: 'wk' }, 20_000)).text, 'w1/wlib1/worker');
    const holder = await TestClient.connect(gw.url);
    holder.send({ action: 'wk', hold: true });
    // The held call has reached its worker once a second call needs a second worker (still w1).
    assert.equal((await client.request({ action: 'wk' }, 20_000)).text, 'w1/wlib1/worker');
    writeWorker('w2');
    await answerBecomes(client, 'wk', 'w2/wlib1/worker');
    await until(() => gw.logRecords().some((r) => /restarted the workers of 1 handler module/.test(r.msg ?? '')), 'the restart log line', 20_000);
    writeFileSync(wfile('release'), '');
    assert.equal((await holder.next(30_000)).text, 'w1/wlib1/worker', 'the running call was not dropped');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    assert.equal(holder.ws.readyState, holder.ws.OPEN);
    holder.ws.close();
  });

  it('an edited local import of a worker function restarts its workers too', async () => {
    writeWorker('w2', 'wlib2');
    await answerBecomes(client, 'wk', 'w2/wlib2/worker');
  });

  it('a worker function that no longer loads keeps its old workers and logs why; fixing it loads the new code', async () => {
    writeFileSync(wfile('w.mjs'), `export const handler = async ( => 'broken';\n`);
    await until(() => gw.logRecords().some((r) => /reload failed, keeping the old code/.test(r.msg ?? '') && String(r.file).endsWith('w.mjs')), 'the reload-failed log line', 30_000);
    assert.equal((await client.request({ action: 'wk' }, 20_000)).text, 'w2/wlib2/worker');
    writeWorker('w3', 'wlib2');
    await answerBecomes(client, 'wk', 'w3/wlib2/worker');
    assert.ok(gw.alive());
  });

  it('a reloaded in-process function still runs in its own environment, also for values read at load time', async () => {
    assert.equal((await client.request({ action: 'envfn' }, 20_000)).text, 'e1:hello:hello');
    writeEnvFn('e2');
    await answerBecomes(client, 'envfn', 'e2:hello:hello');
  });
});
