// Authorizer promises from the README ("Authorizers on $connect"), with an HTTP authorizer the
// test controls answer by answer.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { Gateway } from '../../src/index.js';
import { TestClient } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

const H = './handlers.ts';

type Answer = { status: number; body?: string; delayMs?: number };

/** An HTTP authorizer that gives the queued answers in order (then Allow), counting calls. */
async function httpAuthorizer(): Promise<{ url: string; queue: Answer[]; calls: () => number; close: () => Promise<void> }> {
  const queue: Answer[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls++;
      const event = JSON.parse(body);
      const allow = JSON.stringify({ principalId: 'user', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] } });
      const a = queue.shift() ?? { status: 200, body: allow };
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body ?? '');
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`,
    queue,
    calls: () => calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The handshake's status and body: 101 when accepted (the client is closed at once). */
async function handshake(url: string): Promise<{ status: number; body?: string }> {
  try {
    const c = await TestClient.connect(url);
    c.close();
    return { status: 101 };
  } catch (err) {
    const e = err as { status: number; body: string };
    return { status: e.status, body: e.body };
  }
}

async function withAuthorizer(extra: Record<string, unknown>, body: (gw: Gateway, auth: Awaited<ReturnType<typeof httpAuthorizer>>) => Promise<void>): Promise<void> {
  const auth = await httpAuthorizer();
  const gw = await startGateway({ routes: { $connect: { handler: `${H}#connect`, authorizer: { http: auth.url, identitySource: ['route.request.querystring.token'], ...extra } } } });
  try {
    await body(gw, auth);
  } finally {
    await gw.close();
    await auth.close();
  }
}

describe('promise: an HTTP authorizer answers 401 and 403 through its status', () => {
  it('401 → 401 Unauthorized, 403 → 403 Forbidden, any other failing status → 500, in AWS\'s bodies', async () => {
    await withAuthorizer({}, async (gw, auth) => {
      auth.queue.push({ status: 401 }, { status: 403 }, { status: 500 }, { status: 404 });
      assert.deepEqual(await handshake(`${gw.url}?token=t`), { status: 401, body: '{"message":"Unauthorized"}' });
      assert.deepEqual(await handshake(`${gw.url}?token=t`), { status: 403, body: '{"message":"Forbidden"}' });
      assert.deepEqual(await handshake(`${gw.url}?token=t`), { status: 500, body: '{"message":"Internal server error"}' });
      assert.deepEqual(await handshake(`${gw.url}?token=t`), { status: 500, body: '{"message":"Internal server error"}' });
      assert.equal((await handshake(`${gw.url}?token=t`)).status, 101, 'then an Allow lets it in');
      assert.equal(auth.calls(), 5);
    });
  });
});

describe('promise: with the opt-in cache, authorizer failures are not cached (decisions are)', () => {
  it('a 500 answer, a malformed answer and a timeout are each asked again; the Allow that follows is cached', async () => {
    await withAuthorizer({ resultTtlSeconds: 60, timeoutMs: 300 }, async (gw, auth) => {
      auth.queue.push({ status: 500 }, { status: 200, body: '{"principalId":"x"}' }, { status: 200, body: '{}', delayMs: 1000 });
      assert.equal((await handshake(`${gw.url}?token=same`)).status, 500);
      assert.equal((await handshake(`${gw.url}?token=same`)).status, 500, 'malformed');
      assert.equal((await handshake(`${gw.url}?token=same`)).status, 500, 'timed out');
      assert.equal(auth.calls(), 3, 'each failure asked the authorizer again');
      assert.equal((await handshake(`${gw.url}?token=same`)).status, 101);
      assert.equal((await handshake(`${gw.url}?token=same`)).status, 101);
      assert.equal(auth.calls(), 4, 'the Allow was cached');
    });
  });

  it('a 401 and a 403 from the authorizer are decisions, and are cached', async () => {
    await withAuthorizer({ resultTtlSeconds: 60 }, async (gw, auth) => {
      auth.queue.push({ status: 403 }, { status: 401 });
      assert.equal((await handshake(`${gw.url}?token=a`)).status, 403);
      assert.equal((await handshake(`${gw.url}?token=a`)).status, 403);
      assert.equal((await handshake(`${gw.url}?token=b`)).status, 401);
      assert.equal((await handshake(`${gw.url}?token=b`)).status, 401);
      assert.equal(auth.calls(), 2);
    });
  });
});
