import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { createBackend } from '../../examples/password-change/backend.js';
import { SwitchboardClient } from '../../src/client/index.js';
import { createGateway, loadConfigFile, type Gateway } from '../../src/index.js';
import { TestClient, sleep } from '../helpers/client.js';
import { ROOT } from '../helpers/gateway.js';

const EXAMPLE = path.join(ROOT, 'examples', 'password-change');
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDPASSWORDDEMO', AWS_SECRET_ACCESS_KEY: 'password-demo-secret' };


describe('examples/password-change: changing a password ends every session of that user', () => {
  let gw: Gateway;
  let backend: Server;
  let backendUrl: string;
  let sb: SwitchboardClient;

  before(async () => {
    const env = { ...process.env, ...KEYS, PORT: '0' };
    const { config, baseDir } = await loadConfigFile(path.join(EXAMPLE, 'switchboard.yaml'), env);
    gw = await createGateway({ config, baseDir, env, logger: pino({ level: process.env.SB_TEST_LOG ?? 'silent' }) });
    sb = new SwitchboardClient({ endpoint: gw.managementEndpoint, credentials: { accessKeyId: KEYS.AWS_ACCESS_KEY_ID, secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY } });
    backend = createBackend(sb);
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => backend.close(resolve));
    await gw.close();
  });

  it('three alice sessions close with 4001 "password changed"; bob’s stays open', async () => {
    const alice = await Promise.all(['alice-laptop', 'alice-phone', 'alice-tablet'].map((t) => TestClient.connect(`${gw.url}?token=${t}`)));
    const bob = await TestClient.connect(`${gw.url}?token=bob-laptop`);

    // The authorizer's principalId is the user: every alice session is indexed under "alice".
    const sessions = (await sb.principal('alice').listConnections()).items;
    assert.equal(sessions.length, 3, 'the authorizer should set principalId "alice" on each of her three sessions');
    const me = JSON.parse((await alice[0]!.request({ action: 'whoami' })).text);
    assert.equal(me.user, 'alice');

    const res = await request(`${backendUrl}/change-password?user=alice`, { method: 'POST' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { user: 'alice', closed: 3 });

    for (const a of alice) assert.deepEqual(await a.waitClose(), { code: 4001, reason: 'password changed' });
    await sleep(50);
    assert.equal(bob.ws.readyState, 1, "bob's session stays open");
    assert.equal(JSON.parse((await bob.request({ action: 'whoami' })).text).user, 'bob');
    bob.close();
  });

  it('refuses a handshake without a token or with an unknown one', async () => {
    await assert.rejects(TestClient.connect(gw.url), (err: any) => err.status === 401);
    await assert.rejects(TestClient.connect(`${gw.url}?token=stolen`), (err: any) => err.status === 403);
  });

  it('the backend answers 400 without a user and 0 closed for a user with no sessions', async () => {
    assert.equal((await request(`${backendUrl}/change-password`, { method: 'POST' })).statusCode, 400);
    const res = await request(`${backendUrl}/change-password?user=carol`, { method: 'POST' });
    assert.deepEqual(await res.body.json(), { user: 'carol', closed: 0 });
  });
});
