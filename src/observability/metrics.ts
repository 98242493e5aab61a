import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Counters } from './counters.js';
import { countOpenFds } from './fd-watch.js';
import { LoopLag } from './loop-lag.js';

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
  /** Cluster mode only: Redis reachable and the index usable (exported as `switchboard_redis_available`). */
  redisAvailable?: () => boolean;
}

/** An interval (ms) that never comes: about 24.8 days, the largest a Node timer takes. */
const NEVER_MS = 2 ** 31 - 1;

/** prom-client default metrics left out (see the constructor). */
const SKIPPED_DEFAULTS = /^switchboard_nodejs_(eventloop_lag_|active_(handles|requests|resources))/;

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
  ['clusterNodesReaped', 'switchboard_cluster_nodes_reaped_total', 'Dead cluster nodes this node reaped (their records taken out of Redis).', undefined],
  ['clusterDeadDisconnects', 'switchboard_cluster_dead_disconnects_total', '$disconnect routes this node ran for connections of dead nodes (code 1006).', undefined],
  ['clusterStaleRequests', 'switchboard_cluster_stale_requests_total', 'Bus requests dropped because they arrived after their deadline (a stalled Redis).', undefined],
  ['clusterResubscribes', 'switchboard_cluster_resubscribes_total', 'Subscriber connections recreated because the node stopped hearing its own probe.', undefined],
];

/** One sample of a metric family: its labels and value (a histogram's come with their `_bucket`/`_sum`/`_count` name). */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric family whose samples are computed when Prometheus scrapes, from plain numbers the
 * gateway keeps (registered as prom-client's own metrics are). prom-client's labelled children
 * hash their labels on every increment; plain fields cost one addition.
 */
function collected(registry: Registry, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => Sample[]): void {
  registry.registerMetric({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => {},
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** A latency histogram kept as plain numbers: per-bucket counts (not cumulative), sum and count. */
class Latency {
  readonly buckets = new Float64Array(LATENCY_MS.length);
  sum = 0;
  count = 0;

  observe(ms: number): void {
    this.sum += ms;
    this.count++;
    for (let i = 0; i < LATENCY_MS.length; i++) {
      if (ms <= LATENCY_MS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }

  /** Its samples in Prometheus's form: cumulative `le` buckets, `+Inf`, `_sum`, `_count`. */
  samples(name: string, labels: Record<string, string>, out: Sample[]): void {
    let acc = 0;
    for (let i = 0; i < LATENCY_MS.length; i++) {
      acc += this.buckets[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: LATENCY_MS[i]! }, value: acc });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}

function observeIn(m: Map<string, Latency>, key: string, ms: number): void {
  let l = m.get(key);
  if (l === undefined) m.set(key, (l = new Latency()));
  l.observe(ms);
}

/** `a b` → `{ [x]: a, [y]: b }`. */
function labelsOf(key: string, x: string, y: string): Record<string, string> {
  const i = key.indexOf(' ');
  return { [x]: key.slice(0, i), [y]: key.slice(i + 1) };
}

/** What is counted for one route (config-defined: one object per route, made at startup). */
class RouteStats {
  invoked = 0;
  integrationErrors = 0;
  executionErrors = 0;
  /** Null for mock integrations: AWS reports no IntegrationLatency for them. */
  readonly latency: Latency | null;
  readonly labels: Record<string, string>;

  constructor(key: string, kind: string) {
    this.labels = { route: key, integration: kind };
    this.latency = kind === 'mock' ? null : new Latency();
  }
}

/** Management calls of one operation. */
class OperationStats {
  readonly byStatus = new Map<number, number>();
  readonly latency = new Latency();
}

/**
 * This gateway's Prometheus metrics, on a registry of its own (several gateways can share a
 * process). The hooks only add to plain numbers (one object per route, made at startup), so a
 * message costs an increment, and a latency a clock read and a bucket search; everything is
 * turned into samples when Prometheus scrapes. Totals already kept elsewhere (open connections,
 * traffic, send-buffer bytes, the `Counters`) are read at scrape time too, never counted twice.
 */
export class PromMetrics implements Metrics {
  readonly enabled = true;
  readonly registry = new Registry();
  private readonly routes = new Map<string, RouteStats>();
  private connects = 0;
  private clientErrors = 0;
  private integrationErrors = 0;
  private executionErrors = 0;
  private openedCount = 0;
  private readonly disconnects = new Map<string, number>();
  private readonly authorizerResults: Record<AuthorizerResult, number> = { allow: 0, unauthorized: 0, forbidden: 0, error: 0 };
  private readonly authorizerCacheCounts = { hit: 0, miss: 0 };
  private readonly operations = new Map<string, OperationStats>();
  /** `operation outcome` → latency (both bounded names). */
  private readonly busCalls = new Map<string, Latency>();
  private readonly registryCalls = new Map<string, Latency>();
  private readonly loopLag = new LoopLag();
  private lastRoute: MetricsRoute | undefined;
  private lastStats: RouteStats | undefined;

  constructor(sources: MetricsSources) {
    this.loopLag.start();
    const registry = this.registry;
    const registers = [registry];
    // prom-client's process and Node.js metrics, but three kinds that cost a scrape more than they
    // tell: its event-loop figures (seven walks over the delay histogram's thousands of buckets:
    // measured as the largest part of a scrape; `switchboard_event_loop_lag_seconds` below takes
    // their place), and its active handles, requests and resources (lists as long as the open
    // connections, which `switchboard_connections_open` counts). Its delay monitor cannot be left
    // out, so it is given an interval that never comes.
    collectDefaultMetrics({ register: registry, prefix: 'switchboard_', eventLoopMonitoringPrecision: NEVER_MS });
    for (const name of registry.getMetricsAsArray().map((m) => m.name)) {
      if (SKIPPED_DEFAULTS.test(name)) registry.removeSingleMetric(name);
    }
    // prom-client lists /proc/self/fd on every scrape, which grows with the connections (milliseconds
    // at 20,000): the same gauge, counted by one stat where the kernel allows it.
    if (registry.getSingleMetric('switchboard_process_open_fds') !== undefined) {
      registry.removeSingleMetric('switchboard_process_open_fds');
      new Gauge({
        name: 'switchboard_process_open_fds',
        help: 'Number of open file descriptors.',
        registers,
        collect() {
          const n = countOpenFds();
          if (n !== undefined) this.set(n);
        },
      });
    }
    const one = (value: number): Sample[] => [{ labels: {}, value }];

    // AWS's WebSocket metric set, under AWS's names (CloudWatch dashboards translate one to one).
    collected(registry, 'ConnectCount', 'Messages sent to the $connect route integration (AWS ConnectCount).', 'counter', () => one(this.connects));
    // Traffic is summed over the open connections once per scrape, not once per metric: a scrape
    // asks every metric in one synchronous pass, so the sum is kept until the next microtask.
    let trafficNow: TrafficTotals | undefined;
    const trafficOnce = () => {
      if (trafficNow === undefined) {
        trafficNow = sources.traffic();
        queueMicrotask(() => (trafficNow = undefined));
      }
      return trafficNow;
    };
    collected(registry, 'MessageCount', 'Messages sent to the WebSocket API, from or to clients, management PostToConnection deliveries included (AWS MessageCount).', 'counter', () => {
      const t = trafficOnce();
      return one(t.messagesIn + t.messagesOut);
    });
    collected(registry, 'IntegrationError', 'Requests whose integration answered with a 4XX/5XX status or a function error (AWS IntegrationError).', 'counter', () => one(this.integrationErrors));
    collected(registry, 'ClientError', 'Requests answered 4XX by the gateway before the integration was invoked (AWS ClientError).', 'counter', () => one(this.clientErrors));
    collected(registry, 'ExecutionError', 'Errors calling the integration: unreachable, refused by a limit, timed out (AWS ExecutionError).', 'counter', () => one(this.executionErrors));
    collected(registry, 'IntegrationLatency', 'Milliseconds from sending the request to the integration to receiving its answer, by route and integration type (AWS IntegrationLatency; not for mock integrations).', 'histogram', () => {
      const out: Sample[] = [];
      for (const r of this.routes.values()) r.latency?.samples('IntegrationLatency', r.labels, out);
      return out;
    });

    // Prometheus-style metrics.
    collected(registry, 'switchboard_connections_open', 'Connections open on this node, by stage.', 'gauge', () => [{ labels: { stage: sources.stage }, value: sources.connectionsOpen() }]);
    collected(registry, 'switchboard_connections_opened_total', 'Connections accepted (WebSocket open).', 'counter', () => one(this.openedCount));
    collected(registry, 'switchboard_disconnects_total', 'Connections ended, by the close code $disconnect reports (1000-1015 and 4000-4009 one by one, others as 3xxx/4xxx/other).', 'counter', () =>
      [...this.disconnects].map(([code, value]) => ({ labels: { code }, value })),
    );
    const traffic = (name: string, help: string, pick: (t: TrafficTotals) => number) => collected(registry, name, help, 'counter', () => one(pick(trafficOnce())));
    traffic('switchboard_messages_received_total', 'Data frames received from clients.', (t) => t.messagesIn);
    traffic('switchboard_messages_sent_total', 'Data frames sent to clients (route responses, error frames, management pushes).', (t) => t.messagesOut);
    traffic('switchboard_received_bytes_total', 'Payload bytes received from clients.', (t) => t.bytesIn);
    traffic('switchboard_sent_bytes_total', 'Payload bytes sent to clients.', (t) => t.bytesOut);
    const perRoute = (name: string, help: string, pick: (r: RouteStats) => number) =>
      collected(registry, name, help, 'counter', () => [...this.routes.values()].map((r) => ({ labels: r.labels, value: pick(r) })));
    perRoute('switchboard_route_invocations_total', 'Route integrations called, by route and integration type.', (r) => r.invoked);
    perRoute('switchboard_integration_errors_total', 'IntegrationError by route and integration type.', (r) => r.integrationErrors);
    perRoute('switchboard_execution_errors_total', 'ExecutionError by route and integration type.', (r) => r.executionErrors);
    collected(registry, 'switchboard_authorizer_results_total', 'Authorizer decisions on handshakes: allow, unauthorized (401), forbidden (403), error (500).', 'counter', () =>
      Object.entries(this.authorizerResults).map(([result, value]) => ({ labels: { result }, value })),
    );
    collected(registry, 'switchboard_authorizer_cache_total', 'Authorizer result cache lookups, by outcome (hit, miss).', 'counter', () =>
      Object.entries(this.authorizerCacheCounts).map(([outcome, value]) => ({ labels: { outcome }, value })),
    );
    collected(registry, 'switchboard_management_calls_total', 'Management API calls, by operation and HTTP status (0: the caller left before an answer).', 'counter', () => {
      const out: Sample[] = [];
      for (const [operation, o] of this.operations) for (const [status, value] of o.byStatus) out.push({ labels: { operation, status }, value });
      return out;
    });
    collected(registry, 'switchboard_management_latency_ms', 'Management API call latency in milliseconds, by operation.', 'histogram', () => {
      const out: Sample[] = [];
      for (const [operation, o] of this.operations) o.latency.samples('switchboard_management_latency_ms', { operation }, out);
      return out;
    });
    collected(registry, 'switchboard_send_buffer_bytes', 'Bytes held in client send buffers on this node (limits.sendBufferTotalBytes budget).', 'gauge', () => one(sources.sendBufferBytes()));
    // Event-loop delay since the previous scrape, by quantile, from this gateway's own sampler.
    collected(registry, 'switchboard_event_loop_lag_seconds', "Event-loop delay since the last scrape, by quantile (0.5, 0.99, 1 = max): how late a 100 ms timer's ticks ran (an idle process shows about 0).", 'gauge', () => {
      const f = this.loopLag.take();
      return [
        { labels: { quantile: '0.5' }, value: f.p50 / 1000 },
        { labels: { quantile: '0.99' }, value: f.p99 / 1000 },
        { labels: { quantile: '1' }, value: f.max / 1000 },
      ];
    });
    // Cluster mode: bus and registry calls through Redis, and whether Redis is there.
    const redisAvailable = sources.redisAvailable;
    if (redisAvailable) {
      collected(registry, 'switchboard_redis_available', 'Cluster mode: 1 while Redis is reachable and the connection index usable, else 0 (then /ready answers 503).', 'gauge', () => one(redisAvailable() ? 1 : 0));
      collected(registry, 'switchboard_bus_request_latency_ms', 'Cluster bus operations that went through Redis, in milliseconds, by operation and outcome (ok, gone, unavailable, overloaded, unconfirmed).', 'histogram', () => {
        const out: Sample[] = [];
        for (const [key, l] of this.busCalls) l.samples('switchboard_bus_request_latency_ms', labelsOf(key, 'operation', 'outcome'), out);
        return out;
      });
      collected(registry, 'switchboard_registry_latency_ms', 'Cluster registry calls to Redis, in milliseconds, by operation and outcome (ok, error).', 'histogram', () => {
        const out: Sample[] = [];
        for (const [key, l] of this.registryCalls) l.samples('switchboard_registry_latency_ms', labelsOf(key, 'operation', 'outcome'), out);
        return out;
      });
    }

    for (const [name, metric, help, label] of BRIDGED) {
      const prefix = `${name}{`;
      collected(registry, metric, help, 'counter', () => {
        const out: Sample[] = [];
        for (const [key, value] of Object.entries(sources.counters.snapshot())) {
          if (label === undefined) {
            if (key === name) out.push({ labels: {}, value });
          } else if (key.startsWith(prefix)) out.push({ labels: { [label]: key.slice(prefix.length, -1) }, value });
        }
        if (label === undefined && out.length === 0) out.push({ labels: {}, value: 0 });
        return out;
      });
    }
  }

  /** The stats of a route (made once per configured route, by `bindRoutes` at startup). */
  private route(r: MetricsRoute): RouteStats {
    // Messages mostly follow the route the previous one took: one comparison instead of a lookup.
    if (r === this.lastRoute) return this.lastStats!;
    let c = this.routes.get(r.key);
    if (c === undefined) {
      c = new RouteStats(r.key, r.integration?.kind ?? 'none');
      this.routes.set(r.key, c);
    }
    this.lastRoute = r;
    this.lastStats = c;
    return c;
  }

  /** Makes the stats of every configured route up front, so a message allocates nothing. */
  bindRoutes(routes: Iterable<MetricsRoute>): void {
    for (const r of routes) this.route(r);
  }

  connectInvoked(): void {
    this.connects++;
  }
  clientError(): void {
    this.clientErrors++;
  }
  opened(): void {
    this.openedCount++;
  }
  disconnected(code: number): void {
    const label = closeCodeLabel(code);
    this.disconnects.set(label, (this.disconnects.get(label) ?? 0) + 1);
  }
  invoked(r: MetricsRoute): void {
    this.route(r).invoked++;
  }
  latency(r: MetricsRoute, ms: number): void {
    this.route(r).latency?.observe(ms);
  }
  integrationError(r: MetricsRoute | undefined): void {
    this.integrationErrors++;
    if (r !== undefined) this.route(r).integrationErrors++;
  }
  executionError(r: MetricsRoute | undefined): void {
    this.executionErrors++;
    if (r !== undefined) this.route(r).executionErrors++;
  }
  authorizer(result: AuthorizerResult): void {
    this.authorizerResults[result]++;
  }
  authorizerCache(hit: boolean): void {
    if (hit) this.authorizerCacheCounts.hit++;
    else this.authorizerCacheCounts.miss++;
  }
  management(operation: string, status: number, ms: number): void {
    let o = this.operations.get(operation);
    if (o === undefined) this.operations.set(operation, (o = new OperationStats()));
    o.byStatus.set(status, (o.byStatus.get(status) ?? 0) + 1);
    o.latency.observe(ms);
  }

  /** A cluster bus operation through Redis (operation and outcome are fixed names). */
  busRequest(operation: string, outcome: string, ms: number): void {
    observeIn(this.busCalls, `${operation} ${outcome}`, ms);
  }

  /** A cluster registry call. */
  registryCall(operation: string, ok: boolean, ms: number): void {
    observeIn(this.registryCalls, `${operation} ${ok ? 'ok' : 'error'}`, ms);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops the event-loop sampler. */
  close(): void {
    this.loopLag.stop();
  }
}
