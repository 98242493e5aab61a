// The `switchboard` commands no other test runs: help, principals ls/send, groups remove and
// close with --code, start without --config, a bad --port, an address in use, an unreachable
// gateway, and the first output line of `start`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, FIXTURES, ROOT, startGateway } from '../helpers/gateway.js';
import { call } from '../helpers/signed.js';
import { switchboardArgv } from '../helpers/process.js';

const H = './handlers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command to its end, with the test credentials in its environment. */
function sb(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, switchboardArgv(args), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-cli-more-'));
  const file = path.join(dir, 'switchboard.yaml');
  writeFileSync(file, text);
  return file;
}

const ECHO_CONFIG = () => configFile(`routes:\n  $default:\n    handler: ${path.join(FIXTURES, 'handlers.ts')}#echo\n    routeResponse: true\n`);

describe('switchboard help and start errors', () => {
  it('help prints the usage with every command on stdout and exits 0; no command prints it and exits 2', async () => {
    const help = await sb(['help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    for (const cmd of ['start --config FILE', 'connections ls', 'principals send USER DATA', 'groups remove GROUP ID', 'broadcast DATA']) assert.ok(help.stdout.includes(cmd), cmd);
    const none = await sb([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, help.stdout);
  });

  it('start without --config exits 2 and says so', async () => {
    const r = await sb(['start']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^switchboard: start needs --config FILE, --template FILE or --serverless \[PATH\]\n/);
    assert.equal(r.stdout, '');
  });

  it('a bad --port exits 2 naming the value, without listening', async () => {
    for (const bad of ['abc', '70000', '-1', '80.5']) {
      const r = await sb(['start', '--config', ECHO_CONFIG(), `--port=${bad}`]);
      assert.equal(r.code, 2, bad);
      assert.equal(r.stderr, `switchboard: --port expects a number from 0 to 65535, got "${bad}"\n`, bad);
      assert.equal(r.stdout, '', bad);
    }
  });

  it('an address in use exits 1 with "cannot listen", before printing the listening line', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await sb(['start', '--config', ECHO_CONFIG(), '--port', String(port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^switchboard: cannot listen: .*EADDRINUSE/m);
      assert.equal(r.stdout, '');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('the first line start prints is "Switchboard listening on ws://HOST:PORT/STAGE"', async () => {
    const child = spawn(process.execPath, switchboardArgv(['start', '--config', ECHO_CONFIG(), '--port', '0']), { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => stdout.includes('\n'), 'the first line', 20_000);
      const first = stdout.slice(0, stdout.indexOf('\n'));
      assert.match(first, /^Switchboard listening on ws:\/\/127\.0\.0\.1:\d+\/dev$/);
      const c = await TestClient.connect(first.slice('Switchboard listening on '.length));
      assert.equal((await c.request('first line works')).text, 'first line works');
      c.close();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('switchboard management subcommands not covered elsewhere', () => {
  let gw: Gateway;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${H}#connectAs` }, whoami: { handler: `${H}#whoami`, routeResponse: true } } });
    env = { SWITCHBOARD_ENDPOINT: gw.managementEndpoint };
  });
  after(() => gw.close());

  async function connect(query = ''): Promise<{ c: TestClient; id: string }> {
    const c = await TestClient.connect(`${gw.url}${query}`);
    return { c, id: JSON.parse((await c.request({ action: 'whoami' })).text).connectionId };
  }

  it('principals ls lists one user\'s connections (table and --json); principals send reaches them and says how many', async () => {
    const a = await connect('?user=gina');
    const b = await connect('?user=gina');
    const other = await connect('?user=hank');
    try {
      const table = await sb(['principals', 'ls', 'gina'], env);
      assert.equal(table.code, 0, table.stderr);
      assert.ok(table.stdout.includes(a.id) && table.stdout.includes(b.id));
      assert.ok(!table.stdout.includes(other.id));
      const listed = await sb(['principals', 'ls', 'gina', '--json'], env);
      assert.deepEqual(JSON.parse(listed.stdout).items.map((x: any) => x.connectionId).sort(), [a.id, b.id].sort());
      const sent = await sb(['principals', 'send', 'gina', 'hello gina', '--json'], env);
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(JSON.parse(sent.stdout), { sent: 2, failed: [] });
      assert.equal((await a.c.next()).text, 'hello gina');
      assert.equal((await b.c.next()).text, 'hello gina');
      await other.c.expectSilence(50);
    } finally {
      for (const x of [a, b, other]) x.c.ws.terminate();
    }
  });

  it('groups remove takes a member out; groups close --code --reason closes the rest with that code', async () => {
    const a = await connect('?groups=lobby');
    const b = await connect('?groups=lobby');
    try {
      const removed = await sb(['groups', 'remove', 'lobby', a.id], env);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, `removed ${a.id} from lobby\n`);
      assert.deepEqual((await call(gw, 'GET', '/@groups/lobby/connections')).json().items.map((x: any) => x.connectionId), [b.id]);
      const closed = await sb(['groups', 'close', 'lobby', '--code', '4100', '--reason', 'room closed'], env);
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.stdout, 'closed 1 connection of group lobby with 4100 "room closed"\n');
      assert.deepEqual(await b.c.waitClose(), { code: 4100, reason: 'room closed' });
      assert.equal(a.c.ws.readyState, 1, 'the removed member stays open');
    } finally {
      for (const x of [a, b]) x.c.ws.terminate();
    }
  });

  it('an unreachable gateway is exit 1 with "cannot reach the gateway"', async () => {
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r)); // nothing listens there now
    const r = await sb(['connections', 'ls', '--endpoint', `http://127.0.0.1:${port}/dev`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^switchboard: cannot reach the gateway: /);
    assert.equal(r.stdout, '');
  });
});
