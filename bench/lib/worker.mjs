// A load-generator worker process. The coordinator (loadgen.mjs) forks several, pinned to the
// core the server does not use, and drives them over IPC. Every loop is bounded in time and
// count; every address is on loopback.
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { WebSocket } from 'ws';
import { signer } from './sigv4.mjs';

const sockets = [];
let received = 0;
let stopAt = 0;

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

/** Opens `count` connections to `url`, spreading them over loopback source addresses. */
async function connect({ url, count, addresses, whoami, batch = 200 }) {
  const ids = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: addresses[(i + j) % addresses.length], handshakeTimeout: 15_000 });
          const timer = setTimeout(() => reject(new Error(`no answer from ${url} within 15 s`)), 15_000);
          ws.once('error', (err) => (clearTimeout(timer), reject(err)));
          ws.once('open', () => {
            ws.on('message', () => received++);
            sockets.push(ws);
            if (!whoami) return clearTimeout(timer), resolve();
            ws.once('message', (d) => {
              clearTimeout(timer);
              ids.push(JSON.parse(d.toString()).connectionId);
              resolve();
            });
            ws.send('{"action":"whoami"}');
          });
        }),
      ),
    );
  }
  received = 0;
  return { connected: sockets.length, ids };
}

/**
 * Closed loop: every socket keeps one message in flight for `seconds`; latency per round trip.
 * Bounded even when a server loses a message: 5 s after the end, sockets still waiting for an
 * answer are counted as `stalled` and the loop ends anyway.
 */
function echoClosed({ seconds, payload }) {
  const h = histogram();
  let count = 0;
  stopAt = Date.now() + seconds * 1000;
  return new Promise((resolve) => {
    let active = sockets.length;
    const listeners = [];
    const finish = () => {
      clearTimeout(guard);
      for (const [ws, fn] of listeners) ws.off('message', fn);
      resolve({ count, stalled: active, histogram: hdr.encodeIntoCompressedBase64(h) });
    };
    const guard = setTimeout(finish, seconds * 1000 + 5000);
    for (const ws of sockets) {
      let sent = 0;
      const onMsg = () => {
        h.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
        count++;
        if (Date.now() < stopAt) {
          sent = performance.now();
          ws.send(payload);
        } else {
          ws.off('message', onMsg);
          if (--active === 0) finish();
        }
      };
      listeners.push([ws, onMsg]);
      ws.on('message', onMsg);
      sent = performance.now();
      ws.send(payload);
    }
  });
}

/** Open loop at a fixed total rate for this worker: each socket sends on its own schedule. */
async function echoPaced({ seconds, payload, rate }) {
  const h = histogram();
  let count = 0;
  const perSocketMs = (1000 * sockets.length) / rate;
  const timers = [];
  for (const [i, ws] of sockets.entries()) {
    const pending = [];
    ws.on('message', function onMsg() {
      const t = pending.shift();
      if (t !== undefined) {
        h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
        count++;
      }
    });
    timers.push(
      setTimeout(() => {
        timers.push(
          setInterval(() => {
            pending.push(performance.now());
            ws.send(payload);
          }, perSocketMs),
        );
      }, (i * perSocketMs) / sockets.length),
    );
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of timers) clearInterval(t);
  await new Promise((r) => setTimeout(r, 300)); // let the last answers in
  for (const ws of sockets) ws.removeAllListeners('message').on('message', () => received++);
  return { count, histogram: hdr.encodeIntoCompressedBase64(h) };
}

/** HTTP POST load with keep-alive: `concurrency` requests in flight, random targets, for `seconds`. */
async function push({ origin, pathPrefix, ids, seconds, concurrency, payload, signed, rate }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const sign = signed ? signer() : null;
  const host = new URL(origin).host;
  const h = histogram();
  const statuses = {};
  const plainHeaders = { 'content-length': String(payload.length) };
  let count = 0;
  const interval = rate ? (1000 * concurrency) / rate : 0;
  // Sign once per target before the clock starts (a signature stays valid for 5 minutes), so
  // this core measures the server's verification, not our signing.
  const signedHeaders = new Map();
  if (sign) for (const id of ids) signedHeaders.set(id, await sign(host, `${pathPrefix}${encodeURIComponent(id)}`, payload));
  const end = Date.now() + seconds * 1000;
  async function lane() {
    let next = performance.now();
    while (Date.now() < end) {
      if (interval) {
        next += interval;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const id = ids[(Math.random() * ids.length) | 0];
      const path = `${pathPrefix}${encodeURIComponent(id)}`;
      const headers = sign ? signedHeaders.get(id) : plainHeaders;
      const t0 = performance.now();
      const res = await pool.request({ method: 'POST', path, headers, body: payload });
      await res.body.dump();
      h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      count++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  await pool.close();
  return { count, statuses, histogram: hdr.encodeIntoCompressedBase64(h) };
}

/**
 * Handshakes: `concurrency` lanes, each opening a connection (spread over `addresses`),
 * waiting for it to open, closing it and going again, for `seconds`; paced at `rate` handshakes
 * per second for this worker when given. Handshake time is from the socket's creation to
 * 'open' (TCP connect, upgrade request, authorizer, $connect, 101). Refusals and failures are
 * counted, with a few messages kept.
 */
async function handshakes({ url, seconds, concurrency, addresses, rate }) {
  const h = histogram();
  let count = 0;
  let errors = 0;
  const samples = new Set();
  const interval = rate ? (1000 * concurrency) / rate : 0;
  const end = Date.now() + seconds * 1000;
  let next = 0;
  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: addresses[next++ % addresses.length], handshakeTimeout: 10_000 });
      ws.once('open', () => {
        h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        ws.terminate();
        resolve(true);
      });
      ws.once('error', (err) => {
        if (samples.size < 3) samples.add(err.message);
        ws.terminate();
        resolve(false);
      });
    });
  async function lane(i) {
    let due = performance.now() + (i * interval) / concurrency;
    while (Date.now() < end) {
      if (interval) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        due += interval;
      }
      if (await once()) count++;
      else errors++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  return { count, errors, errorSamples: [...samples], histogram: hdr.encodeIntoCompressedBase64(h) };
}

const commands = {
  connect,
  handshakes,
  echoClosed,
  echoPaced,
  push,
  /** Messages received since the last reset. */
  received: () => ({ received }),
  reset: () => ((received = 0), {}),
  close: async () => {
    for (const ws of sockets) ws.terminate();
    sockets.length = 0;
    return {};
  },
};

process.on('message', async (msg) => {
  try {
    const result = await commands[msg.cmd](msg.args ?? {});
    process.send({ id: msg.id, ok: true, result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
// A worker never outlives its run.
setTimeout(() => process.exit(3), 30 * 60 * 1000).unref();
