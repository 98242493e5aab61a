import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { FIXTURES, ROOT } from '../helpers/gateway.js';
import { switchboardArgv } from '../helpers/process.js';


/** Runs the real `switchboard` command and collects its output. */
function run(args: string[], opts: { untilLine?: RegExp; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(process.execPath, switchboardArgv(args), { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const line = new Promise<string>((resolve, reject) => {
    if (!opts.untilLine) return;
    const check = () => {
      const m = opts.untilLine!.exec(stdout);
      if (m) resolve(m[0]);
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`exited before printing ${opts.untilLine}: ${stdout}\n${stderr}`)));
  });
  return { child, exited, line, out: () => ({ stdout, stderr }) };
}

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-cli-'));
  const file = path.join(dir, 'switchboard.yaml');
  writeFileSync(file, text);
  return file;
}

describe('switchboard command', () => {
  it('rejects a bad configuration before listening, naming each key, with a non-zero exit', async () => {
    const file = configFile(`stage: "bad stage"\nport: 99999\nlimits:\n  idleTimeoutSeconds: -1\n  frameBytez: 10\nroutes:\n  echo:\n    handler: "no hash here#1bad"\n`);
    const r = run(['start', '--config', file]);
    const code = await r.exited;
    assert.notEqual(code, 0);
    const { stderr, stdout } = r.out();
    assert.equal(stdout, '', 'nothing printed as listening');
    for (const key of ['stage', 'port', 'limits.idleTimeoutSeconds', 'limits', 'routes.echo.handler']) assert.match(stderr, new RegExp(`\\b${key.replace('.', '\\.')}: `), `names ${key}`);
    assert.match(stderr, /frameBytez/);
  });

  it('rejects a handler module that does not exist, and an export that does not exist', async () => {
    const missing = run(['start', '--config', configFile(`routes:\n  echo:\n    handler: ./nowhere.ts#handler\n`)]);
    assert.equal(await missing.exited, 2);
    assert.match(missing.out().stderr, /cannot find handler module "\.\/nowhere\.ts": tried .*nowhere\.ts, .*nowhere\.ts\.js/);
    const file = configFile(`routes:\n  echo:\n    handler: ${path.join(FIXTURES, 'handlers.ts')}#noSuchExport\n`);
    const noExport = run(['start', '--config', file]);
    assert.equal(await noExport.exited, 2);
    assert.match(noExport.out().stderr, /handlers\.ts has no export "noSuchExport"/);
  });

  it('rejects a missing file, invalid YAML and an unset environment variable', async () => {
    const none = run(['start', '--config', '/nonexistent/switchboard.yaml']);
    assert.notEqual(await none.exited, 0);
    assert.match(none.out().stderr, /cannot read configuration file/);
    const yaml = run(['start', '--config', configFile('routes: [unclosed\n')]);
    assert.notEqual(await yaml.exited, 0);
    assert.match(yaml.out().stderr, /not valid YAML/);
    const env = run(['start', '--config', configFile('port: ${SB_SURELY_UNSET_VAR}\n')]);
    assert.notEqual(await env.exited, 0);
    assert.match(env.out().stderr, /SB_SURELY_UNSET_VAR is not set/);
  });

  it('starts on --port 0, prints the chosen URL on one line, serves, and drains on SIGTERM', async () => {
    const file = configFile(`routes:\n  $default:\n    handler: ${path.join(FIXTURES, 'handlers.ts')}#echo\n    routeResponse: true\n`);
    const r = run(['start', '--config', file, '--port', '0'], { untilLine: /^Switchboard listening on (ws:\/\/127\.0\.0\.1:\d+\/dev)$/m });
    const line = await r.line;
    const url = line.replace('Switchboard listening on ', '');
    const c = await TestClient.connect(url);
    assert.equal((await c.request('hello')).text, 'hello');
    r.child.kill('SIGTERM');
    assert.deepEqual(await c.waitClose(), { code: 1001, reason: 'Going away' });
    assert.equal(await r.exited, 0);
  });

  it('takes the port from PORT in the bundled example and prints how to connect', async () => {
    const r = run(['start', '--config', path.join(ROOT, 'examples', 'switchboard.yaml')], { env: { PORT: '0', ADMIN_PORT: '0' }, untilLine: /admin token: +\S+/ });
    const line = await r.line;
    assert.match(r.out().stdout.split('\n')[0]!, /^Switchboard listening on ws:\/\/127\.0\.0\.1:\d+\/dev$/);
    // The example turns the admin listener on; with no ADMIN_TOKEN a token is generated and printed.
    const admin = /admin: +(http:\/\/127\.0\.0\.1:\d+)/.exec(r.out().stdout)?.[1];
    assert.ok(admin, r.out().stdout);
    const token = /admin token: +(\S+)/.exec(line)![1]!;
    assert.equal((await fetch(`${admin}/health`)).status, 200);
    assert.equal((await fetch(`${admin}/metrics`)).status, 401);
    assert.equal((await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    r.child.kill('SIGTERM');
    const code = await r.exited;
    assert.equal(code, 0, JSON.stringify(r.out()));
  });

  it('prints usage and exits non-zero for an unknown command', async () => {
    const r = run(['frobnicate']);
    assert.equal(await r.exited, 2);
    assert.match(r.out().stderr, /unknown command "frobnicate"/);
  });
});
