// The package as users get it: the compiled `dist/` (npm test builds it first), the `switchboard`
// command from package.json `bin`, and the `switchboard` / `switchboard/client` exports resolved by
// package name, not by source path.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { CREDS, ROOT } from '../helpers/gateway.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BIN = path.join(ROOT, pkg.bin.switchboard);
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, AWS_REGION: 'us-east-1', ADMIN_PORT: '0' };

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe('the package as installed: dist, bin and exports', () => {
  let server: ChildProcess;
  let url: string;
  let endpoint: string;
  let exited: Promise<number | null>;

  before(async () => {
    // The bundled example, started by the compiled command, with the shell's keys accepted.
    server = spawn(process.execPath, [BIN, 'start', '--config', 'examples/switchboard.yaml', '--port', '0'], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 15 s:\n${out}`)), 15_000);
      server.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Switchboard listening on (ws:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    endpoint = url.replace('ws://', 'http://');
  });

  after(async () => {
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
  });

  it('exports createGateway from "switchboard" and SwitchboardClient from "switchboard/client"', async () => {
    const main = await import('switchboard');
    const client = await import('switchboard/client');
    assert.equal(typeof main.createGateway, 'function');
    assert.equal(typeof client.SwitchboardClient, 'function');
    assert.match(String(import.meta.resolve('switchboard/client')), /\/dist\/client\/index\.js$/);
  });

  it('the compiled command serves the example and manages it: connections ls, send, close with a code', async () => {
    const c = await TestClient.connect(url);
    const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
    assert.equal((await c.request({ action: 'echo', text: 'hi' })).text, '{"action":"echo","text":"hi"}');

    const ls = await run(['connections', 'ls', '--json', '--endpoint', endpoint]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout).items.map((x: any) => x.connectionId), [id]);

    const send = await run(['connections', 'send', id, 'pushed', '--endpoint', endpoint]);
    assert.equal(send.code, 0, send.stderr);
    assert.equal((await c.next()).text, 'pushed');

    const close = await run(['connections', 'close', id, '--code', '4001', '--reason', 'password changed', '--endpoint', endpoint]);
    assert.equal(close.code, 0, close.stderr);
    assert.deepEqual(await c.waitClose(), { code: 4001, reason: 'password changed' });

    const gone = await run(['connections', 'get', id, '--endpoint', endpoint]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /GoneException|410/);
  });

  it('the compiled gateway serves the dashboard from dist/admin-ui (the build copies it; package.json files ships dist)', async () => {
    const { createGateway } = await import('switchboard');
    const gw = await createGateway({ config: { routes: {}, admin: { host: '127.0.0.1', port: 0, token: 'package-test-token-0123' }, logging: { level: 'silent' }, handlerEnvironment: false }, port: 0 });
    try {
      for (const [file, type] of [['', /text\/html/], ['dashboard.js', /javascript/], ['dashboard.css', /text\/css/]] as const) {
        const res = await fetch(`${gw.adminUrl}/${file}`);
        assert.equal(res.status, 200, file);
        assert.match(res.headers.get('content-type') ?? '', type, file);
      }
    } finally {
      await gw.close();
    }
    assert.ok(pkg.files.includes('dist'));
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const c = await TestClient.connect(url);
    server.kill('SIGTERM');
    assert.equal((await c.waitClose()).code, 1001);
    assert.equal(await exited, 0);
  });
});
