import type { Config } from '../config/schema.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { CallbackHookOptions } from './callback-hook.js';
import { FunctionEnv, installFunctionEnv, runWithEnv } from './function-env.js';
import { EnvHandlerIntegration, HandlerIntegration, HandlerLoadError, loadHandler, resolveHandlerFile } from './handler.js';
import { HttpIntegration, type HttpPool } from './http.js';
import { HttpProxyIntegration } from './http-proxy.js';
import type { Integration } from './integration.js';
import { LambdaIntegration, type LambdaRef } from './lambda.js';
import { MockIntegration } from './mock.js';
import { WorkerIntegration, WorkerPool } from './worker-pool.js';

/** What a route or authorizer names as its integration, and how its function runs. */
export interface IntegrationRef {
  handler?: string | undefined;
  http?: string | undefined;
  /** AWS HTTP_PROXY: the raw message POSTed, the backend's body the route response. */
  httpProxy?: string | undefined;
  /** A function behind the Lambda Invoke API. */
  lambda?: LambdaRef | undefined;
  /** AWS MOCK: an answer without a backend. */
  mock?: { statusCode: number; body?: string | undefined } | undefined;
  /** The function's package root: a package.json above it does not decide whether `.js` is CommonJS. */
  codeRoot?: string | undefined;
  /** The function's own environment variables, merged over the gateway's. */
  environment?: Record<string, string> | undefined;
  /** Where a `handler` runs; default: the top-level `isolation`. */
  isolation?: 'inline' | 'worker' | undefined;
  /** With `isolation: worker`: calls running at once; default `workers.maxConcurrency`. */
  maxConcurrency?: number | undefined;
  /** The function's name (`AWS_LAMBDA_FUNCTION_NAME` in a worker). */
  functionName?: string | undefined;
}

/** What HTTP integrations are built with: the gateway's pool and the largest answer read (and the key it comes from). */
export interface HttpIntegrationDeps {
  pool: HttpPool;
  answerBytes: number;
  /** `limits.messageBytes` or `limits.handshakeAnswerBytes`: the label of the refusal counter. */
  answerLimit: string;
}

/** The functions a configuration names: every route and the $connect authorizer. */
function functionRefs(config: Config): IntegrationRef[] {
  const refs: IntegrationRef[] = [];
  for (const r of Object.values(config.routes)) {
    refs.push(r);
    if (r.authorizer) refs.push(r.authorizer);
  }
  return refs;
}

/**
 * What one gateway's integrations share: whether in-process handlers get their own
 * environment (function-env.ts: only when one of them has an `environment`, so a gateway
 * without any pays nothing), and, once it listens, what they need to call back.
 */
export class IntegrationRuntime {
  /** True when some in-process function has an `environment`: every in-process call then runs in its function's environment. */
  readonly inlineEnv: boolean;
  private releaseEnv: (() => void) | undefined;

  constructor(
    readonly config: Config,
    readonly counters?: Counters,
    readonly logLimiter?: LogLimiter,
  ) {
    this.inlineEnv = functionRefs(config).some((r) => r.handler !== undefined && (r.isolation ?? config.isolation) === 'inline' && r.environment !== undefined);
  }

  /** The environment an in-process function runs in; null when no in-process function has one. */
  functionEnv(ref: IntegrationRef): FunctionEnv | null {
    if (!this.inlineEnv) return null;
    this.releaseEnv ??= installFunctionEnv();
    return new FunctionEnv(ref.environment);
  }

  /** The worker pools of functions with `isolation: worker`, started once the gateway listens. */
  readonly pools: WorkerPool[] = [];

  /**
   * Starts every worker pool with the environment handlers get (read now: the gateway has just
   * set its endpoint and credentials), waiting until each has loaded its module. Throws a
   * HandlerLoadError naming the route when one cannot.
   */
  async start(callbackHook?: CallbackHookOptions): Promise<void> {
    if (this.pools.length === 0) return;
    const env = { ...process.env }; // outside any call: the gateway's own values
    await Promise.all(this.pools.map((p) => p.start(env, callbackHook)));
  }

  /** The module files of functions run in workers (what `--watch` watches besides in-process ones). */
  workerModules(): string[] {
    return [...new Set(this.pools.map((p) => p.opts.file))];
  }

  /**
   * Restarts the worker pools of the functions whose module is one of `files` on the code as it
   * is now (`--watch`); open connections and calls in progress are not affected. A module that
   * does not load keeps its old workers; the result says why.
   */
  async reloadWorkers(files: readonly string[]): Promise<Array<{ file: string; error?: Error }>> {
    const wanted = new Set(files);
    const pools = this.pools.filter((p) => wanted.has(p.opts.file));
    const results = await Promise.all(pools.map(async (p) => ({ file: p.opts.file, error: await p.reload() })));
    // One result per module: pools of one file load the same code.
    const byFile = new Map<string, { file: string; error?: Error }>();
    for (const r of results) if (!byFile.has(r.file) || r.error) byFile.set(r.file, r.error ? r : { file: r.file });
    return [...byFile.values()];
  }

  /** Lambda clients (their sockets), closed with the gateway. */
  readonly lambdas: LambdaIntegration[] = [];

  /** Releases what the integrations hold: worker threads, Lambda clients, and the environment proxy once no gateway needs it. */
  async close(): Promise<void> {
    await Promise.allSettled(this.pools.map((p) => p.close()));
    for (const l of this.lambdas) l.close();
    this.releaseEnv?.();
    this.releaseEnv = undefined;
  }
}

/**
 * Builds (and for handlers, loads) the integration a route or authorizer names; null when it
 * names none. A module that cannot be loaded is a HandlerLoadError naming `where`, the
 * configuration key it came from (`routes.echo`, `routes.$connect.authorizer`).
 */
export async function createIntegration(ref: IntegrationRef, baseDir: string, region: string, accountId: string, where: string, http: HttpIntegrationDeps, runtime?: IntegrationRuntime): Promise<Integration | null> {
  if (ref.handler && runtime !== undefined && (ref.isolation ?? runtime.config.isolation) === 'worker') {
    // Found now, so a missing file stops the gateway before it listens; the module itself loads in the worker.
    const hash = ref.handler.lastIndexOf('#');
    let file: string;
    try {
      file = resolveHandlerFile(hash === -1 ? ref.handler : ref.handler.slice(0, hash), baseDir);
    } catch (err) {
      if (err instanceof HandlerLoadError) throw new HandlerLoadError(`${where}: ${err.message}`);
      throw err;
    }
    const { workers } = runtime.config;
    const pool = new WorkerPool({
      ref: ref.handler,
      file,
      baseDir,
      codeRoot: ref.codeRoot,
      region,
      accountId,
      environment: ref.environment,
      functionName: ref.functionName ?? where,
      maxConcurrency: ref.maxConcurrency ?? workers.maxConcurrency,
      idleMs: workers.idleSeconds * 1000,
      maxOldGenerationSizeMb: workers.maxOldGenerationSizeMb,
      where,
      counters: runtime.counters,
      logLimiter: runtime.logLimiter,
    });
    runtime.pools.push(pool);
    return new WorkerIntegration(pool);
  }
  if (ref.handler) {
    const env = runtime?.functionEnv(ref) ?? null;
    let fn;
    try {
      // Imported in the function's environment, so values its module reads at load time are its own.
      ({ fn } = await (env !== null ? runWithEnv(env, loadHandler, ref.handler, baseDir, ref.codeRoot) : loadHandler(ref.handler, baseDir, ref.codeRoot)));
    } catch (err) {
      if (err instanceof HandlerLoadError) throw new HandlerLoadError(`${where}: ${err.message}`);
      throw err;
    }
    return env !== null ? new EnvHandlerIntegration(fn, ref.handler, region, accountId, env) : new HandlerIntegration(fn, ref.handler, region, accountId);
  }
  if (ref.http) return new HttpIntegration(ref.http, http.pool, http.answerBytes, http.answerLimit);
  if (ref.httpProxy) return new HttpProxyIntegration(ref.httpProxy, http.pool, http.answerBytes, http.answerLimit);
  if (ref.mock) return new MockIntegration(ref.mock);
  if (ref.lambda) {
    const integration = new LambdaIntegration(ref.lambda, region);
    runtime?.lambdas.push(integration);
    return integration;
  }
  return null;
}
