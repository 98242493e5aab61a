import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createGateway, loadConfigFile, type Gateway } from '../../src/index.js';
import { TestClient, until } from '../helpers/client.js';
import { ROOT } from '../helpers/gateway.js';

describe('the bundled example (what `npm start` runs)', () => {
  let gw: Gateway;
  before(async () => {
    const { config, baseDir } = await loadConfigFile(path.join(ROOT, 'examples', 'switchboard.yaml'), { ...process.env, PORT: '0', ADMIN_PORT: '0' });
    gw = await createGateway({ config, baseDir, logger: pino({ level: process.env.SB_TEST_LOG ?? 'silent' }) });
  });
  after(() => gw.close());

  it('echo and whoami are two-way routes; anything else gets a helpful $default answer', async () => {
    const c = await TestClient.connect(gw.url);
    assert.equal((await c.request({ action: 'echo', text: 'hi' })).text, '{"action":"echo","text":"hi"}');
    const me = JSON.parse((await c.request({ action: 'whoami' })).text);
    assert.match(me.connectionId, /^[A-Za-z0-9][A-Za-z0-9_-]{17}$/);
    assert.equal(JSON.parse((await c.request('hello?')).text).error, 'unknown action');
    c.close();
  });

  it('the chat broadcasts through the official AWS SDK calling back into the gateway, and forgets closed connections', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => TestClient.connect(gw.url)));
    a!.send({ action: 'sendmessage', data: 'hello, room' });
    for (const x of [a!, b!, c!]) assert.equal((await x.next(5000)).text, 'hello, room');
    c!.close();
    await until(() => gw.connectionCount() === 2, 'c gone');
    b!.send({ action: 'sendmessage', data: 'after c left' });
    for (const x of [a!, b!]) assert.equal((await x.next(5000)).text, 'after c left');
    a!.close();
    b!.close();
  });
});
