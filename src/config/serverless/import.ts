import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROBE_EXTENSIONS } from '../../integrations/handler.js';
import { fromLambdaHandler } from '../handler-string.js';
import { Evaluator, intrinsicName, NO_VALUE, type Symbols as CfnSymbols } from '../cloudformation/intrinsics.js';
import { ConfigError } from '../load.js';
import type { ConfigInput } from '../schema.js';
import { keyPath } from './variables.js';

/**
 * Turns a resolved serverless.yml (variables already substituted) into a Switchboard
 * configuration: one route per `websocket` event, the function's handler, its environment
 * (`provider.environment` under `functions.*.environment`), timeout and Lambda name, the
 * `$connect` authorizer, and the serverless-offline settings when that mode is on.
 * Whatever cannot run is an error naming the function and key; nothing is dropped silently.
 */

/** Options of the import itself (beyond variable resolution). */
export interface ImportOptions {
  /** File name for messages. */
  file: string;
  /** Folder of serverless.yml: handler paths resolve against it. */
  serviceDir: string;
  /** Resolved stage (`${sls:stage}`). */
  stage: string;
  /** serverless-offline compatibility (port 3001, IS_OFFLINE, stage-less URLs). */
  offline: boolean;
  /** `${aws:accountId}` and ARNs. */
  accountId: string;
}

/** What the import produced: the configuration plus what the user should know about. */
export interface ImportResult {
  config: ConfigInput;
  /** Things ignored or adapted, one line each, for the startup output. */
  notes: string[];
  /** `websocketsApiName` (or the Framework's default name), for the startup output. */
  apiName: string;
  /** Route key → function key. */
  routes: Record<string, string>;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** AWS caps WebSocket integrations at 29 s and REQUEST authorizers at 10 s. */
const INTEGRATION_CAP_MS = 29_000;
const AUTHORIZER_CAP_MS = 10_000;
/** The Framework's default Lambda timeout (seconds). */
const DEFAULT_TIMEOUT_S = 6;
/** Where the usual build plugins write compiled handlers (serverless-esbuild, the v4 built-in esbuild, serverless-plugin-typescript, serverless-webpack). */
const BUILD_DIRS = ['.esbuild/.build', '.serverless/build', '.build', '.webpack/service'];
const OFFLINE_IGNORED = ['httpPort', 'lambdaPort', 'albPort', 'noPrependStageInUrl', 'prefix', 'corsAllowHeaders', 'corsAllowOrigin', 'corsDisallowCredentials', 'corsExposedHeaders', 'location', 'terminateIdleLambdaTime', 'reloadHandler', 'preLoadModules', 'useWorkerThreads', 'useChildProcesses', 'useInProcess', 'localEnvironment', 'layersDir', 'dockerHost', 'dockerHostServicePath', 'dockerNetwork', 'dockerReadOnly', 'printOutput', 'resourceRoutes', 'enforceSecureCookies', 'ignoreJWTSignature', 'disableCookieValidation', 'hideStackTraces', 'allowCache', 'apiKey'];

/** Builds the Switchboard configuration from a resolved serverless.yml. */
export function importServerless(sls: Obj, opts: ImportOptions): ImportResult {
  const notes: string[] = [];
  const fail = (where: (string | number)[], message: string): never => {
    throw new ConfigError(`${opts.file}: ${keyPath(where)}: ${message}`);
  };

  const service = typeof sls.service === 'string' ? sls.service : isObj(sls.service) && typeof sls.service.name === 'string' ? sls.service.name : fail(['service'], 'a service name is required');
  const provider = isObj(sls.provider) ? sls.provider : {};
  if (provider.name !== undefined && provider.name !== 'aws') fail(['provider', 'name'], `provider "${String(provider.name)}" is not supported: Switchboard runs AWS API Gateway WebSocket projects`);
  const region = typeof provider.region === 'string' ? provider.region : 'us-east-1';
  const stage = opts.stage;

  // The legacy serverless-websockets-plugin spelling, still seen in older projects.
  let rse = provider.websocketsApiRouteSelectionExpression;
  if (rse === undefined && provider.websocketApiRouteSelectionExpression !== undefined) {
    rse = provider.websocketApiRouteSelectionExpression;
    notes.push('provider.websocketApiRouteSelectionExpression (the old plugin\'s spelling) read as websocketsApiRouteSelectionExpression');
  }
  if (rse !== undefined && typeof rse !== 'string') fail(['provider', 'websocketsApiRouteSelectionExpression'], 'expected a string');
  const apiName = typeof provider.websocketsApiName === 'string' ? provider.websocketsApiName : `${stage}-${service}-websockets`;
  const apiIdConfigured = isObj(provider.apiGateway) ? provider.apiGateway.websocketApiId : undefined;
  const apiId = typeof apiIdConfigured === 'string' && /^[a-z0-9]{1,32}$/.test(apiIdConfigured) ? apiIdConfigured : undefined;
  if (apiIdConfigured !== undefined && apiId === undefined) notes.push('provider.apiGateway.websocketApiId ignored (not a plain API id)');
  for (const k of ['websocketsDescription', 'logs', 'websocket', 'tracing', 'iam', 'iamRoleStatements', 'deploymentBucket', 'layers', 'vpc']) {
    if (provider[k] !== undefined) notes.push(`provider.${k} has no local effect and is ignored`);
  }

  const functions = mergeFunctions(sls.functions, fail);
  const providerEnv = environmentOf(provider.environment, ['provider', 'environment'], { file: opts.file, service, stage, region, accountId: opts.accountId, apiId: apiId ?? 'switchboard', sls }, notes, fail);
  const providerTimeout = provider.timeout;
  const providerRuntime = provider.runtime;

  const offlineCustom = isObj(sls.custom) && isObj(sls.custom['serverless-offline']) ? (sls.custom['serverless-offline'] as Obj) : {};
  const noAuth = opts.offline && offlineCustom.noAuth === true;

  /** A function's handler reference, environment, timeout and name, checked. */
  const fnSetup = (name: string) => {
    const fn = functions[name]!;
    const where = ['functions', name];
    const runtime = fn.runtime ?? providerRuntime;
    if (runtime !== undefined && !(typeof runtime === 'string' && /^nodejs/.test(runtime))) {
      fail([...where, fn.runtime !== undefined ? 'runtime' : 'provider.runtime'], `runtime "${String(runtime)}" is not Node.js: Switchboard runs Node.js handlers only (route it to a Lambda with a switchboard.yaml "lambda:" integration instead)`);
    }
    if (fn.image !== undefined) fail([...where, 'image'], 'container-image functions cannot run in Switchboard (it loads Node.js handler files)');
    if (typeof fn.handler !== 'string') fail([...where, 'handler'], 'a handler (path/to/file.export) is required');
    const handler = handlerRef(fn.handler as string, [...where, 'handler'], opts.serviceDir, notes, fail);
    const env = { ...providerEnv, ...environmentOf(fn.environment, [...where, 'environment'], { file: opts.file, service, stage, region, accountId: opts.accountId, apiId: apiId ?? 'switchboard', sls }, notes, fail) };
    // serverless-offline sets IS_OFFLINE in every handler; code branches on it (README "The process.env.IS_OFFLINE variable").
    if (opts.offline) env.IS_OFFLINE = 'true';
    const t = fn.timeout ?? providerTimeout ?? DEFAULT_TIMEOUT_S;
    const seconds = typeof t === 'string' && /^\d+(\.\d+)?$/.test(t) ? Number(t) : t;
    if (typeof seconds !== 'number' || !(seconds > 0)) fail([...where, fn.timeout !== undefined ? 'timeout' : 'provider.timeout'], `expected a number of seconds, got ${JSON.stringify(t)}`);
    const functionName = typeof fn.name === 'string' ? fn.name : `${service}-${stage}-${name}`;
    return { handler, environment: env, timeoutMs: Math.round((seconds as number) * 1000), functionName };
  };

  const routes: Record<string, Obj> = {};
  const owner: Record<string, string> = {};
  for (const [name, fn] of Object.entries(functions)) {
    const events = fn.events ?? [];
    if (!Array.isArray(events)) fail(['functions', name, 'events'], 'expected a list of events');
    let setup: ReturnType<typeof fnSetup> | undefined;
    const others = new Set<string>();
    (events as unknown[]).forEach((ev, i) => {
      const where = ['functions', name, 'events', i];
      if (!isObj(ev)) return fail(where, 'expected an event mapping such as { websocket: $connect }');
      const kinds = Object.keys(ev);
      if (!kinds.includes('websocket')) {
        kinds.forEach((k) => others.add(k));
        return;
      }
      setup ??= fnSetup(name);
      const ws = ev.websocket;
      let route: string;
      let twoWay = false;
      let authorizer: unknown;
      if (typeof ws === 'string') route = ws;
      else if (isObj(ws)) {
        const key = ws.route ?? ws.routeKey;
        if (ws.route === undefined && ws.routeKey !== undefined) notes.push(`functions.${name}.events.${i}.websocket.routeKey (the old plugin's spelling) read as route`);
        if (typeof key !== 'string' || key === '') return fail([...where, 'websocket', 'route'], 'a route key is required ($connect, $disconnect, $default or a custom key)');
        route = key;
        if (ws.routeResponseSelectionExpression !== undefined) {
          if (ws.routeResponseSelectionExpression !== '$default') fail([...where, 'websocket', 'routeResponseSelectionExpression'], 'only $default exists for WebSocket APIs (AWS)');
          twoWay = true;
        }
        authorizer = ws.authorizer;
        for (const k of Object.keys(ws)) {
          if (!['route', 'routeKey', 'routeResponseSelectionExpression', 'authorizer'].includes(k)) notes.push(`functions.${name}.events.${i}.websocket.${k} is not a websocket event key (the Framework's schema refuses it): ignored`);
        }
      } else return fail([...where, 'websocket'], 'expected a route key or { route, routeResponseSelectionExpression?, authorizer? }');
      if (Object.hasOwn(owner, route)) fail([...where, 'websocket'], `route "${route}" is already served by function "${owner[route]}": a route key may appear once (the Framework and serverless-offline would silently keep only the last)`);
      if (route === '$disconnect' && twoWay) fail([...where, 'websocket', 'routeResponseSelectionExpression'], '$disconnect cannot send a route response');
      owner[route] = name;
      const r: Obj = { handler: setup.handler, environment: setup.environment, timeoutMs: Math.min(setup.timeoutMs, INTEGRATION_CAP_MS), functionName: setup.functionName };
      if (setup.timeoutMs > INTEGRATION_CAP_MS) notes.push(`functions.${name}: timeout ${setup.timeoutMs / 1000} s capped at API Gateway's 29 s integration timeout`);
      if (twoWay) r.routeResponse = true;
      if (authorizer !== undefined) {
        if (route !== '$connect') fail([...where, 'websocket', 'authorizer'], 'authorizers apply to $connect only (as on AWS)');
        if (noAuth) notes.push(`custom.serverless-offline.noAuth: the $connect authorizer of function "${name}" is NOT run: every client is accepted`);
        else r.authorizer = authorizerOf(authorizer, [...where, 'websocket', 'authorizer'], functions, fnSetup, region, notes, fail);
      }
      routes[route] = r;
    });
    if (others.size > 0) notes.push(`functions.${name}: ${[...others].join(', ')} event${others.size > 1 ? 's' : ''} ignored (Switchboard serves WebSocket events only)`);
  }
  if (Object.keys(routes).length === 0) fail(['functions'], 'no function has a websocket event: there is nothing for Switchboard to serve');

  const config: ConfigInput = { stage, region, accountId: opts.accountId, routes: routes as ConfigInput['routes'] };
  if (typeof rse === 'string') config.routeSelectionExpression = rse;
  if (apiId !== undefined) config.apiId = apiId;
  if (opts.offline) applyOffline(config, offlineCustom, opts, notes, fail);
  return { config, notes, apiName, routes: owner };
}

/** `functions` as a map, or a list of maps merged (the Framework accepts both). */
function mergeFunctions(fns: unknown, fail: (w: (string | number)[], m: string) => never): Record<string, Obj> {
  if (fns === undefined || fns === null) return {};
  const list = Array.isArray(fns) ? fns : [fns];
  const out: Record<string, Obj> = {};
  list.forEach((m, i) => {
    if (!isObj(m)) fail(Array.isArray(fns) ? ['functions', i] : ['functions'], 'expected a mapping of function names to definitions');
    for (const [k, v] of Object.entries(m)) {
      if (!isObj(v)) fail(['functions', k], 'expected a function definition (handler, events, …)');
      out[k] = v;
    }
  });
  return out;
}

/**
 * `src/chat.connect` → `./src/chat.ts#connect` after checking the module exists, trying the
 * extensions the handler loader tries (Lambda's order, then TypeScript sources), then the same in
 * the usual build plugins' output folders. The file found is named with its extension.
 */
function handlerRef(handler: string, where: (string | number)[], serviceDir: string, notes: string[], fail: (w: (string | number)[], m: string) => never): string {
  let ref: string;
  try {
    ref = fromLambdaHandler(handler, keyPath(where));
  } catch (err) {
    return fail(where, (err as Error).message.replace(/^[^:]*: /, ''));
  }
  const hash = ref.indexOf('#');
  const modulePath = ref.slice(0, hash);
  const exportPath = ref.slice(hash + 1);
  if (path.isAbsolute(modulePath)) fail(where, `handler "${handler}" must be relative to the service folder`);
  const found = probe(serviceDir, modulePath);
  if (found) return `./${found}#${exportPath}`;
  for (const dir of BUILD_DIRS) {
    const built = probe(serviceDir, path.posix.join(dir, modulePath));
    if (built) {
      notes.push(`${keyPath(where)}: no source at ${modulePath}.*, using the build output ${built} (rebuild it after changes)`);
      return `./${built}#${exportPath}`;
    }
  }
  return fail(where, `handler "${handler}": no file ${modulePath}{${PROBE_EXTENSIONS.filter(Boolean).join(',')}} in ${serviceDir}`);
}

function probe(serviceDir: string, modulePath: string): string | undefined {
  for (const ext of PROBE_EXTENSIONS) {
    const rel = modulePath + ext;
    const abs = path.resolve(serviceDir, rel);
    if (existsSync(abs) && statSync(abs).isFile()) return rel.split(path.sep).join('/');
  }
  return undefined;
}

/** What CloudFormation references in environment values resolve to locally. */
interface Symbols {
  /** The serverless.yml file, for errors. */
  file: string;
  service: string;
  stage: string;
  region: string;
  accountId: string;
  apiId: string;
  sls: Obj;
}

/** An `environment` map: values become strings; the CloudFormation intrinsics that can be evaluated offline are. */
function environmentOf(env: unknown, where: (string | number)[], sym: Symbols, notes: string[], fail: (w: (string | number)[], m: string) => never): Record<string, string> {
  if (env === undefined || env === null) return {};
  if (!isObj(env)) return fail(where, 'expected a mapping of variable names to values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === null || v === undefined) continue;
    const value = intrinsic(v, [...where, k], sym, notes, fail);
    if (value !== NO_VALUE) out[k] = value;
  }
  return out;
}

/**
 * A value with CloudFormation intrinsics evaluated by the template importer's evaluator, against
 * what is known locally: pseudo parameters, `WebsocketsApi` (the API id), and `resources.Resources`
 * (a resource's name property, a local ARN). Anything else is an error naming the key.
 */
function intrinsic(v: unknown, where: (string | number)[], sym: Symbols, notes: string[], fail: (w: (string | number)[], m: string) => never): string | typeof NO_VALUE {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const key = keyPath(where);
  const override = ` (override it: --set ${key}=VALUE)`;
  if (!isObj(v) || intrinsicName(v) === undefined) return fail(where, `expected a text value, not ${JSON.stringify(v)}${override}`);
  const resources = isObj(sym.sls.resources) && isObj(sym.sls.resources.Resources) ? (sym.sls.resources.Resources as Obj) : {};
  const pseudo: Record<string, string> = {
    'AWS::Region': sym.region,
    'AWS::AccountId': sym.accountId,
    'AWS::StackName': `${sym.service}-${sym.stage}`,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const symbols: CfnSymbols = {
    parameter: (name) => (Object.hasOwn(pseudo, name) ? pseudo[name] : undefined),
    resourceRef(name) {
      if (name === 'WebsocketsApi') return sym.apiId;
      const res = resources[name];
      if (!isObj(res)) return undefined;
      // A table, queue or bucket with an explicit name is referenced by that name.
      const props = isObj(res.Properties) ? res.Properties : {};
      for (const p of ['TableName', 'QueueName', 'BucketName', 'TopicName', 'FunctionName', 'Name']) {
        if (typeof props[p] === 'string') return props[p];
      }
      notes.push(`${key}: Ref ${name} has no name property; its logical id "${name}" is used`);
      return name;
    },
    resourceAtt(res, attr) {
      if (!isObj(resources[res])) return undefined;
      if (attr !== 'Arn') return fail(where, `Fn::GetAtt ${res}.${attr} cannot be evaluated offline${override}`);
      notes.push(`${key}: Fn::GetAtt ${res}.Arn given a local ARN`);
      return `arn:aws:local:${sym.region}:${sym.accountId}:${symbols.resourceRef(res, key)!}`;
    },
    condition: (name) => fail(where, `condition ${name}: Conditions are not evaluated for serverless.yml values${override}`),
    mappings: isObj(sym.sls.resources) && isObj(sym.sls.resources.Mappings) ? (sym.sls.resources.Mappings as Obj) : {},
    region: sym.region,
  };
  const ev = new Evaluator(symbols, sym.file, (_at, why) => fail(where, `${why}${override}`));
  const r = ev.eval(v, key);
  if (r === NO_VALUE) return r;
  if (typeof r === 'string') return r;
  if (typeof r === 'number' || typeof r === 'boolean') return String(r);
  return fail(where, `expected a text value, got ${Array.isArray(r) ? 'a list' : 'a mapping'}${override}`);
}

/** `{ name | arn, identitySource }` or a function name / ARN → a Switchboard REQUEST authorizer. */
function authorizerOf(
  a: unknown,
  where: (string | number)[],
  functions: Record<string, Obj>,
  fnSetup: (name: string) => { handler: string; environment: Record<string, string>; timeoutMs: number; functionName: string },
  region: string,
  notes: string[],
  fail: (w: (string | number)[], m: string) => never,
): Obj {
  let name: string | undefined;
  let arn: string | undefined;
  let identitySource: unknown = ['route.request.header.Auth'];
  if (typeof a === 'string') {
    if (a.includes(':')) arn = a;
    else name = a;
  } else if (isObj(a)) {
    for (const k of Object.keys(a)) if (!['name', 'arn', 'identitySource'].includes(k)) fail([...where, k], 'not an authorizer key (name, arn, identitySource)');
    if (typeof a.arn === 'string') arn = a.arn;
    else if (a.arn !== undefined) return fail([...where, 'arn'], 'an ARN given as a CloudFormation reference cannot be resolved offline; name a function of this service instead');
    if (typeof a.name === 'string' && arn === undefined) name = a.name;
    if (a.identitySource !== undefined) identitySource = typeof a.identitySource === 'string' ? [a.identitySource] : a.identitySource;
  } else return fail(where, 'expected a function name, an ARN, or { name | arn, identitySource }');
  if (!Array.isArray(identitySource) || identitySource.length === 0) fail([...where, 'identitySource'], 'expected a list of identity sources');
  (identitySource as unknown[]).forEach((s, i) => {
    if (typeof s !== 'string' || !/^route\.request\.(header|querystring)\.[^\s.]+$/.test(s)) {
      fail([...where, 'identitySource', i], `"${String(s)}" cannot be read locally: Switchboard reads route.request.header.NAME and route.request.querystring.NAME`);
    }
  });
  if (arn !== undefined) {
    // A function deployed elsewhere: called through the Lambda Invoke API, in its own region.
    const m = /^arn:[^:]+:lambda:([^:]+):\d{12}:function:[^:]+(:[^:]+)?$/.exec(arn);
    if (!m) return fail(where, `"${arn}" is not a Lambda function ARN`);
    notes.push(`${keyPath(where)}: authorizer ${arn} is called in AWS through the Lambda Invoke API (needs AWS credentials and network)`);
    return { lambda: { functionName: arn, ...(m[1] !== region ? { region: m[1] } : {}) }, identitySource };
  }
  if (name === undefined) return fail(where, 'an authorizer needs a function name or an ARN');
  if (!Object.hasOwn(functions, name)) return fail(where, `no function "${name}" in this service (functions: ${Object.keys(functions).join(', ') || 'none'})`);
  const s = fnSetup(name);
  return { handler: s.handler, environment: s.environment, identitySource, timeoutMs: Math.min(s.timeoutMs, AUTHORIZER_CAP_MS) };
}

/** serverless-offline's settings: port 3001, its host and timeouts, its TLS folder, stage-less URLs. */
function applyOffline(config: ConfigInput, custom: Obj, opts: ImportOptions, notes: string[], fail: (w: (string | number)[], m: string) => never): void {
  const where = ['custom', 'serverless-offline'];
  const num = (k: string): number | undefined => {
    const v = custom[k];
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    return typeof n === 'number' && n >= 0 ? n : fail([...where, k], `expected a number, got ${JSON.stringify(v)}`);
  };
  config.port = num('websocketPort') ?? 3001;
  if (typeof custom.host === 'string') config.host = custom.host === 'localhost' ? '127.0.0.1' : custom.host;
  const idle = num('webSocketIdleTimeout');
  const hard = num('webSocketHardTimeout');
  if (idle !== undefined || hard !== undefined) config.limits = { ...(idle !== undefined ? { idleTimeoutSeconds: idle } : {}), ...(hard !== undefined ? { maxConnectionSeconds: hard } : {}) };
  if (custom.noTimeout === true) {
    for (const r of Object.values(config.routes ?? {})) r.timeoutMs = 900_000;
    notes.push('custom.serverless-offline.noTimeout: handlers run with a 15-minute timeout');
  }
  if (typeof custom.httpsProtocol === 'string' && custom.httpsProtocol !== '') {
    const dir = path.resolve(opts.serviceDir, custom.httpsProtocol);
    config.tls = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  }
  if (custom.useDocker === true) fail([...where, 'useDocker'], 'Switchboard does not run handlers in Docker; remove useDocker to run them in Node.js');
  for (const k of Object.keys(custom)) {
    if (OFFLINE_IGNORED.includes(k)) notes.push(`custom.serverless-offline.${k} has no effect in Switchboard`);
  }
  // Its URLs: ws://localhost:3001 and http://localhost:3001/@connections/{id}, without the stage.
  config.stagelessPaths = true;
}
