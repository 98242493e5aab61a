// `switchboard start --watch`: editing a handler file (or a local module it imports) changes
// what the next message gets, while the open connection stays open; a syntax error keeps the old
// code and is logged; TypeScript handlers reload too.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
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

describe('--watch', () => {
  let gw: GatewayProcess;
  let client: TestClient;

  before(async () => {
    writeHandlers('v1');
    writeFileSync(file('t.ts'), `const n: number = 1;\nexport async function handler() { return { statusCode: 200, body: 'ts' + n }; }\n`);
    gw = await startGatewayProcess(
      { routes: { js: { handler: file('h.mjs'), routeResponse: true }, ts: { handler: `${file('t.ts')}#handler`, routeResponse: true } } },
      { args: ['--watch'] },
    );
    client = await TestClient.connect(gw.url);
    await until(() => gw.logRecords().some((r) => /watching \d+ handler files/.test(r.msg ?? '')), 'the watching log line', 20_000);
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
