import type { IncomingMessage } from 'node:http';
import type { AuthorizerConfig } from '../config/schema.js';
import type { Connection } from '../connection/connection.js';
import type { AuthorizeOutcome } from '../connection/lifecycle.js';
import { authorizerEvent, type ApiInfo, type HandshakeInfo } from '../events/events.js';
import { HttpStatusError } from '../integrations/http.js';
import { IntegrationTimeout, type Integration } from '../integrations/integration.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { NOOP_METRICS, type Metrics } from '../observability/metrics.js';
import { evaluatePolicy } from './policy.js';

/** AWS's answers for each way a handshake fails authorization (spec §1.2, §4.2). */
const UNAUTHORIZED: AuthorizeOutcome = { ok: false, status: 401, message: 'Unauthorized' };
const FORBIDDEN: AuthorizeOutcome = { ok: false, status: 403, message: 'Forbidden' };
const BROKEN: AuthorizeOutcome = { ok: false, status: 500, message: 'Internal server error' };

/** Largest number of cached results (opt-in cache). */
const CACHE_MAX = 10_000;

/** `route.request.header.Auth` → where to read it from the handshake. */
interface IdentitySource {
  from: 'header' | 'querystring';
  name: string;
}

function parseIdentitySource(text: string): IdentitySource {
  const [, , from, ...rest] = text.split('.');
  return { from: from as 'header' | 'querystring', name: rest.join('.') };
}

/** Every value of header `name` (any casing), comma-joined; undefined when the client sent none. */
function headerValue(hs: HandshakeInfo, name: string): string | undefined {
  const lower = name.toLowerCase();
  let out: string | undefined;
  for (const k in hs.multiValueHeaders) {
    if (k.toLowerCase() === lower) out = out === undefined ? hs.multiValueHeaders[k]!.join(',') : `${out},${hs.multiValueHeaders[k]!.join(',')}`;
  }
  return out;
}

/**
 * A Lambda REQUEST authorizer on $connect, run unchanged: identity sources checked first (401
 * without calling it when one is missing), its answer evaluated as API Gateway does, and its
 * principal and context carried into every later event as `requestContext.authorizer`.
 */
export class RequestAuthorizer {
  private readonly sources: IdentitySource[];
  private readonly cache = new Map<string, { expires: number; outcome: AuthorizeOutcome }>();
  private readonly functionName: string;

  constructor(
    private readonly cfg: AuthorizerConfig,
    private readonly integration: Integration,
    private readonly api: ApiInfo,
    private readonly logLimiter: LogLimiter,
    /** Cache hits and misses are counted here. */
    private readonly metrics: Metrics = NOOP_METRICS,
  ) {
    this.sources = cfg.identitySource.map(parseIdentitySource);
    this.functionName = `${api.apiId}-${api.stage}-authorizer`;
  }

  /** The `Authorize` hook the connection life cycle calls during the upgrade. */
  readonly authorize = async (conn: Connection, hs: HandshakeInfo, req: IncomingMessage): Promise<AuthorizeOutcome> => {
    const values: string[] = [];
    for (const s of this.sources) {
      // Read from the handshake's prototype-free maps: node's req.headers is an ordinary object, where
      // a source named `constructor` would find Object and pass without the client sending it.
      const v = s.from === 'header' ? headerValue(hs, s.name) : hs.query?.[s.name];
      if (v === undefined || v === '') {
        this.logLimiter.log('debug', 'authorizer-no-identity', { connectionId: conn.id, identitySource: `route.request.${s.from}.${s.name}` }, 'handshake refused: identity source missing');
        return UNAUTHORIZED;
      }
      values.push(v);
    }
    // Opt-in (AWS has no cache for WebSocket authorizers), and only with identity sources to key on.
    const ttlMs = this.cfg.resultTtlSeconds * 1000;
    const key = ttlMs > 0 && values.length > 0 ? JSON.stringify(values) : undefined;
    if (key !== undefined) {
      const hit = this.cache.get(key);
      if (hit !== undefined && hit.expires > Date.now()) {
        this.metrics.authorizerCache(true);
        return hit.outcome;
      }
      if (hit !== undefined) this.cache.delete(key);
      this.metrics.authorizerCache(false);
    }
    const outcome = await this.invoke(conn, hs);
    // Only decisions are cached: a broken or slow authorizer is asked again next time.
    if (key !== undefined && (outcome.ok || outcome.status !== 500)) {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { expires: Date.now() + ttlMs, outcome });
    }
    return outcome;
  };

  private async invoke(conn: Connection, hs: HandshakeInfo): Promise<AuthorizeOutcome> {
    const started = Date.now();
    let answer: unknown;
    try {
      answer = await this.integration.invoke(authorizerEvent(conn, this.api, hs), this.cfg.timeoutMs, this.functionName);
    } catch (err) {
      // AWS: throwing exactly "Unauthorized" means 401; an HTTP authorizer says so with 401/403.
      if (err instanceof Error && err.message === 'Unauthorized') return UNAUTHORIZED;
      if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) return err.status === 401 ? UNAUTHORIZED : FORBIDDEN;
      const why = err instanceof IntegrationTimeout ? `authorizer timed out after ${this.cfg.timeoutMs} ms` : `authorizer failed: ${(err as Error)?.message ?? String(err)}`;
      this.logLimiter.log('error', err instanceof IntegrationTimeout ? 'authorizer-timeout' : 'authorizer-failed', { connectionId: conn.id, err }, why);
      return BROKEN;
    }
    const integrationLatency = Date.now() - started;
    const verdict = this.evaluate(answer, integrationLatency);
    if (typeof verdict === 'string') {
      this.logLimiter.log('error', 'authorizer-malformed', { connectionId: conn.id, reason: verdict }, 'authorizer answer is malformed');
      return BROKEN;
    }
    if (!verdict.ok) this.logLimiter.log('info', `authorizer-denied:${verdict.status}`, { connectionId: conn.id, status: verdict.status }, 'handshake denied by the authorizer');
    return verdict;
  }

  /** The outcome of a well-formed answer, or why it is malformed. */
  private evaluate(answer: unknown, integrationLatency: number): AuthorizeOutcome | string {
    if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return `expected an object, got ${answer === null ? 'null' : typeof answer}`;
    const a = answer as { principalId?: unknown; policyDocument?: unknown; context?: unknown };
    if (typeof a.principalId !== 'string' && typeof a.principalId !== 'number') return 'principalId is missing';
    if (a.policyDocument === undefined) return 'policyDocument is missing';
    const principalId = String(a.principalId);
    // No prototype: context keys are the authorizer's choice (`__proto__` would be lost on a plain object).
    const authorizer = Object.create(null) as Record<string, unknown>;
    authorizer.principalId = principalId;
    authorizer.integrationLatency = integrationLatency;
    if (a.context !== undefined && a.context !== null) {
      if (typeof a.context !== 'object' || Array.isArray(a.context)) return 'context must be an object';
      for (const [k, v] of Object.entries(a.context as Record<string, unknown>)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return `context.${k} must be a string, number or boolean`;
        // As AWS does for proxy integrations: values arrive as strings; principalId stays the principal.
        if (k !== 'principalId' && k !== 'integrationLatency') authorizer[k] = String(v);
      }
    }
    const decision = evaluatePolicy(a.policyDocument, 'execute-api:Invoke', `arn:aws:execute-api:${this.api.region}:${this.api.accountId}:${this.api.apiId}/${this.api.stage}/$connect`);
    if (decision.effect === 'malformed') return decision.reason;
    if (decision.effect === 'deny') return FORBIDDEN;
    return { ok: true, principalId, authorizer };
  }
}
