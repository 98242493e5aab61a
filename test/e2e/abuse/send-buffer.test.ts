// Clients that never read: their send buffers are held to a per-connection cap and to a budget
// for the whole node (limits.sendBufferTotalBytes). Over it POST answers 429, fan-outs report
// `full`, route responses are dropped with a counter; a buffer that stays full is closed with 1008
// "slow consumer" (one $disconnect). A reader keeps being served throughout.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Gateway } from '../../../src/index.js';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { CREDS, eventsOf, resetRecorded, startGateway } from '../../helpers/gateway.js';
import { startGatewayProcess } from '../../helpers/process.js';
import { call } from '../../helpers/signed.js';

const H = './handlers.ts';
const KiB = 1024;
const MiB = 1024 * KiB;

const ROUTES = {
  $disconnect: { handler: `${H}#disconnect` },
  whoami: { handler: `${H}#whoami`, routeResponse: true },
  $default: { handler: `${H}#echo`, routeResponse: true },
};

async function idOf(c: TestClient): Promise<string> {
  return JSON.parse((await c.request({ action: 'whoami' })).text).connectionId;
}

/** Stops reading: the kernel buffers fill, then the gateway's send buffer. */
function pause(c: TestClient): void {
  (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

function resume(c: TestClient): void {
  (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
}

/** A reader that counts what it received and keeps only the last message (its inbox would hold megabytes). */
function counting(c: TestClient): (() => number) & { last: () => string } {
  let n = 0;
  let last = '';
  c.ws.on('message', (data: Buffer) => {
    n++;
    last = data.length < 100 ? data.toString() : '';
    c.inbox.length = 0;
  });
  return Object.assign(() => n, { last: () => last });
}

type FanOut = { sent: number; failed: Array<{ connectionId: string; reason: string }> };

/**
 * Broadcasts `payload` until every one of `stuck` is reported `full` in one fan-out (at most
 * `rounds` times); returns the last result and how many broadcasts were sent.
 */
async function floodUntilFull(gw: Pick<Gateway, 'port' | 'stage'>, path: string, payload: string, stuck: string[], rounds: number): Promise<{ last: FanOut; sent: number }> {
  let last: FanOut = { sent: 0, failed: [] };
  for (let i = 1; i <= rounds; i++) {
    const res = await call(gw as Gateway, 'POST', path, payload);
    assert.equal(res.status, 200, res.body);
    last = res.json();
    const full = new Set(last.failed.filter((f) => f.reason === 'full').map((f) => f.connectionId));
    if (stuck.every((id) => full.has(id))) return { last, sent: i };
  }
  throw new Error(`after ${rounds} broadcasts not every stuck client was full: ${JSON.stringify(last).slice(0, 300)}`);
}

describe('send-buffer budget: clients that never read', () => {
  let gw: Gateway;
  let sdk: ApiGatewayManagementApiClient;
  before(async () => {
    gw = await startGateway({ routes: ROUTES, limits: { sendBufferBytes: 64 * KiB, sendBufferTotalBytes: 1 * MiB, slowConsumerSeconds: 3600 } });
    sdk = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { ...CREDS }, maxAttempts: 1 });
  });
  after(async () => {
    sdk.destroy();
    await gw.close();
  });

  it('over the node budget: fan-outs report full, POST answers 429 LimitExceededException, route responses are dropped and counted; a reader is served throughout', async () => {
    const reader = await TestClient.connect(gw.url);
    const readerId = await idOf(reader);
    const received = counting(reader);
    const stuck: TestClient[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const c = await TestClient.connect(gw.url);
      ids.push(await idOf(c));
      assert.equal((await call(gw, 'PUT', `/@groups/room/connections/${ids[i]}`)).status, 204);
      pause(c);
      stuck.push(c);
    }
    assert.equal((await call(gw, 'PUT', `/@groups/room/connections/${readerId}`)).status, 204);

    const payload = 'x'.repeat(32 * KiB);
    const { last, sent } = await floodUntilFull(gw, '/@broadcast', payload, ids, 2000);
    // 30 × 64 KiB would fit the per-connection caps; the node's 1 MiB refused first.
    assert.ok(gw.counters.get('rejected', 'limits.sendBufferTotalBytes') > 0, 'refusals for limits.sendBufferTotalBytes counted');
    assert.ok(!last.failed.some((f) => f.connectionId === readerId), 'the reader is never refused');
    await until(() => received() === sent, `the reader to get all ${sent} broadcasts (has ${received()})`, 10_000);

    // A group fan-out names the same clients full; the reader gets its copy.
    const group: FanOut = (await call(gw, 'POST', '/@groups/room', payload)).json();
    assert.deepEqual(new Set(group.failed.map((f) => f.reason)), new Set(['full']));
    assert.equal(group.sent, 1);
    await until(() => received() === sent + 1, 'the reader to get the group message');

    // PostToConnection to a stuck client: 429 LimitExceededException; to the reader: delivered.
    await assert.rejects(sdk.send(new PostToConnectionCommand({ ConnectionId: ids[0], Data: 'more' })), (err) => err instanceof LimitExceededException);
    const ok = await sdk.send(new PostToConnectionCommand({ ConnectionId: readerId, Data: 'for the reader' }));
    assert.equal(ok.$metadata.httpStatusCode, 200);
    await until(() => received() === sent + 2, 'the reader to get its POST');

    // A stuck client's own messages still reach the integration; their route responses are dropped, counted, never silently.
    const before = gw.counters.get('undelivered', 'full');
    for (let i = 0; i < 50; i++) stuck[0]!.send('echo me');
    await until(() => gw.counters.get('undelivered', 'full') >= before + 50, '50 dropped route responses counted');

    for (const c of [...stuck, reader]) c.ws.terminate();
  });
});

describe('slow consumers: a buffer full for limits.slowConsumerSeconds is closed with 1008', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ routes: ROUTES, limits: { sendBufferBytes: 64 * KiB, sendBufferTotalBytes: 1 * MiB, slowConsumerSeconds: 1 } });
  });
  after(() => gw.close());
  beforeEach(() => resetRecorded());

  it('closes each stuck client with 1008 "slow consumer", runs $disconnect exactly once with that code and reason, and keeps the reader', async () => {
    const reader = await TestClient.connect(gw.url);
    const received = counting(reader);
    const stuck: TestClient[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await TestClient.connect(gw.url);
      ids.push(await idOf(c));
      pause(c);
      stuck.push(c);
    }
    const { sent } = await floodUntilFull(gw, '/@broadcast', 'y'.repeat(32 * KiB), ids, 2000);
    // Keep the pressure on while the gateway decides: the reader is served meanwhile.
    let broadcasts = sent;
    while (gw.counters.get('closed', 'slowConsumer') < 5) {
      assert.equal((await call(gw, 'POST', '/@broadcast', 'tick')).status, 200);
      broadcasts++;
      await sleep(50);
      if (broadcasts > sent + 400) throw new Error('slow consumers not closed within ~20 s');
    }
    // One of them catches up at last: behind its backlog it reads why it was closed.
    resume(stuck[0]!);
    assert.deepEqual(await stuck[0]!.waitClose(10_000), { code: 1008, reason: 'slow consumer' });
    // The others never read on: the gateway ends them (1006 on their side).
    await until(() => eventsOf('$disconnect').length === 5, 'five $disconnect events', 15_000);
    await sleep(300);
    const disconnects = eventsOf('$disconnect');
    assert.deepEqual(disconnects.map((e) => e.requestContext.connectionId).sort(), [...ids].sort(), 'exactly one $disconnect per stuck client');
    for (const e of disconnects) {
      assert.equal(e.requestContext.disconnectStatusCode, 1008);
      assert.equal(e.requestContext.disconnectReason, 'slow consumer');
    }
    assert.equal(gw.connectionCount(), 1, 'only the reader remains');
    await until(() => received() === broadcasts, 'the reader to get every broadcast', 10_000);
    reader.send('still here');
    await until(() => received.last() === 'still here', 'the reader to get its echo');
    reader.close();
  });
});

/**
 * PostToConnection to every stuck client and the reader in rounds (each call its own body, as a
 * chat backend posts per member) until every stuck one answers 429 in one round; the reader must
 * get 200 every time. Returns how many rounds that took.
 */
async function postUntilFull(target: Pick<Gateway, 'port' | 'stage'>, stuck: string[], reader: string, payload: string, rounds: number): Promise<number> {
  for (let i = 1; i <= rounds; i++) {
    const post = async (id: string) => (await call(target as Gateway, 'POST', `/@connections/${id}`, payload)).status;
    const [toReader, ...statuses] = await Promise.all([post(reader), ...stuck.map(post)]);
    assert.equal(toReader, 200, 'the reader is never refused');
    assert.ok(statuses.every((s) => s === 200 || s === 429), `unexpected statuses ${[...new Set(statuses)]}`);
    if (statuses.every((s) => s === 429)) return i;
  }
  throw new Error(`after ${rounds} rounds not every stuck client answered 429`);
}

describe('send-buffer budget bounds memory: 100 clients that never read (gateway in its own process)', () => {
  it('RSS grows by far less than 100 × the per-connection cap; the process lives and a reader is served', async (t) => {
    // The per-connection cap (4 MiB default) would let 100 stuck clients pin 400 MB; the node's budget allows 16 MiB.
    const proc = await startGatewayProcess({ routes: { whoami: { handler: `${H}#whoami`, routeResponse: true } }, limits: { sendBufferTotalBytes: 16 * MiB, slowConsumerSeconds: 3600 } });
    const target = { port: proc.port, stage: 'dev' };
    try {
      const reader = await TestClient.connect(proc.url);
      const readerId = await idOf(reader);
      const received = counting(reader);
      const ids: string[] = [];
      const stuck: TestClient[] = [];
      for (let i = 0; i < 100; i++) {
        const c = await TestClient.connect(proc.url);
        ids.push(await idOf(c));
        pause(c);
        stuck.push(c);
      }
      await sleep(200);
      const rssBefore = proc.rss();
      const rounds = await postUntilFull(target, ids, readerId, 'z'.repeat(64 * KiB), 400);
      const grown = proc.rss() - rssBefore;
      t.diagnostic(`RSS ${Math.round(rssBefore / MiB)} -> ${Math.round((rssBefore + grown) / MiB)} MiB after ${rounds} rounds`);
      assert.ok(proc.alive());
      assert.ok(grown < 120 * MiB, `RSS grew by ${Math.round(grown / MiB)} MiB after ${rounds} rounds of 64 KiB posts to 100 stuck clients`);
      await until(() => received() === rounds, `the reader to get its ${rounds} posts (has ${received()})`, 20_000);
      for (const c of [...stuck, reader]) c.ws.terminate();
    } finally {
      await proc.stop();
    }
  });
});
