import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** A redis-server process owned by one test file: started on a free port, always stopped by PID. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number;
  /** Sends a signal to the server process (SIGKILL: crash, data lost unless appendonly). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port (after kill). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** `CLIENT KILL TYPE pubsub`: drops every subscriber connection. */
  killSubscribers(): Promise<number>;
  flushall(): Promise<void>;
  /** Runs one command over a fresh connection and returns the raw RESP2 answer text. */
  command(...args: string[]): Promise<string>;
  /** Stops the server for good (SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one command in RESP2 over a new socket; resolves with the first complete answer line(s). */
function rawCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.endsWith('\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf);
      }
    });
    sock.connect(port, '127.0.0.1', () => {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
    });
  });
}

/**
 * Starts `redis-server` on a free port with no persistence (or `appendonly: true`), waiting for PING.
 * Fails (does not skip) when the binary is missing: cluster tests need a real Redis.
 */
export async function startRedis(opts: { appendonly?: boolean; /** Port of a primary on 127.0.0.1 to replicate. */ replicaOf?: number } = {}): Promise<RedisServer> {
  if (!existsSync(BINARY)) throw new Error(`redis-server not found at ${BINARY} (install it: apt-get install -y redis-server)`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-redis-'));
  let child: ChildProcess;
  let stopped = false;

  const launch = async () => {
    const replica = opts.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(opts.replicaOf)];
    child = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no', '--dir', dir, ...replica], { stdio: 'ignore' });
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        if ((await rawCommand(port, ['PING'], 300)).startsWith('+PONG')) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  await launch();

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, signal);
      await exited();
    },
    async restart() {
      await server.kill('SIGKILL');
      await launch();
    },
    pause() {
      process.kill(child.pid!, 'SIGSTOP');
    },
    resume() {
      process.kill(child.pid!, 'SIGCONT');
    },
    async killSubscribers() {
      const out = await rawCommand(port, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      return Number(out.slice(1));
    },
    async flushall() {
      await rawCommand(port, ['FLUSHALL']);
    },
    command: (...args) => rawCommand(port, args),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(child.pid!, 'SIGCONT');
      } catch {
        /* already gone */
      }
      await server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** True when a redis-server binary is present (for messages; tests do not skip on it). */
export const redisServerAvailable = () => existsSync(BINARY) && spawnSync(BINARY, ['--version']).status === 0;

/** A redis-server in sentinel mode watching one primary. */
export interface SentinelServer {
  readonly port: number;
  readonly pid: number;
  /** Runs one command against the sentinel and returns the raw RESP2 answer text. */
  command(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server <conf> --sentinel` on a free port, monitoring `name` at 127.0.0.1:`primaryPort`
 * with short timings (primary judged down after `downAfterMs`), waiting for PING.
 */
export async function startSentinel(o: { name: string; primaryPort: number; quorum: number; downAfterMs?: number; failoverTimeoutMs?: number }): Promise<SentinelServer> {
  if (!existsSync(BINARY)) throw new Error(`redis-server not found at ${BINARY}`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-sentinel-'));
  const conf = path.join(dir, 'sentinel.conf');
  // Sentinel rewrites its file as it learns the topology: it must be its own and writable.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${o.name} 127.0.0.1 ${o.primaryPort} ${o.quorum}`,
      `sentinel down-after-milliseconds ${o.name} ${o.downAfterMs ?? 500}`,
      `sentinel failover-timeout ${o.name} ${o.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${o.name} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn(BINARY, [conf, '--sentinel'], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      if ((await rawCommand(port, ['PING'], 300)).startsWith('+PONG')) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sentinel on ${port} did not answer PING`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let stopped = false;
  return {
    port,
    pid: child.pid!,
    command: (...args) => rawCommand(port, args),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
