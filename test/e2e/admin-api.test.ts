import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SwitchboardClient } from '../../src/client/index.js';
import type { Gateway } from '../../src/index.js';
import { adminApiRoutes } from '../../src/observability/admin-api.js';
import { TestClient, until } from '../helpers/client.js';
import { ROOT, startGateway } from '../helpers/gateway.js';
import { switchboardArgv } from '../helpers/process.js';

const H = './handlers.ts';
const TOKEN = 'admin-token-for-tests-0123456789';
const ROUTES = {
  $connect: { handler: `${H}#connectAs` },
  whoami: { handler: `${H}#whoami`, routeResponse: true },
  echo: { handler: `${H}#echo`, routeResponse: true },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One admin API call over real HTTP; `token: null` sends no Authorization header. */
async function admin(gw: Gateway, method: string, pathAndQuery: string, body?: string | Buffer, token: string | null = TOKEN): Promise<Answer> {
  const res = await request(`${gw.adminUrl}${pathAndQuery}`, { method: method as 'GET', body, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

async function connect(gw: Gateway, query = '', headers: Record<string, string> = {}): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect(`${gw.url}${query}`, { headers });
  const id = JSON.parse((await c.request({ action: 'whoami' })).text).connectionId as string;
  return { c, id };
}

const ids = (a: Answer) => a.json().items.map((x: any) => x.connectionId).sort();

describe('admin API: authentication', () => {
  let gw: Gateway;
  before(async () => (gw = await startGateway({ routes: ROUTES, admin: { host: '127.0.0.1', port: 0, token: TOKEN } })));
  after(() => gw.close());

  it('every /api route refuses a missing and a wrong token with 401, and does nothing', async () => {
    const { c, id } = await connect(gw, '?user=alice&groups=room');
    // The route table itself, so a route added later is covered without editing this test.
    const table = adminApiRoutes({ registry: {} as any, bus: {} as any, nodes: async () => [], messageBytes: 1, stats: () => ({ connections: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 }), counters: {} as any, logLimiter: {} as any });
    assert.ok(table.length >= 14, `${table.length} routes`);
    for (const route of table) {
      assert.equal(route.auth, true, `${route.method} ${route.path} requires the token`);
      const p = route.path.replace(':connectionId', id).replace(':principalId', 'alice').replace(':group', 'room');
      for (const token of [null, 'wrong-token-wrong-token-wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const res = await admin(gw, route.method, `${p}?code=4000`, 'data', token);
        assert.equal(res.status, 401, `${route.method} ${p} with ${token === null ? 'no' : 'a wrong'} token`);
      }
    }
    await c.expectSilence(100);
    assert.equal(c.ws.readyState, 1, 'nothing was sent or closed');
    assert.equal((await admin(gw, 'GET', `/api/connections/${id}`)).status, 200, 'the right token works');
    c.close();
  });
});

describe('admin API: operations against real clients', () => {
  let gw: Gateway;
  before(async () => (gw = await startGateway({ routes: ROUTES, admin: { host: '127.0.0.1', port: 0, token: TOKEN }, limits: { messageBytes: 4096 } })));
  after(() => gw.close());

  it('lists, filters by principal and group, pages with limit/nextToken, and searches id, principal, group, source IP and user agent', async () => {
    const a = await connect(gw, '?user=alice&groups=room-1', { 'user-agent': 'FancyBrowser/1.0' });
    const b = await connect(gw, '?user=bob&groups=room-1,room-2');
    const anon = await connect(gw);
    try {
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections')), [a.id, b.id, anon.id].sort());
      const alice = (await admin(gw, 'GET', '/api/connections?principal=alice')).json();
      assert.deepEqual(alice.items.map((x: any) => [x.connectionId, x.principalId, x.groups, x.identity.userAgent]), [[a.id, 'alice', ['room-1'], 'FancyBrowser/1.0']]);
      assert.match(alice.items[0].connectedAt, /^\d{4}-\d\d-\d\dT.*Z$/);
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections?group=room-1')), [a.id, b.id].sort());
      // Paging: one at a time, nothing lost or repeated.
      const seen: string[] = [];
      let next: string | undefined;
      do {
        const page = (await admin(gw, 'GET', `/api/connections?limit=1${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`)).json();
        seen.push(...page.items.map((x: any) => x.connectionId));
        next = page.nextToken;
      } while (next);
      assert.deepEqual(seen.sort(), [a.id, b.id, anon.id].sort());
      // Search, case-insensitive, over each field.
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections?search=fancybrowser')), [a.id]);
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections?search=BOB')), [b.id]);
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections?search=room-2')), [b.id]);
      assert.deepEqual(ids(await admin(gw, 'GET', `/api/connections?search=${anon.id}`)), [anon.id]);
      assert.equal((await admin(gw, 'GET', '/api/connections?search=127.0.0.1')).json().items.length, 3);
      assert.deepEqual(ids(await admin(gw, 'GET', '/api/connections?search=room&principal=alice')), [a.id]);
      // Search pages too: a page of one match, then the rest, nothing lost or repeated.
      const first = (await admin(gw, 'GET', '/api/connections?search=room&limit=1')).json();
      assert.equal(first.items.length, 1);
      assert.ok(first.nextToken);
      const rest = (await admin(gw, 'GET', `/api/connections?search=room&limit=5&nextToken=${encodeURIComponent(first.nextToken)}`)).json();
      assert.deepEqual([...first.items, ...rest.items].map((x: any) => x.connectionId).sort(), [a.id, b.id].sort());
      assert.equal(rest.nextToken, undefined);
      // The management API's refusals, as it answers them.
      for (const q of ['limit=0', 'limit=abc', 'nextToken=bogus', 'group=bad%20name', `search=${'x'.repeat(257)}`]) {
        const res = await admin(gw, 'GET', `/api/connections?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.headers['x-amzn-errortype'], 'BadRequestException', q);
        assert.ok(res.json().message, q);
      }
    } finally {
      for (const x of [a, b, anon]) x.c.close();
    }
  });

  it('gets, sends to and closes one connection with a code and reason; 400, 410 and 413 as on the management API', async () => {
    const { c, id } = await connect(gw, '?user=carol');
    const got = await admin(gw, 'GET', `/api/connections/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.json()).sort(), ['connectedAt', 'identity', 'lastActiveAt']);
    assert.equal((await admin(gw, 'POST', `/api/connections/${id}`, 'hello from admin')).status, 200);
    assert.equal((await c.next()).text, 'hello from admin');
    const tooLarge = await admin(gw, 'POST', `/api/connections/${id}`, 'x'.repeat(4097));
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.json().message, /4096 bytes/);
    for (const q of ['code=1001', 'code=abc', `reason=${'x'.repeat(124)}`]) {
      const bad = await admin(gw, 'DELETE', `/api/connections/${id}?${q}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.headers['x-amzn-errortype'], 'BadRequestException');
    }
    await c.expectSilence(100);
    assert.equal(c.ws.readyState, 1, 'an invalid close closes nothing');
    assert.equal((await admin(gw, 'DELETE', `/api/connections/${id}?code=4002&reason=${encodeURIComponent('kicked by admin')}`)).status, 204);
    assert.deepEqual(await c.waitClose(), { code: 4002, reason: 'kicked by admin' });
    for (const [method, p] of [['GET', `/api/connections/${id}`], ['POST', `/api/connections/${id}`], ['DELETE', `/api/connections/${id}`], ['GET', '/api/connections/nope']] as const) {
      const gone = await admin(gw, method, p, method === 'POST' ? 'late' : undefined);
      assert.equal(gone.status, 410, `${method} ${p}`);
      assert.equal(gone.headers['x-amzn-errortype'], 'GoneException');
      assert.equal(gone.text, '');
    }
    assert.ok(gw.counters.get('adminRefused', 400) >= 3, 'refusals counted under adminRefused');
  });

  it('principals: lists, sends to all but one, closes all with a code and reason', async () => {
    const d1 = await connect(gw, '?user=dave');
    const d2 = await connect(gw, '?user=dave');
    const other = await connect(gw, '?user=erin');
    assert.deepEqual(ids(await admin(gw, 'GET', '/api/principals/dave/connections')), [d1.id, d2.id].sort());
    const sent = await admin(gw, 'POST', `/api/principals/dave?exclude=${d2.id}`, 'to dave');
    assert.deepEqual(sent.json(), { sent: 1, failed: [] });
    assert.equal((await d1.c.next()).text, 'to dave');
    await d2.c.expectSilence(100);
    assert.equal((await admin(gw, 'DELETE', '/api/principals/dave?code=9999')).status, 400);
    assert.deepEqual((await admin(gw, 'DELETE', `/api/principals/dave?code=4001&reason=${encodeURIComponent('password changed')}`)).json(), { closed: 2 });
    assert.deepEqual(await d1.c.waitClose(), { code: 4001, reason: 'password changed' });
    assert.deepEqual(await d2.c.waitClose(), { code: 4001, reason: 'password changed' });
    await other.c.expectSilence(50);
    assert.equal(other.c.ws.readyState, 1, 'another principal is untouched');
    assert.deepEqual((await admin(gw, 'POST', '/api/principals/nobody', 'x')).json(), { sent: 0, failed: [] });
    other.c.close();
  });

  it('groups: join, members, send, leave, close; a closed connection cannot join (410); bad names are 400', async () => {
    const x = await connect(gw);
    const y = await connect(gw);
    for (const m of [x, y]) assert.equal((await admin(gw, 'PUT', `/api/groups/lobby/connections/${m.id}`)).status, 204);
    assert.deepEqual(ids(await admin(gw, 'GET', '/api/groups/lobby/connections')), [x.id, y.id].sort());
    assert.deepEqual((await admin(gw, 'POST', '/api/groups/lobby', 'lobby news')).json(), { sent: 2, failed: [] });
    assert.equal((await x.c.next()).text, 'lobby news');
    assert.equal((await y.c.next()).text, 'lobby news');
    assert.equal((await admin(gw, 'DELETE', `/api/groups/lobby/connections/${y.id}`)).status, 204);
    assert.deepEqual(ids(await admin(gw, 'GET', '/api/groups/lobby/connections')), [x.id]);
    assert.equal((await admin(gw, 'PUT', '/api/groups/bad%20name/connections/' + x.id)).status, 400);
    assert.deepEqual((await admin(gw, 'DELETE', `/api/groups/lobby?code=4100&reason=${encodeURIComponent('room closed')}`)).json(), { closed: 1 });
    assert.deepEqual(await x.c.waitClose(), { code: 4100, reason: 'room closed' });
    assert.equal((await admin(gw, 'PUT', `/api/groups/lobby/connections/${x.id}`)).status, 410);
    assert.equal(y.c.ws.readyState, 1);
    y.c.close();
  });

  it('broadcast reaches every connection but the excluded one; stats count connections and messages', async () => {
    const before = (await admin(gw, 'GET', '/api/stats')).json();
    const p = await connect(gw);
    const q = await connect(gw);
    const r = await connect(gw);
    assert.deepEqual((await admin(gw, 'POST', `/api/broadcast?exclude=${r.id}`, 'to all')).json(), { sent: 2, failed: [] });
    assert.equal((await p.c.next()).text, 'to all');
    assert.equal((await q.c.next()).text, 'to all');
    await r.c.expectSilence(100);
    await p.c.request({ action: 'echo', n: 1 });
    const stats = (await admin(gw, 'GET', '/api/stats')).json();
    assert.equal(stats.connections, 3);
    assert.ok(stats.messagesIn >= before.messagesIn + 4, `messages in: ${before.messagesIn} → ${stats.messagesIn}`); // 3 whoami + 1 echo
    assert.ok(stats.messagesOut >= before.messagesOut + 6, `messages out: ${before.messagesOut} → ${stats.messagesOut}`); // 3 whoami answers, 2 broadcasts, 1 echo
    assert.ok(typeof stats.at === 'number');
    for (const x of [p, q, r]) x.c.close();
    await until(() => gw.connectionCount() === 0, 'the clients to leave', 10_000);
  });

  it("a send to a client whose buffer is full answers 429, as PostToConnection does", async () => {
    const gw2 = await startGateway({ routes: ROUTES, admin: { host: '127.0.0.1', port: 0, token: TOKEN }, limits: { sendBufferBytes: 1024 } });
    try {
      const { c, id } = await connect(gw2);
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const chunk = 'y'.repeat(100 * 1024);
      let status = 200;
      for (let i = 0; i < 500 && status === 200; i++) status = (await admin(gw2, 'POST', `/api/connections/${id}`, chunk)).status;
      assert.equal(status, 429);
      c.ws.terminate();
    } finally {
      await gw2.close();
    }
  });
});

describe('admin API from the typed client and the CLI (token instead of SigV4)', () => {
  let gw: Gateway;
  before(async () => (gw = await startGateway({ routes: ROUTES, admin: { host: '127.0.0.1', port: 0, token: TOKEN } })));
  after(() => gw.close());

  it('SwitchboardClient with a token lists, sends, closes; a wrong token throws 401, a closed connection GoneException', async () => {
    const { c, id } = await connect(gw, '?user=frank&groups=g1');
    const sb = new SwitchboardClient({ endpoint: gw.adminUrl!, token: TOKEN });
    const page = await sb.listConnections({ principal: 'frank' });
    assert.deepEqual(page.items.map((i) => [i.connectionId, i.principalId, i.groups]), [[id, 'frank', ['g1']]]);
    assert.deepEqual((await sb.listConnections({ search: 'G1' })).items.map((i) => i.connectionId), [id]);
    assert.deepEqual((await sb.listConnections({ search: 'nobody-matches-this' })).items, []);
    assert.equal((await sb.getConnection(id)).connectionId, id);
    await sb.postToConnection(id, 'via client');
    assert.equal((await c.next()).text, 'via client');
    assert.deepEqual(await sb.group('g1').send('group hi'), { sent: 1, failed: [] });
    assert.equal((await c.next()).text, 'group hi');
    await assert.rejects(new SwitchboardClient({ endpoint: gw.adminUrl!, token: 'not-the-token-at-all' }).listConnections(), (e: any) => e.status === 401);
    await sb.deleteConnection(id, { code: 4003, reason: 'banned' });
    assert.deepEqual(await c.waitClose(), { code: 4003, reason: 'banned' });
    await assert.rejects(sb.getConnection(id), (e: any) => e.name === 'GoneException' && e.status === 410);
  });

  it('switchboard --admin URL with SWITCHBOARD_ADMIN_TOKEN, or SWITCHBOARD_ADMIN_URL and --token; no credentials needed', async () => {
    const { c, id } = await connect(gw, '?user=gina');
    const sb = (args: string[], env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        // No AWS credentials in the environment: the admin transport must not need them.
        const child = spawn(process.execPath, switchboardArgv(args), { cwd: ROOT, env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    const [ls, send, wrong, noToken] = await Promise.all([
      sb(['connections', 'ls', '--json', '--search', 'GINA', '--admin', gw.adminUrl!], { SWITCHBOARD_ADMIN_TOKEN: TOKEN }),
      sb(['principals', 'send', 'gina', 'cli says hi', '--token', TOKEN], { SWITCHBOARD_ADMIN_URL: gw.adminUrl }),
      sb(['connections', 'ls', '--admin', gw.adminUrl!, '--token', 'definitely-not-the-token'], {}),
      sb(['connections', 'ls', '--admin', gw.adminUrl!], {}),
    ]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout).items.map((i: any) => i.connectionId), [id]);
    assert.equal(send.code, 0, send.stderr);
    assert.equal((await c.next()).text, 'cli says hi');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /401/);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /admin token/);
    const closed = await sb(['connections', 'close', id, '--code', '4005', '--reason', 'from the cli', '--admin', gw.adminUrl!, '--token', TOKEN], {});
    assert.equal(closed.code, 0, closed.stderr);
    assert.deepEqual(await c.waitClose(), { code: 4005, reason: 'from the cli' });
  });
});
