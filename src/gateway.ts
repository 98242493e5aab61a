import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createAuthorize } from './auth/authorizer.js';
import { CredentialStore, type Credential } from './auth/credentials.js';
import { hasDotSegment, SigV4Verifier } from './auth/sigv4.js';
import { LocalBus } from './bus/bus-local.js';
import type { Bus } from './bus/bus.js';
import { importTemplate } from './config/cloudformation/index.js';
import { ConfigError, validateConfig } from './config/load.js';
import { loadServerless, type ServerlessOptions } from './config/serverless/index.js';
import type { Config, ConfigInput } from './config/schema.js';
import { createDirectiveApplier } from './connection/directives.js';
import { Hub } from './connection/hub.js';
import { newRequestId } from './connection/ids.js';
import { ConnectionLifecycle } from './connection/lifecycle.js';
import type { ApiInfo } from './events/events.js';
import { HttpPool } from './integrations/http.js';
import { installCallbackHook, rewriteRouteEnvironments } from './integrations/callback-hook.js';
import { IntegrationRuntime } from './integrations/factory.js';
import { TrustProxy } from './events/forwarded.js';
import { ManagementApi } from './management/api.js';
import { forbidden, sendError } from './management/errors.js';
import { extensionRoutes } from './management/extensions.js';
import { TokenBucket } from './shared/token-bucket.js';
import { Counters } from './observability/counters.js';
import { LogLimiter } from './observability/log-limiter.js';
import { AdminServer, type AdminRoute } from './observability/admin-server.js';
import { observabilityRoutes } from './observability/admin-routes.js';
import { adminApiRoutes } from './observability/admin-api.js';
import { dashboardRoutes } from './observability/dashboard.js';
import { NOOP_METRICS, PromMetrics } from './observability/metrics.js';
import { AccessLog } from './observability/access-log.js';
import { createLogger, type Logger } from './observability/logger.js';
import { MemoryRegistry } from './registry/registry-memory.js';
import { createClusterServices } from './cluster/cluster.js';
import { clusterObserver } from './observability/cluster-observer.js';
import { RegistryUnavailable, type NodeSummary, type Registry } from './registry/registry.js';
import { buildRouteTable } from './routing/route-table.js';
import { Transport } from './transport/server.js';

/** How to start a gateway in-process. */
export interface GatewayOptions {
  /** The configuration, as written in a file (validated here) or already validated; with `template`, keys written over the template's (as written). */
  config?: ConfigInput | Config;
  /** A SAM / CloudFormation / CDK template (`cdk.out/<Stack>.template.json`) whose WebSocket API to run; `baseDir` defaults to its folder. */
  template?: string;
  /** The template's parameter values, over their defaults (`AWS::StackName` may be given too). */
  parameters?: Record<string, string>;
  /**
   * A Serverless Framework project to run instead of `config`: the serverless.yml file or its folder,
   * or the import's options (stage, params, serverless-offline mode…). Handler paths resolve against its folder.
   */
  serverless?: string | ServerlessOptions;
  /** Folder that relative handler paths resolve against; default: the current directory. */
  baseDir?: string;
  /** Overrides `port` (0 picks a free port). */
  port?: number;
  /** Overrides `host`. */
  host?: string;
  /** A pino logger; default: JSON on stderr at `logging.level`. */
  logger?: Logger;
  /** Environment read for `management.credentialsFromEnv`; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where connection records live; default: a MemoryRegistry of this gateway's own. Several
   * in-process nodes may share one. The gateway starts it and closes it when it closes.
   */
  registry?: Registry;
  /** Carries management operations to the node holding a connection; default: LocalBus (one node). Started with this node's hub, closed with the gateway. */
  bus?: Bus;
  /** This node's id in records (`nodeId`); default: the bus's node id (`local` for LocalBus). */
  nodeId?: string;
}

/** A running gateway. */
export interface Gateway {
  /** Client URL: `ws://HOST:PORT/STAGE` (`wss://` with `tls`). */
  readonly url: string;
  /** Management endpoint, as given to the AWS SDK: `http://HOST:PORT/STAGE` (`https://` with `tls`). */
  readonly managementEndpoint: string;
  readonly port: number;
  readonly stage: string;
  /** The credentials handlers are given (and that management calls may be signed with). */
  readonly handlerCredentials: Credential | undefined;
  readonly config: Config;
  readonly logger: Logger;
  /** Refusals, throttles and faults counted so far (see observability/counters.ts for the names). */
  readonly counters: Counters;
  /** Open connections on this node. */
  connectionCount(): number;
  /**
   * Functions run in worker threads (`isolation: worker`): their module files, and a restart of
   * the pools of some of them on the code as it is now, connections untouched (what `--watch` uses).
   */
  readonly workers: { modules(): string[]; reload(files: readonly string[]): Promise<Array<{ file: string; error?: Error }>> };
  /** Admin listener URL (`http://HOST:PORT`: /metrics, /health, /ready, admin API); undefined when `admin` is not configured. */
  readonly adminUrl: string | undefined;
  /** Drains: refuses new handshakes with 503, lets running handlers and $connects finish (up to `shutdown.graceSeconds`), closes clients with 1001 "Going away", waits for every $disconnect, stops listening, and restores the process environment it set for handlers. */
  close(): Promise<void>;
}

const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Splits a request target into its raw path, raw query and non-empty raw path segments.
 * `dotted`: the path has a `.`/`..` segment (also percent-encoded), which the SigV4 canonical
 * path resolves and routing would not; such requests are refused, never routed.
 */
function splitTarget(url: string | undefined): { rawPath: string; rawQuery: string; segments: string[]; dotted: boolean } {
  const target = url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? '' : target.slice(q + 1);
  // SDK v3 with a trailing-slash endpoint sends `/dev//@connections/…`: empty segments collapse
  // (the signer's canonical path drops them too).
  return { rawPath, rawQuery, segments: rawPath.split('/').filter((s) => s !== ''), dotted: hasDotSegment(rawPath) };
}

/** Accepted credentials: configured ones, plus the environment's when asked. */
function collectCredentials(config: Config, env: NodeJS.ProcessEnv): Credential[] {
  const list: Credential[] = config.management.credentials.map((c) => ({ ...c }));
  if (config.management.credentialsFromEnv && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    // A temporary key is only accepted with its session token, as AWS would.
    list.push({ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) });
  }
  return list;
}

const HANDLER_ENV_KEYS = ['AWS_REGION', 'AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
type SavedEnv = Record<(typeof HANDLER_ENV_KEYS)[number], string | undefined>;

/**
 * Gateways of this process that set the handler environment, oldest first, each with the
 * values it replaced. Handlers run in-process and the environment is process-wide, so the
 * newest gateway's values are in force; closing one restores what was there before it.
 */
const envFrames: Array<{ saved: SavedEnv }> = [];

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** Sets the handler environment and returns how to undo it (in any order of closing). */
function pushHandlerEnv(apply: () => void, logger: Logger): () => void {
  if (envFrames.length > 0) {
    logger.warn('another gateway in this process already set the handler environment (AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, credentials): handlers of both now call back to this one; set handlerEnvironment: false on all but one');
  }
  const frame = { saved: Object.fromEntries(HANDLER_ENV_KEYS.map((k) => [k, process.env[k]])) as SavedEnv };
  envFrames.push(frame);
  apply();
  return () => {
    const i = envFrames.indexOf(frame);
    if (i === -1) return;
    if (i === envFrames.length - 1) for (const k of HANDLER_ENV_KEYS) setEnv(k, frame.saved[k]);
    else envFrames[i + 1]!.saved = frame.saved; // a newer gateway's values stay; what it restores becomes what was before us
    envFrames.splice(i, 1);
  };
}

/** Reads `tls.cert` / `tls.key` (relative to the config file); a missing file is a configuration error. */
function readTls(files: { cert: string; key: string }, baseDir: string): { cert: string; key: string } {
  const read = (key: 'cert' | 'key') => {
    const file = path.resolve(baseDir, files[key]);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`tls.${key}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read('cert'), key: read('key') };
}

/**
 * Starts a gateway: validates the configuration, loads every handler (failing before listening
 * when one is missing), and listens. The one place that knows all the parts.
 */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  if (opts.template !== undefined) {
    // The template becomes a configuration first; what it cannot run is refused here, before listening.
    const imported = await importTemplate({ template: opts.template, parameters: opts.parameters, overrides: opts.config as Record<string, unknown> | undefined });
    const logger = opts.logger ?? createLogger(validateConfig(imported.config).logging.level);
    for (const w of imported.warnings) logger.warn(w);
    opts = { ...opts, config: imported.config, baseDir: opts.baseDir ?? imported.baseDir, template: undefined, logger };
  }
  if (opts.config !== undefined && opts.serverless !== undefined) throw new ConfigError('give either "config" or "serverless", not both');
  const imported = opts.serverless !== undefined ? loadServerless(typeof opts.serverless === 'string' ? { path: opts.serverless, env: opts.env } : { env: opts.env, ...opts.serverless }) : undefined;
  if (imported === undefined && opts.config === undefined) throw new ConfigError('createGateway needs "config" (or "serverless": a serverless.yml to run)');
  const config = imported ? imported.config : validateConfig(opts.config);
  const env = opts.env ?? process.env;
  const host = opts.host ?? config.host;
  const logger = opts.logger ?? createLogger(config.logging.level, config.logging.pretty);
  if (imported) logger.info({ file: imported.file, stage: config.stage, offline: imported.offline, notes: imported.notes }, 'serverless project imported');
  const counters = new Counters();
  const logLimiter = new LogLimiter(logger, counters);
  // One process by default: its own memory registry and a bus that calls its hub directly. With
  // `cluster`, Redis holds the registry and carries the bus, and this node leases its place there.
  const cluster = config.cluster ? createClusterServices(config.cluster, config.stage, config.apiId, opts.nodeId ? { nodeId: opts.nodeId } : {}) : undefined;
  const registry: Registry = opts.registry ?? cluster?.registry ?? new MemoryRegistry();
  const bus: Bus = opts.bus ?? cluster?.bus ?? new LocalBus(opts.nodeId);
  const nodeId = opts.nodeId ?? bus.nodeId;
  const hub = new Hub({ registry, counters, logLimiter });
  const startedAt = Date.now();
  /** `GET @nodes`: this process alone, or every node with a lease in Redis. */
  const nodes = async (): Promise<NodeSummary[]> => {
    if (!cluster) return [{ nodeId: bus.nodeId, connections: hub.size, state: 'alive', self: true, pid: process.pid, startedAt }];
    if (!cluster.available()) throw new RegistryUnavailable('Redis is unreachable');
    try {
      return await cluster.nodes();
    } catch (err) {
      throw new RegistryUnavailable(`node list failed: ${(err as Error).message}`);
    }
  };
  const api: ApiInfo = { apiId: config.apiId, stage: config.stage, region: config.region, accountId: config.accountId };
  const accessLog = new AccessLog(logger, config.logging.accessLog, api);
  let lifecycle!: ConnectionLifecycle;
  // Metrics only with the admin listener (their only reader); otherwise every hook is a no-op.
  const promMetrics = config.admin
    ? new PromMetrics({ stage: config.stage, connectionsOpen: () => hub.size, traffic: () => lifecycle.traffic(), sendBufferBytes: () => lifecycle.budget.total, counters, ...(cluster ? { redisAvailable: () => cluster.available() } : {}) })
    : undefined;
  const metrics = promMetrics ?? NOOP_METRICS;

  const credentials = collectCredentials(config, env);
  if (config.management.auth === 'sigv4' && credentials.length === 0) {
    // Handlers must still be able to call back: mint a key for this run and hand it to them.
    credentials.push({ accessKeyId: `SBLOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(24).toString('base64url') });
    logger.warn({ accessKeyId: credentials[0]!.accessKeyId }, 'no management credentials configured: generated one for this run (given to in-process handlers only); set management.credentials to call the management API from outside');
  }
  if (config.management.auth === 'none') {
    logger.warn('MANAGEMENT API AUTHENTICATION IS OFF (management.auth: none): anyone who can reach this port can push to and disconnect every client. For local development only.');
  }

  const baseDir = imported?.baseDir ?? opts.baseDir ?? process.cwd();
  const tls = config.tls ? readTls(config.tls, baseDir) : undefined;
  const scheme = tls ? 'https' : 'http';
  const urlHostOf = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h);
  // Environment values holding this API's callback URL point at this gateway (with a free port
  // picked at listen time, the AWS form stays, and the callback hook routes it).
  const fixedPort = opts.port ?? config.port;
  const endpointNow = fixedPort === 0 ? undefined : `${scheme}://${urlHostOf(host)}:${fixedPort}/${config.stage}`;
  rewriteRouteEnvironments(config, endpointNow);
  const handlerCredentials = credentials[0];

  // Set before the handler modules load, as Lambda sets them before a function's module runs:
  // modules read them at load time (`const { AWS_REGION } = process.env`). The endpoint needs
  // the port: with a free port picked at listen time it is set once listening.
  let restoreEnv = () => {};
  if (config.handlerEnvironment) restoreEnv = pushHandlerEnv(() => {
    // What Lambda gives a function, pointed at this gateway, so unchanged AWS handlers can call back.
    process.env.AWS_REGION = config.region;
    if (endpointNow !== undefined) process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = endpointNow;
    const envKey = process.env.AWS_ACCESS_KEY_ID;
    if (handlerCredentials && !credentials.some((c) => c.accessKeyId === envKey && c.secretAccessKey === process.env.AWS_SECRET_ACCESS_KEY)) {
      process.env.AWS_ACCESS_KEY_ID = handlerCredentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = handlerCredentials.secretAccessKey;
      if (handlerCredentials.sessionToken) process.env.AWS_SESSION_TOKEN = handlerCredentials.sessionToken;
      else delete process.env.AWS_SESSION_TOKEN;
    } else if (!handlerCredentials && !envKey) {
      process.env.AWS_ACCESS_KEY_ID = 'SWITCHBOARDLOCAL';
      process.env.AWS_SECRET_ACCESS_KEY = 'switchboard-local';
    }
  }, logger);
  const envFrame = envFrames.at(-1);

  // This gateway's own HTTP client for its integrations (bounded per backend), closed with it.
  const httpPool = new HttpPool({ connections: config.limits.httpIntegrationConnections, queue: config.limits.httpIntegrationQueue, counters, logLimiter });
  const runtime = new IntegrationRuntime(config, counters, logLimiter);
  const store = new CredentialStore(credentials);
  let routes, authorize;
  try {
    routes = await buildRouteTable(config, baseDir, httpPool, runtime);
    authorize = await createAuthorize({ config, baseDir, api, credentials: store, logger, logLimiter, httpPool, runtime, metrics });
  } catch (err) {
    await runtime.close(); // what loaded so far (the environment proxy, workers) must not outlive the failure
    restoreEnv();
    throw err;
  }
  promMetrics?.bindRoutes(routes.all());
  const management = new ManagementApi({
    stage: config.stage,
    messageBytes: config.limits.messageBytes,
    requestBodyTimeoutMs: config.limits.requestBodyTimeoutMs,
    bus,
    logger,
    verifier: config.management.auth === 'sigv4' ? new SigV4Verifier({ credentials: store, regions: config.management.regions }) : null,
    rateLimiter: config.management.rateLimit ? new TokenBucket(config.management.rateLimit.perSecond, config.management.rateLimit.burst) : undefined,
    extensions: extensionRoutes({ registry, bus, nodes }),
    counters,
    logLimiter,
    metrics,
    accessLog,
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { rawPath, rawQuery, segments } = splitTarget(req.url);
    // serverless-offline's clients connect to the bare host (stagelessPaths).
    if ((segments.length !== 1 || segments[0] !== config.stage) && !(config.stagelessPaths && segments.length === 0)) {
      logLimiter.log('info', 'handshake-refused:403', { path: rawPath, sourceIp: req.socket.remoteAddress }, 'handshake refused (403): not this stage');
      metrics.clientError();
      return transport.reject(socket, 403, '{"message":"Forbidden"}');
    }
    const key = req.headers['sec-websocket-key'];
    const version = req.headers['sec-websocket-version'];
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket' || !key || !WS_KEY.test(key) || (version !== '13' && version !== '8')) {
      logLimiter.log('info', 'handshake-refused:400', { path: rawPath, sourceIp: req.socket.remoteAddress, method: req.method, version }, 'handshake refused (400): not a valid WebSocket handshake');
      metrics.clientError();
      return transport.reject(socket, 400, '{"message":"Bad WebSocket handshake"}');
    }
    lifecycle.handleUpgrade(req, socket, head, rawPath, rawQuery).catch((err: unknown) => lifecycle.upgradeFailed(socket, err));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const { rawPath, rawQuery, segments, dotted } = splitTarget(req.url);
    if (dotted) {
      // As AWS's edge: a dot segment is refused before any route or signature is looked at.
      req.resume();
      counters.inc('managementRefused', 403);
      logLimiter.log('info', 'dot-segment', { reason: 'dot segment in path', method: req.method, sourceIp: req.socket.remoteAddress }, 'request refused (403): dot segment in path');
      return sendError(res, forbidden(), newRequestId());
    }
    if (segments[0] === config.stage && segments.length >= 2 && (segments[1]!.startsWith('@') || segments[1]!.startsWith('%40'))) {
      return management.handle(req, res, rawPath, rawQuery, segments.slice(1));
    }
    if (config.stagelessPaths && segments.length >= 1 && (segments[0]!.startsWith('@') || segments[0]!.startsWith('%40'))) {
      // serverless-offline's `/@connections/{id}`; the signature covers the path as sent.
      return management.handle(req, res, rawPath, rawQuery, segments);
    }
    req.resume();
    if (segments.some((s) => s.startsWith('@'))) {
      // A management call for another stage: AWS answers 403 Forbidden.
      const requestId = newRequestId();
      logLimiter.log('info', 'management-refused:wrong-stage', { requestId, method: req.method, path: rawPath, status: 403 }, 'management call refused: not this stage');
      return sendError(res, forbidden(), requestId);
    }
    // A plain HTTP request on the WebSocket URL (AWS: 426 on any path).
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade' });
    res.end('{"message":"Upgrade Required"}');
  };

  const transport = new Transport({ host, port: opts.port ?? config.port, messageBytes: config.limits.messageBytes, frameBytes: Math.min(config.limits.frameBytes, config.limits.messageBytes), onUpgrade, onRequest, logger, counters, logLimiter, handshakeTimeoutMs: config.limits.handshakeTimeoutMs, tls });
  lifecycle = new ConnectionLifecycle({
    api,
    routes,
    limits: config.limits,
    domainName: config.domainName,
    nodeId,
    acceptWhileRegistryDown: config.cluster?.acceptWhileRegistryDown,
    transport,
    registry,
    hub,
    logger,
    authorize,
    applyDirectives: createDirectiveApplier(hub),
    counters,
    logLimiter,
    trustProxy: config.trustProxy.length > 0 ? new TrustProxy(config.trustProxy) : undefined,
    metrics,
    accessLog,
  });

  let port: number;
  try {
    await registry.start();
    // Joined (lease, subscriptions) before listening: a client is never accepted by a node the others cannot reach.
    if (cluster) await cluster.start({ hub, logger, runDisconnect: (rec, code, reason) => lifecycle.disconnectRecord(rec, code, reason), observer: clusterObserver(counters, promMetrics) });
    else await bus.start(hub);
    port = await transport.listen();
  } catch (err) {
    await (cluster ? cluster.close() : bus.close()).catch(() => {});
    await registry.close().catch(() => {});
    await httpPool.close();
    await runtime.close();
    logLimiter.close();
    restoreEnv();
    throw err;
  }
  const urlHost = urlHostOf(host);

  // Readiness: false from the moment draining starts (load balancers stop sending new clients).
  // In cluster mode also false while Redis is unreachable.
  let draining = false;
  const isReady = () => !draining && (cluster?.available() ?? true);
  let admin: AdminServer | undefined;
  let adminUrl: string | undefined;
  if (config.admin && promMetrics) {
    const adminRoutes: AdminRoute[] = [
      ...observabilityRoutes({ metricsText: () => promMetrics.text(), metricsContentType: promMetrics.contentType, isReady, metricsAuth: true }),
      ...adminApiRoutes({ registry, bus, nodes, messageBytes: config.limits.messageBytes, stats: () => ({ connections: hub.size, ...lifecycle.traffic() }), counters, logLimiter }),
      ...dashboardRoutes(),
    ];
    admin = new AdminServer({ host: config.admin.host, port: config.admin.port, token: config.admin.token, routes: adminRoutes, logger, logLimiter, counters, bodyBytes: config.limits.messageBytes, bodyTimeoutMs: config.limits.requestBodyTimeoutMs });
    try {
      adminUrl = `http://${urlHostOf(config.admin.host)}:${await admin.listen()}`;
    } catch (err) {
      await transport.close();
      await (cluster ? cluster.close() : bus.close());
      await registry.close();
      await httpPool.close();
      await runtime.close();
      logLimiter.close();
      promMetrics.close();
      restoreEnv();
      throw err;
    }
  }
  const managementEndpoint = `${scheme}://${urlHost}:${port}/${config.stage}`;
  if (config.handlerEnvironment && envFrames.at(-1) === envFrame) {
    // Known now that the port is (the rest was set before the handler modules loaded).
    process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = managementEndpoint;
  }

  // Handlers that build their own callback URL (https://{apiId}.execute-api.{region}.amazonaws.com/{stage},
  // https://{domainName}/{stage}) reach this gateway too: inline ones through this process's hook.
  const hookOptions = { apiId: config.apiId, region: config.region, stage: config.stage, domainName: config.domainName, gateway: { host, port, tls: tls !== undefined, cert: tls?.cert } };
  let uninstallHook = () => {};
  if (config.handlerEnvironment) uninstallHook = installCallbackHook(
    hookOptions,
    (fields, msg) => {
      counters.inc('callbackUnresolved');
      logLimiter.log('warn', 'callback-unresolved', fields, msg);
    },
  );

  try {
    // Worker pools start now: their workers' environment carries the endpoint set above.
    await runtime.start(config.handlerEnvironment ? hookOptions : undefined);
  } catch (err) {
    await transport.close();
    await (cluster ? cluster.close() : bus.close());
    await registry.close();
    await httpPool.close();
    await runtime.close();
    await admin?.close();
    promMetrics?.close();
    logLimiter.close();
    restoreEnv();
    uninstallHook();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    url: `${tls ? 'wss' : 'ws'}://${urlHost}:${port}/${config.stage}`,
    managementEndpoint,
    port,
    stage: config.stage,
    handlerCredentials,
    config,
    logger,
    counters,
    connectionCount: () => hub.size,
    workers: { modules: () => runtime.workerModules(), reload: (files) => runtime.reloadWorkers(files) },
    adminUrl,
    close: () =>
      (closing ??= (async () => {
        draining = true;
        // The listener stays open while draining: new handshakes get 503 and handlers still
        // finishing can call the management API.
        await lifecycle.shutdown(config.shutdown.graceSeconds * 1000);
        // A cluster node leaves: leftover records removed, the others told at once.
        await (cluster ? cluster.close() : bus.close());
        await registry.close();
        await transport.close();
        await admin?.close();
        promMetrics?.close();
        await httpPool.close();
        await runtime.close();
        logLimiter.close();
        restoreEnv();
        uninstallHook();
      })()),
  };
}
