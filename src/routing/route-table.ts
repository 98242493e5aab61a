import type { Config, RouteConfig, RouteSettings } from '../config/schema.js';
import { createIntegration, type IntegrationRuntime } from '../integrations/factory.js';
import type { HttpPool } from '../integrations/http.js';
import type { Integration } from '../integrations/integration.js';
import { TokenBucket } from '../shared/token-bucket.js';
import { compileSelectionExpression, type CompiledExpression } from './selection-expression.js';

/** A configured route, ready to invoke. */
export interface Route {
  readonly key: string;
  readonly integration: Integration | null;
  /** Send the integration's body back to the caller (two-way route). */
  readonly routeResponse: boolean;
  readonly timeoutMs: number;
  readonly functionName: string;
  readonly config: RouteConfig;
  /** AWS route throttling over all clients of the stage; null when no settings apply. Over it: "Too Many Requests" (429 on $connect). */
  readonly throttle: TokenBucket | null;
}

/** AWS's account-level throttling, which a route setting that names only one of the two numbers falls back on. */
export const AWS_ACCOUNT_THROTTLE = Object.freeze({ rateLimit: 10_000, burstLimit: 5_000 });

/**
 * The token bucket for a route: its own `routeSettings` entry wins over `defaultRouteSettings`
 * (as a whole); a number neither names takes AWS's account default. No settings: no bucket.
 * $disconnect is never throttled (it reports a close that already happened).
 */
export function routeThrottle(key: string, config: Pick<Config, 'routeSettings' | 'defaultRouteSettings'>): TokenBucket | null {
  if (key === '$disconnect') return null;
  const s: RouteSettings | undefined = config.routeSettings[key] ?? config.defaultRouteSettings;
  if (s === undefined || (s.throttlingRateLimit === undefined && s.throttlingBurstLimit === undefined)) return null;
  return new TokenBucket(s.throttlingRateLimit ?? AWS_ACCOUNT_THROTTLE.rateLimit, s.throttlingBurstLimit ?? AWS_ACCOUNT_THROTTLE.burstLimit);
}

/** The routes of a stage and the selection expression that picks among them. */
export class RouteTable {
  private readonly byKey = new Map<string, Route>();
  readonly connect: Route | undefined;
  readonly disconnect: Route | undefined;
  readonly fallback: Route | undefined;

  constructor(
    routes: Route[],
    private readonly expression: CompiledExpression,
  ) {
    for (const r of routes) this.byKey.set(r.key, r);
    this.connect = this.byKey.get('$connect');
    this.disconnect = this.byKey.get('$disconnect');
    this.fallback = this.byKey.get('$default');
  }

  /** The route for a message body: an exact key match, else `$default`, else undefined (AWS then answers "Forbidden"). */
  select(body: string): Route | undefined {
    const key = this.expression(body);
    if (key !== undefined && key !== '' && key.charCodeAt(0) !== 36 /* $ */) {
      const r = this.byKey.get(key);
      if (r !== undefined) return r;
    }
    return this.fallback;
  }

  /** The shortest integration timeout of any message route (the sweeper's period follows it). */
  shortestTimeoutMs(): number {
    let ms = Infinity;
    for (const r of this.byKey.values()) if (r.integration !== null && r.key !== '$connect' && r.key !== '$disconnect') ms = Math.min(ms, r.timeoutMs);
    return ms;
  }

  get(key: string): Route | undefined {
    return this.byKey.get(key);
  }

  /** Every configured route. */
  all(): IterableIterator<Route> {
    return this.byKey.values();
  }
}

/**
 * Compiles the selection expression and loads every route's integration, failing fast (before
 * listening) with errors that name the route: `routes.KEY: …` (HandlerLoadError).
 */
export async function buildRouteTable(config: Config, baseDir: string, httpPool: HttpPool, runtime?: IntegrationRuntime): Promise<RouteTable> {
  const expression = compileSelectionExpression(config.routeSelectionExpression); // the schema checked it
  const routes: Route[] = [];
  const { messageBytes, handshakeAnswerBytes } = config.limits;
  for (const [key, rc] of Object.entries(config.routes)) {
    // Handshake answers are capped on their own; a message route's answer may hold a body of
    // messageBytes plus its JSON envelope and escaping (the body itself is checked at delivery).
    const http =
      key === '$connect' || key === '$disconnect'
        ? { pool: httpPool, answerBytes: handshakeAnswerBytes, answerLimit: 'limits.handshakeAnswerBytes' }
        : { pool: httpPool, answerBytes: 2 * messageBytes + 65_536, answerLimit: 'limits.messageBytes' };
    const functionName = rc.functionName ?? `${config.apiId}-${config.stage}-${key.replace(/^\$/, '')}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const integration = await createIntegration({ ...rc, functionName }, baseDir, config.region, config.accountId, `routes.${key}`, http, runtime);
    routes.push({
      key,
      integration,
      routeResponse: rc.routeResponse === true || rc.routeResponseSelectionExpression === '$default',
      timeoutMs: rc.timeoutMs ?? config.limits.integrationTimeoutMs,
      functionName,
      config: rc,
      throttle: routeThrottle(key, config),
    });
  }
  return new RouteTable(routes, expression);
}
