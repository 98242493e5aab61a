import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, validateConfig, type LoadedConfig } from '../load.js';
import { loadDotenv } from './dotenv.js';
import { importServerless } from './import.js';
import { resolveStage, resolveVariables, type VariableContext } from './variables.js';
import { parseServerlessYaml } from './yaml.js';

/** How to read a Serverless Framework project. */
export interface ServerlessOptions {
  /** serverless.yml / .yaml / .json, or the folder holding it (default: the current directory). */
  path?: string;
  /** `--stage` (`${opt:stage}`, `${sls:stage}`); default: provider.stage, else dev. */
  stage?: string;
  /** `--region` (`${opt:region}`); default: provider.region, else us-east-1. */
  region?: string;
  /** `--param key=value` values for `${param:key}`. */
  params?: Record<string, string>;
  /** Other CLI options for `${opt:name}`. */
  options?: Record<string, string>;
  /** `--set key.path=value`: replaces a value of serverless.yml before variables resolve (e.g. one that reads SSM). */
  set?: Record<string, string>;
  /**
   * serverless-offline compatibility: port `custom.serverless-offline.websocketPort` (default 3001),
   * `IS_OFFLINE=true` in handlers, clients at `ws://HOST:PORT` and `@connections` at
   * `http://HOST:PORT/@connections/{id}` without the stage. Default: on when the project uses
   * serverless-offline (in `plugins` or `custom.serverless-offline`).
   */
  offline?: boolean;
  /** Environment for `${env:…}` (default process.env); .env files add to it, never override it. */
  env?: NodeJS.ProcessEnv;
  /** `${aws:accountId}` and the account in ARNs (default 000000000000). */
  accountId?: string;
}

/** A project read and converted: the validated configuration and what the import noted. */
export interface LoadedServerless extends LoadedConfig {
  file: string;
  notes: string[];
  offline: boolean;
  apiName: string;
  /** Route key → function key. */
  routes: Record<string, string>;
  /** The .env file read, if any. */
  dotenvFile: string | undefined;
}

const FILE_NAMES = ['serverless.yml', 'serverless.yaml', 'serverless.json'];

/** Finds the configuration file: the path itself, or serverless.yml/.yaml/.json in that folder. */
export function findServerlessFile(p = '.'): string {
  const abs = path.resolve(p);
  if (!existsSync(abs)) throw new ConfigError(`--serverless ${p}: no such file or folder`);
  if (statSync(abs).isFile()) {
    if (/\.(c|m)?[jt]s$/.test(abs)) throw new ConfigError(`${abs}: serverless.js/serverless.ts configurations are programs; Switchboard reads serverless.yml, .yaml or .json (run "serverless print --format yaml > serverless.resolved.yml" and point --serverless at that)`);
    return abs;
  }
  for (const n of FILE_NAMES) if (existsSync(path.join(abs, n))) return path.join(abs, n);
  const program = ['serverless.ts', 'serverless.js', 'serverless.mjs', 'serverless.cjs'].find((n) => existsSync(path.join(abs, n)));
  if (program) throw new ConfigError(`${path.join(abs, program)}: serverless.js/serverless.ts configurations are programs; Switchboard reads serverless.yml, .yaml or .json (run "serverless print --format yaml > serverless.resolved.yml" and point --serverless at that)`);
  throw new ConfigError(`no serverless.yml, serverless.yaml or serverless.json in ${abs}`);
}

/** Writes `value` at `a.b.c` (creating mappings on the way). */
function setPath(root: Record<string, unknown>, dotted: string, value: unknown): void {
  const segs = dotted.split('.');
  if (segs.some((s) => s === '' || s === '__proto__' || s === 'constructor' || s === 'prototype')) throw new ConfigError(`--set ${dotted}: not a key path`);
  let node: Record<string, unknown> = root;
  for (const s of segs.slice(0, -1)) {
    const next = node[s];
    if (next === null || typeof next !== 'object') node[s] = {};
    node = node[s] as Record<string, unknown>;
  }
  node[segs[segs.length - 1]!] = value;
}

/**
 * Reads a serverless.yml project into a validated Switchboard configuration: resolves its
 * variables offline (never through the `${NAME}` expansion switchboard.yaml uses), converts its
 * websocket events, and validates the result. Errors name the file, the key path and the fix.
 */
export function loadServerless(opts: ServerlessOptions = {}): LoadedServerless {
  const file = findServerlessFile(opts.path);
  const serviceDir = path.dirname(file);
  let raw: unknown;
  const text = readFileSync(file, 'utf8');
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseServerlessYaml(text, file);
  } catch (err) {
    throw new ConfigError(err instanceof SyntaxError ? `${file} is not valid JSON: ${err.message}` : (err as Error).message);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: expected a mapping (service, provider, functions) at the top level`);
  const root = raw as Record<string, unknown>;
  for (const [k, v] of Object.entries(opts.set ?? {})) setPath(root, k, v);

  const options: Record<string, string> = { ...opts.options };
  if (opts.stage !== undefined) options.stage = opts.stage;
  if (opts.region !== undefined) options.region = opts.region;
  const accountId = opts.accountId ?? '000000000000';
  const processEnv = opts.env ?? process.env;
  const ctx: VariableContext = { serviceDir, file, options, params: opts.params ?? {}, env: processEnv, accountId };

  // The stage picks the .env file, so it is resolved first, against the process environment only.
  const stage = options.stage ?? resolveStage(structuredClone(root), ctx);
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage)) throw new ConfigError(`${file}: the stage "${stage}" is not a valid stage name (letters, digits, "-" or "_")`);
  const dotenv = loadDotenv(serviceDir, stage, processEnv);
  ctx.env = { ...dotenv.values, ...processEnv };
  ctx.options = { ...options, stage };
  resolveVariables(root, ctx);

  const provider = (root.provider ?? {}) as Record<string, unknown>;
  if (options.region !== undefined) provider.region = options.region;
  root.provider = provider;
  const usesOffline = (Array.isArray(root.plugins) && root.plugins.includes('serverless-offline')) || (Array.isArray((root.plugins as { modules?: unknown })?.modules) && ((root.plugins as { modules: unknown[] }).modules.includes('serverless-offline'))) || (typeof root.custom === 'object' && root.custom !== null && 'serverless-offline' in root.custom);
  const offline = opts.offline ?? usesOffline;
  const imported = importServerless(root, { file, serviceDir, stage, offline, accountId });
  if (dotenv.file) imported.notes.unshift(`${path.basename(dotenv.file)} read for \${env:…} variables`);
  let config;
  try {
    config = validateConfig(imported.config, `${file} (as a Switchboard configuration)`);
  } catch (err) {
    // Say which function a route key belongs to.
    const msg = (err as Error).message.replace(/^  routes\.([^.\s:]+)/gm, (m, key: string) => (imported.routes[key] ? `${m} (function ${imported.routes[key]})` : m));
    throw new ConfigError(msg);
  }
  return { config, baseDir: serviceDir, file, notes: imported.notes, offline, apiName: imported.apiName, routes: imported.routes, dotenvFile: dotenv.file };
}
