import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { CREDS, FIXTURES, ROOT } from './gateway.js';

/**
 * A gateway in its own process, started with the real `switchboard start` command (compiled
 * dist when up to date, else through tsx). For tests where the test process must survive what the
 * gateway does not (a crash), or where the gateway's own memory and descriptors are measured.
 */
export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** `ws://127.0.0.1:PORT/STAGE` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/STAGE` */
  readonly managementEndpoint: string;
  /** What the gateway wrote to stdout so far (its startup summary). */
  stdout(): string;
  /** Every line the gateway wrote to stderr (its JSON logs) so far. */
  logs(): string[];
  /** Parsed JSON log lines. */
  logRecords(): Array<Record<string, any>>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** True while the process runs. */
  alive(): boolean;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  /** Open file descriptors, from /proc. */
  fds(): number;
  /** SIGTERM (drain), then SIGKILL after `ms` if it is still running. */
  stop(ms?: number): Promise<number | string>;
}

const DIST_CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const SRC_CLI = path.join(ROOT, 'src', 'cli', 'main.ts');

let distFresh: boolean | undefined;

/**
 * True when dist/ was built after the last change in src/: `npm run build` ends by writing
 * dist/.built (its incremental compile leaves unchanged outputs untouched, so their own times say nothing).
 */
function distIsFresh(): boolean {
  if (distFresh !== undefined) return distFresh;
  const stamp = path.join(ROOT, 'dist', '.built');
  if (!existsSync(stamp) || !existsSync(DIST_CLI)) return (distFresh = false);
  const built = statSync(stamp).mtimeMs;
  const olderThanBuild = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).every((e) => {
      const file = path.join(dir, e.name);
      return e.isDirectory() ? olderThanBuild(file) : statSync(file).mtimeMs <= built;
    });
  distFresh = olderThanBuild(path.join(ROOT, 'src'));
  return distFresh;
}

/**
 * `node` arguments that run the real `switchboard` command with `args`: the compiled dist/cli/main.js
 * when it was built after the last change in src/ (half the start-up cost), else src/cli/main.ts through tsx.
 */
export function switchboardArgv(args: string[]): string[] {
  return [...(distIsFresh() ? [DIST_CLI] : ['--import', 'tsx', SRC_CLI]), ...args];
}

/**
 * Writes `config` to a temporary YAML file (handler paths resolve against test/fixtures) and
 * starts `switchboard start --config FILE --port 0`; resolves once it prints its URL.
 * The test credentials (CREDS) are added unless the config sets `management`.
 */
export async function startGatewayProcess(config: ConfigInput, opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; /** A command that execs the gateway (same pid), e.g. `['prlimit', '--nofile=128:128']`. */ prefix?: string[]; /** More `start` options (`--tls-self-signed`, `--watch`). */ args?: string[]; /** Arguments after `start` instead of `--config FILE --port 0` (e.g. `['--serverless', dir]`); `config` is then unused. */ startArgs?: string[] } = {}): Promise<GatewayProcess> {
  if (opts.startArgs) return launchGateway(opts.startArgs, { ...opts, freePort: false });
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-proc-'));
  const file = path.join(dir, 'switchboard.yaml');
  const withCreds = { ...config, management: config.management ?? { credentials: [{ ...CREDS }] } };
  // Relative handler paths in tests are written against test/fixtures.
  const routes = Object.fromEntries(
    Object.entries(withCreds.routes ?? {}).map(([k, r]) => [
      k,
      {
        ...r,
        ...(r.handler ? { handler: path.resolve(FIXTURES, r.handler) } : {}),
        ...(r.authorizer?.handler ? { authorizer: { ...r.authorizer, handler: path.resolve(FIXTURES, r.authorizer.handler) } } : {}),
      },
    ]),
  );
  writeFileSync(file, stringify({ logging: { level: 'info' }, ...withCreds, routes }));
  return launchGateway(['--config', file, ...(opts.args ?? [])], opts);
}

/**
 * Starts `switchboard start ARGS… --port 0` as written (e.g. `['--template', FILE, '--parameter', 'K=V']`);
 * resolves once it prints its URL.
 */
export async function launchGateway(startArgs: string[], opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; prefix?: string[]; /** false: no `--port 0` (the arguments or the project say the port). */ freePort?: boolean } = {}): Promise<GatewayProcess> {
  const args = [...(opts.nodeArgs ?? []), ...switchboardArgv(['start', ...startArgs, ...(opts.freePort === false ? [] : ['--port', '0'])])];
  const [cmd, ...pre] = [...(opts.prefix ?? []), process.execPath];
  const child = spawn(cmd!, [...pre, ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let errBuf = '';
  child.stderr!.on('data', (c: Buffer) => {
    errBuf += c.toString();
    let i;
    while ((i = errBuf.indexOf('\n')) !== -1) {
      lines.push(errBuf.slice(0, i));
      errBuf = errBuf.slice(i + 1);
    }
  });
  let running = true;
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? -1);
    }),
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 20 s:\n${out}\n${lines.join('\n')}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Switchboard listening on (wss?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening:\n${out}\n${lines.join('\n')}`));
    });
  });
  const port = Number(new URL(url).port);
  const pid = child.pid!;
  const statusField = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  };
  return {
    child,
    pid,
    port,
    url,
    managementEndpoint: url.replace(/^ws/, 'http'),
    stdout: () => out,
    logs: () => [...lines],
    logRecords: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, any>];
        } catch {
          return [];
        }
      }),
    exited,
    alive: () => running,
    rss: () => statusField('VmRSS') * 1024,
    fds: () => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return 0;
      }
    },
    stop: async (ms = 10_000) => {
      if (!running) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => running && child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
