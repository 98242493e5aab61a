import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient, sleep, until } from '../../helpers/client.js';
import { CREDS } from '../../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../../helpers/process.js';

/**
 * Management requests are judged on their head before their body is read: a caller with an
 * unknown key or a stale date learns 403 at once, and a body that never arrives is cut at
 * `limits.requestBodyTimeoutMs` with 408. Memory is measured on a gateway in its own process.
 */

const BATCH = 1000;
const DECLARED = 131072;
const BODY_DEADLINE_MS = 3000;

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** A request head with a well-formed Authorization header (the signature is never checked: the body never completes). */
function head(port: number, accessKeyId: string, dateMs: number, id: string): string {
  const date = amzDate(dateMs);
  const scope = `${date.slice(0, 8)}/us-east-1/execute-api/aws4_request`;
  return [
    `POST /dev/@connections/${id} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    `X-Amz-Date: ${date}`,
    `Content-Type: application/json`,
    `Content-Length: ${DECLARED}`,
    `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    '',
    '',
  ].join('\r\n');
}

interface Stalled {
  socket: net.Socket;
  /** Everything the gateway answered. */
  answer: string;
  /** True once the gateway closed the connection. */
  ended: boolean;
}

/** Opens `n` sockets that send a head and `bodyBytes` of the declared body, then stall. */
async function stall(port: number, n: number, headFor: (i: number) => string, bodyBytes = 4): Promise<Stalled[]> {
  const part = Buffer.alloc(bodyBytes, 'a');
  const out: Stalled[] = [];
  for (let i = 0; i < n; i++) {
    const socket = net.connect(port, '127.0.0.1');
    const s: Stalled = { socket, answer: '', ended: false };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (s.answer += d));
    socket.on('close', () => (s.ended = true));
    socket.on('error', () => {});
    socket.write(headFor(i));
    socket.write(part);
    out.push(s);
    if (i % 100 === 99) await sleep(20); // let the accept queue drain
  }
  return out;
}

const status = (s: Stalled) => s.answer.slice(9, 12);
const errorType = (s: Stalled) => /x-amzn-errortype: ([^\r]+)/i.exec(s.answer)?.[1];
const MB = 1024 * 1024;

describe('management requests: head checked before the body, body deadline', () => {
  let gw: GatewayProcess;
  let bystander: TestClient;
  let baseline = 0;

  before(async () => {
    gw = await startGatewayProcess({
      stage: 'dev',
      logging: { level: 'info' },
      limits: { requestBodyTimeoutMs: BODY_DEADLINE_MS },
      routes: { $default: { handler: './handlers.ts#echo', routeResponse: true } },
    });
    bystander = await TestClient.connect(gw.url);
    assert.ok((await bystander.request('warm')).text.includes('warm'));
    await sleep(500);
    baseline = gw.rss();
  });

  after(async () => {
    bystander?.close();
    await gw?.stop();
  });

  for (const [label, keyOf, dateOf, expectType, sent] of [
    // Most of the body sent: unread, it costs nothing; buffered, it was 120 MB.
    ['an unknown access key', () => 'AKIDNOBODY', () => Date.now(), 'UnrecognizedClientException', 120 * 1024],
    ['a known key with a date out of skew', () => CREDS.accessKeyId, () => Date.now() - 15 * 60_000, 'InvalidSignatureException', 4],
  ] as const) {
    it(`${BATCH} stalled uploads with ${label} get their 403 at once, body unread`, async () => {
      const before = gw.rss();
      const socks = await stall(gw.port, BATCH, (i) => head(gw.port, keyOf(), dateOf(), `c${i}`), sent);
      await sleep(1000);
      console.log(`# ${label}: RSS ${(before / MB).toFixed(1)} MB -> ${(gw.rss() / MB).toFixed(1)} MB 1 s after ${BATCH} stalled uploads of ${sent} bytes`);
      // Well inside the body deadline: the answer did not wait for the body.
      await until(() => socks.every((s) => s.answer.includes('\r\n\r\n')), `403 answers for ${label}`, BODY_DEADLINE_MS * 5);
      for (const s of socks) {
        assert.equal(status(s), '403', s.answer);
        assert.equal(errorType(s), expectType, s.answer);
      }
      const peak = gw.rss();
      console.log(`# ${label}: RSS ${(before / MB).toFixed(1)} MB -> ${(peak / MB).toFixed(1)} MB with ${BATCH} stalled uploads`);
      assert.ok(peak - before < 80 * MB, `RSS grew by ${((peak - before) / MB).toFixed(1)} MB`);
      assert.ok((await bystander.request('still here')).text.includes('still here'));
      // The unread rest of each body is not waited for forever.
      await until(() => socks.every((s) => s.ended), 'refused stalled uploads closed at the body deadline', BODY_DEADLINE_MS * 10);
      assert.ok(gw.alive());
    });
  }

  it(`${BATCH} stalled uploads with a valid head are cut at the body deadline with 408, socket closed`, async () => {
    const before = gw.rss();
    const started = Date.now();
    const socks = await stall(gw.port, BATCH, (i) => head(gw.port, CREDS.accessKeyId, Date.now(), `v${i}`));
    await sleep(500);
    // Nothing answered yet: these are waiting for their bodies.
    assert.equal(socks.filter((s) => s.answer !== '').length, 0);
    await until(() => socks.every((s) => s.ended), 'stalled uploads cut', BODY_DEADLINE_MS * 10);
    const took = Date.now() - started;
    for (const s of socks) {
      assert.equal(status(s), '408', s.answer);
      assert.equal(errorType(s), 'RequestTimeoutException', s.answer);
      assert.match(s.answer, /"message":"[^"]+"/);
      assert.match(s.answer, /connection: close/i);
    }
    assert.ok(took >= BODY_DEADLINE_MS - 100, `cut after ${took} ms, before the deadline`);
    const peak = gw.rss();
    console.log(`# valid heads: RSS ${(before / MB).toFixed(1)} MB -> ${(peak / MB).toFixed(1)} MB, baseline ${(baseline / MB).toFixed(1)} MB`);
    assert.ok(peak - before < 80 * MB, `RSS grew by ${((peak - before) / MB).toFixed(1)} MB`);
    // One rate-limited line for the lot, not one per request.
    const lines = gw.logRecords().filter((r) => r.reason === 'limits.requestBodyTimeoutMs');
    assert.ok(lines.length >= 1 && lines.length < 20, `${lines.length} body-deadline log lines`);
    assert.ok((await bystander.request('after')).text.includes('after'));
    assert.ok(gw.alive());
  });
});
