// A redis-server for the cluster scenarios: a free port on loopback, no persistence, stopped by
// PID (through proc.mjs, so it never outlives the bench), with INFO read over a plain socket.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProcess } from './proc.mjs';

const BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** True when a redis-server binary is present. */
export const haveRedis = () => existsSync(BINARY);

/** A free TCP port on 127.0.0.1 (bound, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one command (RESP2) over a new socket and resolves with the whole answer text. */
export function rawCommand(port, args, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    let want = -1; // bytes of a bulk answer ($len\r\n…\r\n), once the header arrived
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`redis ${args[0]} timed out`))), timeoutMs);
    const done = (v) => (clearTimeout(timer), sock.destroy(), resolve(v));
    sock.once('error', (err) => (clearTimeout(timer), reject(err)));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf[0] === '$') {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        if (want < 0) want = eol + 2 + Number(buf.slice(1, eol)) + 2;
        if (Buffer.byteLength(buf, 'latin1') >= want) done(buf.slice(eol + 2, want - 2));
      } else if (buf.endsWith('\r\n')) done(buf);
    });
    sock.connect(port, '127.0.0.1', () => sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')));
  });
}

/** Parses `INFO` text into { key: value } (numbers where numeric). */
function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0 || line.startsWith('#')) continue;
    const v = line.slice(i + 1);
    out[line.slice(0, i)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * Starts redis-server on a free loopback port with no persistence (`--save ''`, no AOF), on
 * `core` (the servers' core by default). Resolves with { url, port, pid, info(section),
 * commandCalls(), usedMemory(), flushall(), stop() }.
 */
export async function startRedis({ core = 0, maxclients = 10000 } = {}) {
  if (!haveRedis()) throw new Error(`redis-server not found at ${BINARY}`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-bench-redis-'));
  const s = await startProcess(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxclients', String(maxclients), '--loglevel', 'notice'], { core, ready: /Ready to accept connections|ready to accept/i });
  const info = async (section) => parseInfo(await rawCommand(port, ['INFO', section]));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: s.pid,
    info,
    /** Calls per command from INFO commandstats: { evalsha: n, publish: n, … } (lower case). */
    async commandCalls() {
      const out = {};
      for (const [k, v] of Object.entries(await info('commandstats'))) {
        const m = /^cmdstat_(.+)$/.exec(k);
        if (m) out[m[1]] = Number(/calls=(\d+)/.exec(v)[1]);
      }
      return out;
    },
    usedMemory: async () => (await info('memory')).used_memory,
    flushall: () => rawCommand(port, ['FLUSHALL']),
    async stop() {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls per command between two `commandCalls()` snapshots (commands with no calls left out). */
export function callDelta(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
