import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { patchFetch, unpatchFetch, type FetchRoute } from './callback-fetch.js';

/**
 * Lets handlers call back to this gateway with the URLs they build themselves.
 *
 * AWS handlers build the management endpoint from the event (`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`
 * or `https://{domainName}/{stage}`) and pass it explicitly, which beats AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.
 * The hook sits where every node:http/node:https request gets its socket (`Agent#createConnection`: the
 * AWS SDK v3 NodeHttpHandler, SDK v2 and `https.get` all pass through it) and connects requests for this
 * API's hostnames to the gateway's listener instead. Nothing else changes: the Host header (which SigV4
 * signs) stays what the handler built, and with TLS off an https request is carried over plain HTTP.
 * `fetch` (Node's global one, undici) goes through a global dispatcher that does the same
 * (callback-fetch.ts). No DNS or /etc/hosts changes; only code in the process (or worker) that
 * installed the hook is affected.
 */

/** Where this gateway's callbacks go; plain data so a worker thread can receive it. */
export interface CallbackHookOptions {
  apiId: string;
  region: string;
  stage: string;
  /** The configured `domainName` (host or host:port), if any: requests to it go to the gateway too. */
  domainName?: string;
  gateway: {
    /** The listening host (`0.0.0.0`/`::` mean this machine's addresses). */
    host: string;
    port: number;
    /** The listener speaks TLS. */
    tls: boolean;
    /** PEM of the gateway's certificate (TLS only): trusted, and pinned, for redirected requests. */
    cert?: string;
  };
}

/** Reports a callback that could not resolve an execute-api hostname (the gateway passes its rate-limited logger). */
export type UnresolvedReporter = (fields: { host: string; apiHost: string }, msg: string) => void;

interface Target {
  key: string;
  refs: number;
  apiHost: string;
  /** host:port pairs (lowercase, IPv6 unbracketed) that mean the gateway itself. */
  self: Set<string>;
  /** Hostnames that go to the gateway whatever the port (its execute-api name, a port-less domainName with TLS off). */
  names: Set<string>;
  opts: CallbackHookOptions;
  ca?: string[];
  fingerprint?: string;
  report?: UnresolvedReporter;
}

const targets: Target[] = [];
let originals: { http: typeof http.Agent.prototype.createConnection; https: typeof https.Agent.prototype.createConnection } | undefined;

const EXECUTE_API = /\.execute-api\.[a-z0-9-]+\.amazonaws\.com$/i;

/**
 * Routes this process's (or worker's) requests for the API's AWS hostname, and for `domainName`
 * and the gateway's own host:port, to the gateway's listener. Idempotent: the same options
 * installed twice are counted once; the returned function undoes one installation (the patch
 * is removed with the last one).
 */
export function installCallbackHook(opts: CallbackHookOptions, report?: UnresolvedReporter): () => void {
  const key = JSON.stringify([opts.apiId, opts.region, opts.stage, opts.domainName ?? '', opts.gateway.host, opts.gateway.port, opts.gateway.tls, opts.gateway.cert ?? '']);
  let target = targets.find((t) => t.key === key);
  if (target) {
    target.refs++;
    if (report) target.report = report;
  } else {
    target = makeTarget(key, opts, report);
    targets.push(target);
  }
  patch();
  const t = target;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--t.refs > 0) return;
    targets.splice(targets.indexOf(t), 1);
    if (targets.length === 0) unpatch();
  };
}

function makeTarget(key: string, opts: CallbackHookOptions, report: UnresolvedReporter | undefined): Target {
  const apiHost = `${opts.apiId}.execute-api.${opts.region}.amazonaws.com`.toLowerCase();
  const port = opts.gateway.port;
  const hosts = new Set(['localhost', '127.0.0.1', '::1', unbracket(opts.gateway.host.toLowerCase())]);
  if (opts.gateway.host === '0.0.0.0' || opts.gateway.host === '::') {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(a.address.toLowerCase());
  }
  const self = new Set([...hosts].map((h) => `${h}:${port}`));
  const names = new Set([apiHost]);
  if (opts.domainName) {
    const { host, port: p } = splitHostPort(opts.domainName);
    if (p === undefined) names.add(host);
    else self.add(`${host}:${p}`);
  }
  const t: Target = { key, refs: 1, apiHost, self, names, opts, report };
  if (opts.gateway.tls && opts.gateway.cert) {
    t.ca = [...tls.rootCertificates, ...extraCaCerts(), opts.gateway.cert];
    try {
      t.fingerprint = new X509Certificate(opts.gateway.cert).fingerprint256;
    } catch {
      // not a parsable certificate: verification falls back to the hostname check
    }
  }
  return t;
}

/** NODE_EXTRA_CA_CERTS is read by Node at start only; an explicit `ca` replaces it, so it is added back. */
function extraCaCerts(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

function unbracket(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function splitHostPort(hp: string): { host: string; port: number | undefined } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp.trim().toLowerCase());
  if (!m) return { host: hp.toLowerCase(), port: undefined };
  return { host: unbracket(m[1]!), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** The newest target that claims this host:port, if any. */
function targetFor(host: string, port: number): Target | undefined {
  const h = unbracket(host.toLowerCase());
  for (let i = targets.length - 1; i >= 0; i--) {
    const t = targets[i]!;
    if (t.self.has(`${h}:${port}`)) return t;
    if (t.names.has(h)) {
      // The execute-api name (and a port-less domainName) only on the default ports.
      if (port === 443 || port === 80) return t;
    }
  }
  return undefined;
}

type ConnectOptions = net.NetConnectOpts & tls.ConnectionOptions & { host?: string; port?: number | string; servername?: string; defaultPort?: number };

function normalize(args: unknown[], defaultPort: number): ConnectOptions {
  // Agent#createConnection(options, cb) or (port, host, options): Node's own agents accept both.
  if (typeof args[0] === 'object' && args[0] !== null) return args[0] as ConnectOptions;
  const o: ConnectOptions = { ...((typeof args[2] === 'object' && args[2]) || {}) } as ConnectOptions;
  if (args[0] !== undefined) o.port = args[0] as number;
  if (typeof args[1] === 'string') o.host = args[1];
  o.port ??= defaultPort;
  return o;
}

/** The address to connect to for the gateway's listener (a wildcard listen address means loopback). */
function connectHost(t: Target): string {
  const g = t.opts.gateway;
  return g.host === '0.0.0.0' ? '127.0.0.1' : g.host === '::' ? '::1' : unbracket(g.host);
}

/** The check that accepts the gateway's own certificate for any redirected name (else the usual hostname check). */
function identityCheck(t: Target): (name: string, cert: tls.PeerCertificate) => Error | undefined {
  const pinned = t.fingerprint;
  // The execute-api name is in a generated certificate's names but not in one the user brought.
  return (name, cert) => (pinned !== undefined && cert.fingerprint256 === pinned ? undefined : tls.checkServerIdentity(name, cert));
}

function connectTo(t: Target, o: ConnectOptions, secureRequest: boolean, fallback: () => Duplex, cb: unknown): Duplex {
  const g = t.opts.gateway;
  const host = connectHost(t);
  if (!g.tls) {
    // Plain listener: an https request is carried over plain HTTP (the request itself is unchanged).
    const sock = net.connect({ host, port: g.port });
    if (typeof cb === 'function') sock.once('connect', () => (cb as (e: null, s: Duplex) => void)(null, sock));
    return sock;
  }
  if (!secureRequest) return fallback(); // http:// to a TLS listener: left as the handler wrote it
  const originalHost = unbracket(String(o.host ?? 'localhost'));
  const options: tls.ConnectionOptions = { ...o, host, port: g.port, servername: net.isIP(originalHost) ? undefined : originalHost };
  if (t.ca) {
    options.ca = t.ca;
    options.checkServerIdentity = identityCheck(t);
  }
  const sock = tls.connect(options);
  if (typeof cb === 'function') sock.once('secureConnect', () => (cb as (e: null, s: Duplex) => void)(null, sock));
  return sock;
}

function watchUnresolved(sock: Duplex, host: string): void {
  sock.once('error', (err: Error & { code?: string }) => {
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reportUnresolved(host, err.code);
  });
}

/** A callback to an execute-api name that is not this gateway's failed to resolve: says how to fix it. */
function reportUnresolved(host: string, code: string): void {
  const t = targets[targets.length - 1];
  if (!t) return;
  const msg = `a handler's callback to ${host} failed (${code}): this gateway answers as ${t.apiHost}; set apiId and region in the configuration to match the URL the handler builds (or let it use AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI)`;
  if (t.report) t.report({ host, apiHost: t.apiHost }, msg);
  else defaultReport(host, msg);
}

/** Where `fetch` sends a request for host:port: the listener of the gateway that claims it, if one does. */
function fetchRoute(host: string, port: number): FetchRoute | undefined {
  const t = targetFor(host, port);
  if (t === undefined) return undefined;
  const g = t.opts.gateway;
  return { host: connectHost(t), port: g.port, tls: g.tls, ...(t.ca ? { ca: t.ca, checkServerIdentity: identityCheck(t) } : {}) };
}

const reported = new Map<string, number>();
/** Without the gateway's logger (a worker): one stderr line per host per 10 s. */
function defaultReport(host: string, msg: string): void {
  const now = Date.now();
  if ((reported.get(host) ?? 0) > now - 10_000) return;
  if (reported.size > 100) reported.clear();
  reported.set(host, now);
  process.stderr.write(JSON.stringify({ level: 40, time: now, host, msg }) + '\n');
}

function wrap(original: (...args: any[]) => Duplex, secure: boolean): (...args: any[]) => Duplex {
  return function (this: unknown, ...args: unknown[]): Duplex {
    const o = normalize(args, secure ? 443 : 80);
    const host = String(o.host ?? 'localhost');
    const port = Number(o.port ?? (secure ? 443 : 80));
    const cb = typeof args[1] === 'function' ? args[1] : undefined;
    const t = (o as { socketPath?: string }).socketPath === undefined ? targetFor(host, port) : undefined;
    if (t) return connectTo(t, o, secure, () => original.apply(this, args), cb);
    const sock = original.apply(this, args);
    if (EXECUTE_API.test(host) && sock) watchUnresolved(sock, host);
    return sock;
  };
}

function patch(): void {
  if (originals) return;
  originals = { http: http.Agent.prototype.createConnection, https: https.Agent.prototype.createConnection };
  http.Agent.prototype.createConnection = wrap(originals.http as any, false) as any;
  https.Agent.prototype.createConnection = wrap(originals.https as any, true) as any;
  patchFetch({ route: fetchRoute, isApiHost: (h) => EXECUTE_API.test(h), unresolved: reportUnresolved });
}

function unpatch(): void {
  if (!originals) return;
  http.Agent.prototype.createConnection = originals.http;
  https.Agent.prototype.createConnection = originals.https;
  originals = undefined;
  unpatchFetch();
}

/** Values a callback URL may be written as: with or without a scheme, with or without a trailing slash. */
export interface CallbackUrlTarget {
  apiId: string;
  region: string;
  stage: string;
  /** Configured `domainName`, if any. */
  domainName?: string;
  /** The gateway's management endpoint (`http(s)://HOST:PORT/STAGE`). */
  endpoint: string;
}

/**
 * Rewrites an environment value that holds this API's callback URL (`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`,
 * `https://{domainName}/{stage}`, with or without scheme or trailing slash; `wss://` forms too) to the
 * gateway's endpoint. Any other value is returned unchanged. The importers' environments go through
 * this when the gateway starts.
 */
export function rewriteCallbackUrl(value: string, api: CallbackUrlTarget): string {
  const m = /^(https?:\/\/|wss?:\/\/)?([^/\s?#]+)(\/[^\s?#]*)?$/i.exec(value.trim());
  if (!m) return value;
  const scheme = (m[1] ?? '').toLowerCase();
  const host = m[2]!.toLowerCase();
  const pathPart = m[3] ?? '';
  const apiHost = `${api.apiId}.execute-api.${api.region}.amazonaws.com`.toLowerCase();
  const matches = host === apiHost || host === `${apiHost}:443` || (api.domainName !== undefined && host === api.domainName.toLowerCase());
  if (!matches) return value;
  const segs = pathPart.split('/').filter((s) => s !== '');
  // Only the stage root (what the SDK takes as endpoint) or a path under it.
  if (segs.length > 0 && segs[0] !== api.stage) return value;
  const rest = segs.slice(1).join('/');
  const endpoint = api.endpoint.replace(/\/+$/, '');
  let out = endpoint;
  if (scheme.startsWith('ws')) out = endpoint.replace(/^http/i, 'ws');
  if (segs.length === 0) out = out.replace(/\/[^/]*$/, ''); // host only: the host only
  else if (rest) out += `/${rest}`;
  if (pathPart.endsWith('/') && segs.length > 0) out += '/';
  if (scheme === '') out = out.replace(/^[a-z]+:\/\//i, '');
  return out;
}

/** Rewrites every value of an environment map with `rewriteCallbackUrl`; the same object when nothing changed. */
export function rewriteEnvironment(env: Record<string, string>, api: CallbackUrlTarget): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(env)) {
    const r = rewriteCallbackUrl(v, api);
    if (r !== v) (out ??= { ...env })[k] = r;
  }
  return out ?? env;
}

/**
 * Applies `rewriteCallbackUrl` to every route's and authorizer's `environment` (importers copy
 * serverless.yml / template environments as they are). Without an endpoint (the port is picked at
 * listen time) values naming a domainName become the AWS form, which the callback hook routes.
 */
export function rewriteRouteEnvironments(
  config: { apiId: string; region: string; stage: string; domainName?: string; routes: Record<string, { environment?: Record<string, string>; authorizer?: { environment?: Record<string, string> } }> },
  endpoint: string | undefined,
): void {
  const target: CallbackUrlTarget = { apiId: config.apiId, region: config.region, stage: config.stage, domainName: config.domainName, endpoint: endpoint ?? `https://${config.apiId}.execute-api.${config.region}.amazonaws.com/${config.stage}` };
  for (const [key, route] of Object.entries(config.routes)) {
    let next = route;
    if (route.environment) {
      const env = rewriteEnvironment(route.environment, target);
      if (env !== route.environment) next = { ...next, environment: env };
    }
    if (route.authorizer?.environment) {
      const env = rewriteEnvironment(route.authorizer.environment, target);
      if (env !== route.authorizer.environment) next = { ...next, authorizer: { ...route.authorizer, environment: env } };
    }
    if (next !== route) config.routes[key] = next;
  }
}
