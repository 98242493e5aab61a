import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Counters } from './counters.js';

/** A route as the metrics see it: its config-defined key and its integration type (both bounded). */
export interface MetricsRoute {
  readonly key: string;
  readonly integration: { readonly kind: string } | null;
}

/** How an authorizer decided a handshake. */
export type AuthorizerResult = 'allow' | 'unauthorized' | 'forbidden' | 'error';

/**
 * The hooks the gateway's parts call. Two implementations: `NOOP_METRICS` (admin listener off:
 * nothing is measured, nothing costs) and `PromMetrics`. Every label value is bounded: a
 * config-defined route key, an integration type, a status, a close code bucket; never a
 * connection id, principal or group.
 */
export interface Metrics {
  /** false: callers skip even the clock reads that only latency needs. */
  readonly enabled: boolean;
  /** A handshake reached the $connect integration (AWS `ConnectCount`). */
  connectInvoked(): void;
  /** A client answered 4XX by the gateway before any integration ran (AWS `ClientError`): throttled, refused, unauthorized, no route. */
  clientError(): void;
  /** A connection was accepted (the WebSocket is open). */
  opened(): void;
  /** A connection ended with this close code (the one $disconnect reports). */
  disconnected(code: number): void;
  /** A message route's integration was called. */
  invoked(route: MetricsRoute): void;
  /** Time (ms) from calling an integration to its answer or failure (AWS `IntegrationLatency`; not for mock integrations). */
  latency(route: MetricsRoute, ms: number): void;
  /** The integration answered with an error: a 4XX/5XX status, or a function error (AWS `IntegrationError`). */
  integrationError(route: MetricsRoute | undefined): void;
  /** The integration could not be called or did not answer in time (AWS `ExecutionError`). */
  executionError(route: MetricsRoute | undefined): void;
  /** An authorizer's decision. */
  authorizer(result: AuthorizerResult): void;
  /** An authorizer result cache lookup (`resultTtlSeconds`). */
  authorizerCache(hit: boolean): void;
  /** A management API call answered: its operation (a fixed name), HTTP status and time taken. */
  management(operation: string, status: number, ms: number): void;
}

const noop = () => {};

/** Metrics off: every hook does nothing. */
export const NOOP_METRICS: Metrics = Object.freeze({
  enabled: false,
  connectInvoked: noop,
  clientError: noop,
  opened: noop,
  disconnected: noop,
  invoked: noop,
  latency: noop,
  integrationError: noop,
  executionError: noop,
  authorizer: noop,
  authorizerCache: noop,
  management: noop,
});

/** Traffic totals of the node: every connection that ever was, open ones included. */
export interface TrafficTotals {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** What is read when Prometheus scrapes (nothing of it costs between scrapes). */
export interface MetricsSources {
  stage: string;
  /** Open connections on this node. */
  connectionsOpen(): number;
  /** Message and byte totals in and out. */
  traffic(): TrafficTotals;
  /** Bytes held in send buffers (the node's send budget). */
  sendBufferBytes(): number;
  /** The gateway's refusal/fault counters, exported as they are. */
  counters: Counters;
}

/** Integration latency buckets, in milliseconds (AWS reports IntegrationLatency in ms). */
const LATENCY_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/** Close codes reported one by one; any other in 3000-3999 / 4000-4999 is reported as `3xxx` / `4xxx` (bounded). */
function closeCodeLabel(code: number): string {
  if (code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return code <= 4009 ? String(code) : '4xxx';
  return 'other';
}

/** `Counters` names exported at scrape time: counter name → metric name, help, label name. */
const BRIDGED: ReadonlyArray<[string, string, string, string | undefined]> = [
  ['rejected', 'switchboard_rejected_total', 'Work refused or throttled, by the limit (config key) that refused it.', 'limit'],
  ['closed', 'switchboard_gateway_closes_total', 'Connections the gateway closed, by cause.', 'cause'],
  ['handshakeRefused', 'switchboard_handshakes_refused_total', 'Handshakes refused before $connect ran, by HTTP status.', 'status'],
  ['managementRefused', 'switchboard_management_refused_total', 'Management calls refused, by HTTP status.', 'status'],
  ['adminRefused', 'switchboard_admin_refused_total', 'Admin listener requests refused, by HTTP status.', 'status'],
  ['internalErrors', 'switchboard_internal_errors_total', 'Unexpected faults caught by a last-resort guard, by where.', 'where'],
  ['malformedAnswers', 'switchboard_malformed_answers_total', 'Integration answers not used as given, by field.', 'field'],
  ['integrationAborted', 'switchboard_integration_aborted_total', 'Integration calls past their deadline, by integration type.', 'integration'],
  ['integrationFailed', 'switchboard_integration_failed_total', 'Message integrations that failed or timed out, by cause.', 'cause'],
  ['undelivered', 'switchboard_undelivered_total', 'Route responses and error frames a client could not be sent, by outcome.', 'outcome'],
  ['logsSuppressed', 'switchboard_logs_suppressed_total', 'Log lines folded into a rate-limited summary, by cause.', 'key'],
  ['badRequests', 'switchboard_bad_requests_total', 'Connections the HTTP parser refused, by status.', 'status'],
  ['acceptErrors', 'switchboard_accept_errors_total', 'Failed accepts on the listening socket, by error code.', 'code'],
  ['fdLimitNear', 'switchboard_fd_limit_near_total', 'Checks that found open descriptors near the soft limit.', undefined],
];

interface RouteChildren {
  invoked: { inc(): void };
  latency: { observe(v: number): void } | null;
  integrationError: { inc(): void };
  executionError: { inc(): void };
}

/**
 * This gateway's Prometheus metrics, on a registry of its own (several gateways can share a
 * process). Label children are bound once per route, so a message costs one increment (and
 * one histogram observation when latency is measured). Gauges and the totals already kept
 * elsewhere (open connections, traffic, send-buffer bytes, the `Counters`) are read at scrape
 * time instead of being counted twice.
 */
export class PromMetrics implements Metrics {
  readonly enabled = true;
  readonly registry = new Registry();
  private readonly routes = new Map<string, RouteChildren>();
  private readonly connectCount: Counter;
  private readonly clientErrors: Counter;
  private readonly integrationErrorsAll: Counter;
  private readonly executionErrorsAll: Counter;
  private readonly integrationErrorC: Counter<'route' | 'integration'>;
  private readonly executionErrorC: Counter<'route' | 'integration'>;
  private readonly integrationLatency: Histogram<'route' | 'integration'>;
  private readonly invocations: Counter<'route' | 'integration'>;
  private readonly openedC: Counter;
  private readonly disconnects: Counter<'code'>;
  private readonly disconnectChildren = new Map<number, { inc(): void }>();
  private readonly authorizerResults: Counter<'result'>;
  private readonly authorizerCacheC: Counter<'outcome'>;
  private readonly managementCalls: Counter<'operation' | 'status'>;
  private readonly managementLatency: Histogram<'operation'>;
  private readonly loopDelay: IntervalHistogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });

    // AWS's WebSocket metric set, under AWS's names (CloudWatch dashboards translate one to one).
    this.connectCount = new Counter({ name: 'ConnectCount', help: 'Messages sent to the $connect route integration (AWS ConnectCount).', registers });
    new Counter({
      name: 'MessageCount',
      help: 'Messages sent to the WebSocket API, from or to clients, management PostToConnection deliveries included (AWS MessageCount).',
      registers,
      collect() {
        const t = sources.traffic();
        this.reset();
        this.inc(t.messagesIn + t.messagesOut);
      },
    });
    this.integrationErrorsAll = new Counter({ name: 'IntegrationError', help: 'Requests whose integration answered with a 4XX/5XX status or a function error (AWS IntegrationError).', registers });
    this.clientErrors = new Counter({ name: 'ClientError', help: 'Requests answered 4XX by the gateway before the integration was invoked (AWS ClientError).', registers });
    this.executionErrorsAll = new Counter({ name: 'ExecutionError', help: 'Errors calling the integration: unreachable, timed out (AWS ExecutionError).', registers });
    this.integrationLatency = new Histogram({
      name: 'IntegrationLatency',
      help: 'Milliseconds from sending the request to the integration to receiving its answer, by route and integration type (AWS IntegrationLatency; not for mock integrations).',
      labelNames: ['route', 'integration'],
      buckets: LATENCY_MS,
      registers,
    });

    // Prometheus-style metrics.
    new Gauge({
      name: 'switchboard_connections_open',
      help: 'Connections open on this node, by stage.',
      labelNames: ['stage'],
      registers,
      collect() {
        this.set({ stage: sources.stage }, sources.connectionsOpen());
      },
    });
    this.openedC = new Counter({ name: 'switchboard_connections_opened_total', help: 'Connections accepted (WebSocket open).', registers });
    this.disconnects = new Counter({ name: 'switchboard_disconnects_total', help: 'Connections ended, by the close code $disconnect reports (3xxx/4xxx beyond 4009 bucketed).', labelNames: ['code'], registers });
    const traffic = (name: string, help: string, pick: (t: TrafficTotals) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(sources.traffic()));
        },
      });
    traffic('switchboard_messages_received_total', 'Data frames received from clients.', (t) => t.messagesIn);
    traffic('switchboard_messages_sent_total', 'Data frames sent to clients (route responses, error frames, management pushes).', (t) => t.messagesOut);
    traffic('switchboard_received_bytes_total', 'Payload bytes received from clients.', (t) => t.bytesIn);
    traffic('switchboard_sent_bytes_total', 'Payload bytes sent to clients.', (t) => t.bytesOut);
    this.invocations = new Counter({ name: 'switchboard_route_invocations_total', help: 'Message route integrations called, by route and integration type.', labelNames: ['route', 'integration'], registers });
    this.integrationErrorC = new Counter({ name: 'switchboard_integration_errors_total', help: 'IntegrationError by route and integration type.', labelNames: ['route', 'integration'], registers });
    this.executionErrorC = new Counter({ name: 'switchboard_execution_errors_total', help: 'ExecutionError by route and integration type.', labelNames: ['route', 'integration'], registers });
    this.authorizerResults = new Counter({ name: 'switchboard_authorizer_results_total', help: 'Authorizer decisions on handshakes: allow, unauthorized (401), forbidden (403), error (500).', labelNames: ['result'], registers });
    this.authorizerCacheC = new Counter({ name: 'switchboard_authorizer_cache_total', help: 'Authorizer result cache lookups, by outcome (hit, miss).', labelNames: ['outcome'], registers });
    this.managementCalls = new Counter({ name: 'switchboard_management_calls_total', help: 'Management API calls, by operation and HTTP status.', labelNames: ['operation', 'status'], registers });
    this.managementLatency = new Histogram({ name: 'switchboard_management_latency_ms', help: 'Management API call latency in milliseconds, by operation.', labelNames: ['operation'], buckets: LATENCY_MS, registers });
    new Gauge({
      name: 'switchboard_send_buffer_bytes',
      help: 'Bytes held in client send buffers on this node (limits.sendBufferTotalBytes budget).',
      registers,
      collect() {
        this.set(sources.sendBufferBytes());
      },
    });
    // Event-loop lag as a gauge pair read at scrape (prom-client's default nodejs_eventloop_lag_* are there too).
    const loopDelay = (this.loopDelay = monitorEventLoopDelay({ resolution: 20 }));
    loopDelay.enable();
    new Gauge({
      name: 'switchboard_event_loop_lag_seconds',
      help: 'Event-loop delay since the last scrape, by quantile (p50, p99, max).',
      labelNames: ['quantile'],
      registers,
      collect() {
        const q = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0);
        this.set({ quantile: '0.5' }, q(loopDelay.percentile(50)));
        this.set({ quantile: '0.99' }, q(loopDelay.percentile(99)));
        this.set({ quantile: '1' }, q(loopDelay.max));
        loopDelay.reset();
      },
    });
    // The cluster seam: bus/registry latency and Redis availability are added here when cluster mode exists.

    for (const [name, metric, help, label] of BRIDGED) {
      const prefix = `${name}{`;
      new Counter({
        name: metric,
        help,
        labelNames: label === undefined ? [] : [label],
        registers,
        collect() {
          this.reset();
          for (const [key, value] of Object.entries(sources.counters.snapshot())) {
            if (label === undefined) {
              if (key === name) this.inc(value);
            } else if (key.startsWith(prefix)) this.inc({ [label]: key.slice(prefix.length, -1) }, value);
          }
        },
      });
    }
  }

  /** The pre-bound children of a route (created once per configured route). */
  private route(r: MetricsRoute): RouteChildren {
    let c = this.routes.get(r.key);
    if (c === undefined) {
      const labels = { route: r.key, integration: r.integration?.kind ?? 'none' };
      c = {
        invoked: this.invocations.labels(labels),
        latency: labels.integration === 'mock' ? null : this.integrationLatency.labels(labels),
        integrationError: this.integrationErrorC.labels(labels),
        executionError: this.executionErrorC.labels(labels),
      };
      this.routes.set(r.key, c);
    }
    return c;
  }

  /** Binds the children of every configured route up front, so the first message of a route allocates nothing. */
  bindRoutes(routes: Iterable<MetricsRoute>): void {
    for (const r of routes) this.route(r);
  }

  connectInvoked(): void {
    this.connectCount.inc();
  }
  clientError(): void {
    this.clientErrors.inc();
  }
  opened(): void {
    this.openedC.inc();
  }
  disconnected(code: number): void {
    let c = this.disconnectChildren.get(code);
    if (c === undefined) {
      c = this.disconnects.labels({ code: closeCodeLabel(code) });
      // Only the codes reported one by one are cached by number, so this map stays bounded too.
      if (closeCodeLabel(code) === String(code)) this.disconnectChildren.set(code, c);
    }
    c.inc();
  }
  invoked(r: MetricsRoute): void {
    this.route(r).invoked.inc();
  }
  latency(r: MetricsRoute, ms: number): void {
    this.route(r).latency?.observe(ms);
  }
  integrationError(r: MetricsRoute | undefined): void {
    this.integrationErrorsAll.inc();
    if (r !== undefined) this.route(r).integrationError.inc();
  }
  executionError(r: MetricsRoute | undefined): void {
    this.executionErrorsAll.inc();
    if (r !== undefined) this.route(r).executionError.inc();
  }
  authorizer(result: AuthorizerResult): void {
    this.authorizerResults.inc({ result });
  }
  authorizerCache(hit: boolean): void {
    this.authorizerCacheC.inc({ outcome: hit ? 'hit' : 'miss' });
  }
  management(operation: string, status: number, ms: number): void {
    this.managementCalls.inc({ operation, status: String(status) });
    this.managementLatency.observe({ operation }, ms);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.loopDelay.disable();
  }
}
