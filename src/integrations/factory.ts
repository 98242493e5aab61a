import type { Config } from '../config/schema.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { FunctionEnv, installFunctionEnv, runWithEnv } from './function-env.js';
import { EnvHandlerIntegration, HandlerIntegration, HandlerLoadError, loadHandler } from './handler.js';
import { HttpIntegration, type HttpPool } from './http.js';
import type { Integration } from './integration.js';

/** What a route or authorizer names as its integration, and how its function runs. */
export interface IntegrationRef {
  handler?: string | undefined;
  http?: string | undefined;
  /** The function's own environment variables, merged over the gateway's. */
  environment?: Record<string, string> | undefined;
  /** Where a `handler` runs; default: the top-level `isolation`. */
  isolation?: 'inline' | 'worker' | undefined;
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

  /** Releases what the integrations hold (the environment proxy once no gateway needs it). */
  async close(): Promise<void> {
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
  if (ref.handler) {
    const env = runtime?.functionEnv(ref) ?? null;
    let fn;
    try {
      // Imported in the function's environment, so values its module reads at load time are its own.
      ({ fn } = await (env !== null ? runWithEnv(env, loadHandler, ref.handler, baseDir) : loadHandler(ref.handler, baseDir)));
    } catch (err) {
      if (err instanceof HandlerLoadError) throw new HandlerLoadError(`${where}: ${err.message}`);
      throw err;
    }
    return env !== null ? new EnvHandlerIntegration(fn, ref.handler, region, accountId, env) : new HandlerIntegration(fn, ref.handler, region, accountId);
  }
  if (ref.http) return new HttpIntegration(ref.http, http.pool, http.answerBytes, http.answerLimit);
  return null;
}
