// Starting the servers a scenario compares: Switchboard (the built CLI) and the baselines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_CREDS } from './sigv4.mjs';
import { startNode } from './proc.mjs';

export const BENCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.join(BENCH_DIR, '..');
export const HANDLERS = path.join(BENCH_DIR, 'fixtures', 'handlers.mjs');

/** The admin token of metrics-on runs (`extra.metrics`). */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

/**
 * Starts Switchboard from dist/ (run `npm run build` first; `npm run bench` does) with a
 * configuration on stage `bench`; resolves with its URL, origin, PID and a stop function.
 * `extra.metrics`: with the admin listener (Prometheus metrics on), and `adminUrl` in the answer.
 * `extra.nodeArgs`: node flags before the script (`--cpu-prof` for bench/profile.mjs).
 * SWITCHBOARD_DIST (environment): another build's dist/ directory, to profile an older commit.
 * `extra.config`: more top-level configuration keys (e.g. `cluster`), merged last.
 */
export async function startSwitchboard(routes, extra = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-bench-'));
  const file = path.join(dir, 'switchboard.json');
  const config = {
    stage: 'bench',
    routes,
    limits: { idleTimeoutSeconds: 3600, maxConnectionSeconds: 7200, ...extra.limits },
    management: { credentials: [BENCH_CREDS] },
    logging: { level: 'warn' },
    ...(extra.metrics ? { admin: { port: 0, token: BENCH_ADMIN_TOKEN } } : {}),
    ...extra.config,
  };
  writeFileSync(file, JSON.stringify(config));
  const ready = extra.metrics ? /Switchboard listening on (ws:\/\/\S+)[\s\S]*admin: +(http:\/\/\S+)/ : /Switchboard listening on (ws:\/\/\S+)/;
  const s = await startNode([...(extra.nodeArgs ?? []), path.join(process.env.SWITCHBOARD_DIST ?? path.join(ROOT, 'dist'), 'cli', 'main.js'), 'start', '--config', file, '--port', '0'], { ready, ...extra.node });
  return { ...describe(s, 'switchboard'), adminUrl: s.match[2] };
}

/** Starts a baseline server script from bench/baselines (`extra.nodeArgs` as for startSwitchboard). */
export async function startBaseline(script, extra = {}) {
  const s = await startNode([...(extra.nodeArgs ?? []), path.join(BENCH_DIR, 'baselines', script), '0'], { ready: /Baseline listening on (ws:\/\/\S+)/, ...extra.node });
  return describe(s, 'baseline');
}

function describe(s, kind) {
  const url = s.match[1];
  return { kind, url, origin: url.replace('ws://', 'http://').replace(/\/[^/]*$/, ''), pid: s.pid, stop: s.stop, stderr: s.stderr };
}

export const handler = (name) => `${HANDLERS}#${name}`;
