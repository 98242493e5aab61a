import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { CREDS, ROOT, startGateway } from '../helpers/gateway.js';
import { switchboardArgv } from '../helpers/process.js';

const H = './handlers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `switchboard` command with credentials in its environment, as a shell would. */
function sb(args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<Run> {
  const child = spawn(process.execPath, switchboardArgv(args), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

async function connect(gw: Gateway, query = ''): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`);
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

describe('switchboard management subcommands', () => {
  let gw: Gateway;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    gw = await startGateway({ routes: { $connect: { handler: `${H}#connectAs` }, whoami: { handler: `${H}#whoami`, routeResponse: true } } });
    env = { SWITCHBOARD_ENDPOINT: gw.managementEndpoint };
  });
  after(() => gw.close());

  it('connections ls prints a table, --json the listing, --principal filters; --endpoint and the AWS variable work too', async () => {
    const alice = await connect(gw, '?user=alice&groups=room1');
    const bob = await connect(gw, '?user=bob');
    const [table, asJson, filtered, viaAwsVar] = await Promise.all([
      sb(['connections', 'ls'], env),
      sb(['connections', 'ls', '--json', '--all', '--limit', '1']),
      sb(['connections', 'ls', '--principal', 'alice', '--endpoint', gw.managementEndpoint]),
      sb(['connections', 'ls', '--group', 'room1', '--json'], { AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: gw.managementEndpoint }),
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^CONNECTION ID\s+PRINCIPAL\s+GROUPS\s+CONNECTED AT\s+LAST ACTIVE AT\s+SOURCE IP$/);
    assert.equal(lines.length, 3);
    assert.match(table.stdout, new RegExp(`^${alice.id}\\s+alice\\s+room1\\s+\\d{4}-`, 'm'));
    assert.match(table.stdout, new RegExp(`^${bob.id}\\s+bob\\s+-\\s+`, 'm'));

    assert.equal(asJson.code, 2, 'no endpoint: usage error');
    assert.match(asJson.stderr, /no endpoint/);

    assert.equal(filtered.code, 0, filtered.stderr);
    assert.equal(filtered.stdout.trimEnd().split('\n').length, 2);
    assert.match(filtered.stdout, new RegExp(alice.id));

    assert.equal(viaAwsVar.code, 0, viaAwsVar.stderr);
    const listing = JSON.parse(viaAwsVar.stdout);
    assert.deepEqual(listing.items.map((x: any) => x.connectionId), [alice.id]);
    assert.equal(listing.items[0].principalId, 'alice');

    const paged = await sb(['connections', 'ls', '--json', '--all', '--limit', '1'], env);
    assert.equal(paged.code, 0, paged.stderr);
    assert.deepEqual(JSON.parse(paged.stdout).items.map((x: any) => x.connectionId).sort(), [alice.id, bob.id].sort());
    const onePage = await sb(['connections', 'ls', '--limit', '1'], env);
    assert.match(onePage.stderr, /--next-token \S+/);
    alice.c.close();
    bob.c.close();
    await until(() => gw.connectionCount() === 0, 'closed');
    assert.equal((await sb(['connections', 'ls'], env)).stdout, 'no connections\n');
  });

  it('nodes ls lists the one node of a single gateway with its connection count', async () => {
    const { c } = await connect(gw, '?user=carol');
    const [table, asJson] = await Promise.all([sb(['nodes', 'ls'], env), sb(['nodes', 'ls', '--json'], env)]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NODE +STATE +CONNECTIONS/);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, new RegExp(`^local \\* +alive +${gw.connectionCount()} `));
    const items = JSON.parse(asJson.stdout).items;
    assert.deepEqual(items.map((n: any) => [n.nodeId, n.state, n.self, n.connections]), [['local', 'alive', true, gw.connectionCount()]]);
    c.close();
  });

  it('connections get and send; a gone connection is exit 1 with GoneException on stderr', async () => {
    const { c, id } = await connect(gw);
    const [get, send, stdin] = await Promise.all([
      sb(['connections', 'get', id, '--json'], env),
      sb(['connections', 'send', id, 'hello from the shell'], env),
      sb(['connections', 'send', id, '-'], env, 'from stdin'),
    ]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(JSON.parse(get.stdout).identity.sourceIp, '127.0.0.1');
    assert.equal(send.code, 0, send.stderr);
    assert.equal(send.stdout, `sent to ${id}\n`);
    assert.deepEqual([(await c.next()).text, (await c.next()).text].sort(), ['from stdin', 'hello from the shell']);
    c.close();
    await until(() => gw.connectionCount() === 0, 'closed');
    const gone = await sb(['connections', 'send', id, 'x'], env);
    assert.equal(gone.code, 1);
    assert.equal(gone.stdout, '');
    assert.match(gone.stderr, /^switchboard: GoneException \(410\)/);
  });

  it('connections close sends the code and reason; an invalid code is exit 1 and closes nothing; a malformed one exit 2', async () => {
    const { c, id } = await connect(gw);
    const bad = await sb(['connections', 'close', id, '--code', '1006'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BadRequestException \(400\): Invalid close code/);
    const malformed = await sb(['connections', 'close', id, '--code', 'soon'], env);
    assert.equal(malformed.code, 2);
    const missing = await sb(['connections', 'close'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing ID/);
    assert.equal(c.ws.readyState, 1);
    const ok = await sb(['connections', 'close', id, '--code', '4002', '--reason', 'kicked by admin'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `closed ${id} with 4002 "kicked by admin"\n`);
    assert.deepEqual(await c.waitClose(), { code: 4002, reason: 'kicked by admin' });
  });

  it('principals close ends every session of one user, and says how many', async () => {
    const alice = await Promise.all([1, 2, 3].map(() => connect(gw, '?user=alice')));
    const bob = await connect(gw, '?user=bob');
    const r = await sb(['principals', 'close', 'alice', '--code', '4001', '--reason', 'password changed'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'closed 3 connections of alice with 4001 "password changed"\n');
    for (const a of alice) assert.deepEqual(await a.c.waitClose(), { code: 4001, reason: 'password changed' });
    assert.equal(bob.c.ws.readyState, 1);
    const again = await sb(['principals', 'close', 'alice', '--json'], env);
    assert.deepEqual(JSON.parse(again.stdout), { closed: 0 });
    bob.c.close();
  });

  it('groups and broadcast: add, ls, send with --exclude, broadcast --json', async () => {
    const a = await connect(gw);
    const b = await connect(gw);
    const [addA, addB] = await Promise.all([sb(['groups', 'add', 'room', a.id], env), sb(['groups', 'add', 'room', b.id], env)]);
    assert.equal(addA.stdout, `added ${a.id} to room\n`);
    assert.equal(addB.code, 0);
    const ls = await sb(['groups', 'ls', 'room', '--json'], env);
    assert.deepEqual(JSON.parse(ls.stdout).items.map((x: any) => x.connectionId).sort(), [a.id, b.id].sort());
    const send = await sb(['groups', 'send', 'room', 'to the room', '--exclude', a.id], env);
    assert.equal(send.stdout, 'sent to 1 connection\n');
    assert.equal((await b.c.next()).text, 'to the room');
    const all = await sb(['broadcast', 'everyone', '--json'], env);
    assert.deepEqual(JSON.parse(all.stdout), { sent: 2, failed: [] });
    assert.equal((await a.c.next()).text, 'everyone');
    const badGroup = await sb(['groups', 'add', 'no spaces', a.id], env);
    assert.equal(badGroup.code, 1);
    assert.match(badGroup.stderr, /BadRequestException/);
    const unknown = await sb(['groups', 'frobnicate'], env);
    assert.equal(unknown.code, 2);
    a.c.close();
    b.c.close();
  });

  it('wrong credentials are exit 1 with the AWS error type', async () => {
    const r = await sb(['connections', 'ls'], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /InvalidSignatureException \(403\)/);
  });
});
