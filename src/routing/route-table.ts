import type { Config, RouteConfig } from '../config/schema.js';
import { createIntegration } from '../integrations/factory.js';
import type { Integration } from '../integrations/integration.js';
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
}

/**
 * Compiles the selection expression and loads every route's integration, failing fast (before
 * listening) with errors that name the route: `routes.KEY: …` (HandlerLoadError).
 */
export async function buildRouteTable(config: Config, baseDir: string): Promise<RouteTable> {
  const expression = compileSelectionExpression(config.routeSelectionExpression); // the schema checked it
  const routes: Route[] = [];
  for (const [key, rc] of Object.entries(config.routes)) {
    const integration = await createIntegration(rc, baseDir, config.region, config.accountId, `routes.${key}`);
    routes.push({
      key,
      integration,
      routeResponse: rc.routeResponse === true || rc.routeResponseSelectionExpression === '$default',
      timeoutMs: rc.timeoutMs ?? config.limits.integrationTimeoutMs,
      functionName: rc.functionName ?? `${config.apiId}-${config.stage}-${key.replace(/^\$/, '')}`.replace(/[^A-Za-z0-9_-]/g, '_'),
      config: rc,
    });
  }
  return new RouteTable(routes, expression);
}
