import { z } from 'zod';
import { trustEntryError } from '../events/forwarded.js';
import { compileSelectionExpression, ExpressionError } from '../routing/selection-expression.js';

/**
 * The configuration schema. Every key is documented here, where it is defined; the defaults
 * follow AWS API Gateway WebSocket APIs so that moving either way is painless.
 * Objects are strict: a misspelt key is an error that names the key, not a silent no-op.
 */

/** `path/to/module#export` or `#nested.export.path`; the module may leave out its extension (probed as Lambda does). */
const HANDLER_REF = /^[^#\s]+(#[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*)?$/;
const ROUTE_KEY = /^(\$connect|\$disconnect|\$default|[^$\s][^\s]{0,127})$/;

/** Where an identity value comes from, in AWS's form (`route.request.header.Auth`, `route.request.querystring.token`). */
export const IdentitySourceSchema = z
  .string()
  .regex(/^route\.request\.(header|querystring)\.[^\s.]+$/, 'expected route.request.header.NAME or route.request.querystring.NAME');

/** A function called through the Lambda Invoke API (`@aws-sdk/client-lambda`). */
export const LambdaSchema = z
  .object({
    /** Function name, partial ARN or full ARN (with an optional `:qualifier`). */
    functionName: z.string().min(1),
    /** Invoke endpoint; default: AWS's for the region (a local Lambda emulator's URL for development). */
    endpoint: z.url().optional(),
    /** Region of the function; default: the gateway's `region`. */
    region: z.string().min(1).optional(),
  })
  .strict();

/** An authorizer on $connect (REQUEST authorizer: a handler module or an HTTP endpoint). */
export const AuthorizerSchema = z
  .object({
    /** `./path/to/module.ts#export`: a Lambda REQUEST authorizer run in-process. */
    handler: z.string().regex(HANDLER_REF, 'expected "path/to/module#export"').optional(),
    /** The function's package root (Lambda's /var/task: a SAM `CodeUri` or CDK asset folder), relative to the config file: whether a `.js` handler is CommonJS is decided by a package.json at or below it only, so CommonJS code in an ESM project loads as on Lambda. Set by the template importer. */
    codeRoot: z.string().min(1).optional(),
    /** An HTTP endpoint that receives the authorizer event as a JSON POST and answers the authorizer's JSON. */
    http: z.url().optional(),
    /** Environment variables this function sees (serverless.yml `environment`, SAM `Environment.Variables`); merged over the gateway's own. Isolated per function with `isolation: worker`. */
    environment: z.record(z.string(), z.string()).optional(),
    /** `inline` (default: in the gateway process, fastest) or `worker` (a pool of worker threads: hard timeouts, crash containment, per-function environment). Defaults to the top-level `isolation`. */
    isolation: z.enum(['inline', 'worker']).optional(),
    /** Lambda integration: the event is sent with the Lambda Invoke API (real AWS or a compatible endpoint). */
    lambda: LambdaSchema.optional(),
    /** With `isolation: worker`: calls of this function running at once (its workers); default `workers.maxConcurrency`. */
    maxConcurrency: z.number().int().min(1).max(1024).optional(),
    /** Identity sources; when any is missing or empty the client is refused with 401 and the authorizer is not called. */
    identitySource: z.array(IdentitySourceSchema).default([]),
    /** Authorizer timeout (AWS: 10 s, not adjustable). */
    timeoutMs: z.number().int().min(1).max(900_000).default(10_000),
    /** Opt-in result cache keyed by the identity-source values (AWS has none for WebSocket APIs); 0 = off. */
    resultTtlSeconds: z.number().int().min(0).max(3600).default(0),
  })
  .strict()
  .refine((a) => [a.handler, a.http, a.lambda].filter((x) => x !== undefined).length === 1, { message: 'an authorizer needs exactly one of "handler", "http" or "lambda"' })
  // The cache is keyed by the identity-source values: without any, it would silently never cache.
  .refine((a) => a.resultTtlSeconds === 0 || a.identitySource.length > 0, { path: ['resultTtlSeconds'], message: 'a result cache (resultTtlSeconds > 0) needs at least one identitySource to key on' });

/** One route: its integration and whether the integration's body goes back to the caller. */
export const RouteSchema = z
  .object({
    /** `./path/to/module.ts#export` (default export name `handler`); JS and TS modules, relative to the config file. */
    handler: z.string().regex(HANDLER_REF, 'expected "path/to/module#export"').optional(),
    /** The function's package root (Lambda's /var/task: a SAM `CodeUri` or CDK asset folder), relative to the config file: whether a `.js` handler is CommonJS is decided by a package.json at or below it only, so CommonJS code in an ESM project loads as on Lambda. Set by the template importer. */
    codeRoot: z.string().min(1).optional(),
    /** HTTP integration: the AWS event is POSTed as JSON; the answer is a Lambda proxy response in JSON. */
    http: z.url().optional(),
    /** Environment variables this function sees (serverless.yml `environment`, SAM `Environment.Variables`); merged over the gateway's own. Isolated per function with `isolation: worker`. */
    environment: z.record(z.string(), z.string()).optional(),
    /** `inline` (default: in the gateway process, fastest) or `worker` (a pool of worker threads: hard timeouts, crash containment, per-function environment). Defaults to the top-level `isolation`. */
    isolation: z.enum(['inline', 'worker']).optional(),
    /** Lambda integration: the event is sent with the Lambda Invoke API (real AWS or a compatible endpoint). */
    lambda: LambdaSchema.optional(),
    /** With `isolation: worker`: calls of this function running at once (its workers); beyond it a call gets "Internal server error" (502 on $connect), as when Lambda throttles. Default `workers.maxConcurrency`. */
    maxConcurrency: z.number().int().min(1).max(1024).optional(),
    /** AWS HTTP_PROXY: the raw message body is POSTed to this URL (connection id in the `connectionId` header) and the backend's body is the route response; unlike `http`, which POSTs the event as JSON. */
    httpProxy: z.url().optional(),
    /** AWS MOCK: answer without a backend (`$connect` accepts; a two-way route sends `body`). */
    mock: z
      .object({
        /** Status of the mock answer; a $connect mock outside 2xx refuses the handshake. */
        statusCode: z.number().int().min(100).max(599).default(200),
        /** Route response body (sent to the caller on a two-way route). */
        body: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Two-way route: send the integration's `body` back to the calling client (AWS: a route response with key $default). */
    routeResponse: z.boolean().optional(),
    /** AWS spelling of the same switch; only `$default` exists on AWS. */
    routeResponseSelectionExpression: z.literal('$default').optional(),
    /** Integration timeout in ms (AWS: 50–29,000, default 29,000), a deadline for the whole call; defaults to `limits.integrationTimeoutMs`. */
    timeoutMs: z.number().int().min(1).max(900_000).optional(),
    /** Name given to the handler in its Lambda context (`context.functionName`); default derived from the route. */
    functionName: z.string().min(1).max(140).optional(),
    /** $connect only: the REQUEST authorizer that runs before the $connect integration. */
    authorizer: AuthorizerSchema.optional(),
    /** $connect only: `NONE` (default), `CUSTOM` (implied by `authorizer`), or `AWS_IAM` (SigV4-presigned handshake). */
    authorizationType: z.enum(['NONE', 'CUSTOM', 'AWS_IAM']).optional(),
  })
  .strict()
  .refine((r) => [r.handler, r.http, r.httpProxy, r.lambda, r.mock].filter((x) => x !== undefined).length <= 1, { message: 'a route takes one integration: one of "handler", "http", "httpProxy", "lambda" or "mock", not several' });

export const LimitsSchema = z
  .object({
    /**
     * Largest message a client may send, and largest PostToConnection payload, in bytes (AWS: 128 KB). Over it: close 1009 / HTTP 413.
     * Also caps route responses: a body over it gets the error frame "Internal server error" instead (the client would refuse the frame);
     * an HTTP integration's answer is read up to 2 × messageBytes + 64 KiB (room for the JSON envelope and escaping), no further.
     */
    messageBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(131_072),
    /** Largest single frame a client may send, in bytes (AWS: 32 KB). Over it: close 1009. */
    frameBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(32_768),
    /** Close a connection with 1001 "Going away" after this long without messages in either direction (AWS: 600). */
    idleTimeoutSeconds: z.number().min(0.05).max(31 * 24 * 3600).default(600),
    /** Close a connection with 1001 "Going away" after this long, active or not (AWS: 7,200). */
    maxConnectionSeconds: z.number().min(0.05).max(365 * 24 * 3600).default(7200),
    /**
     * Default integration timeout in ms (AWS: 29,000): a deadline for the whole call (for HTTP: waiting for a socket, headers and
     * body), after which the client gets "Endpoint request timed out" (504 on $connect) at once. An HTTP call is then cancelled
     * (its request aborted, or never sent if still queued); an in-process handler cannot be stopped: its slot is freed and its
     * late answer dropped.
     */
    integrationTimeoutMs: z.number().int().min(1).max(900_000).default(29_000),
    /** Bytes that may wait in a connection's send buffer; a send beyond it is refused (429 LimitExceededException), never dropped silently. */
    sendBufferBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    /** `accept` (default): binary frames reach integrations base64-encoded. `reject`: close 1003, as AWS does. */
    binaryFrames: z.enum(['accept', 'reject']).default('accept'),
    /** Whether a client ping resets the idle timer (AWS: it does not). */
    pingCountsAsActivity: z.boolean().default(false),
    /** Largest number of connections, open or in their handshake ($connect running); new handshakes beyond it get 429. 0 = unlimited. */
    maxConnections: z.number().int().min(0).default(0),
    /**
     * Messages of one connection that may await their integration at once; beyond it the message gets the error frame
     * "Too Many Requests" and is not queued (nor counted against route throttling). A call frees its slot when answered or at
     * its deadline; synchronous handler answers never hold one.
     */
    inflightPerConnection: z.number().int().min(1).default(10),
    /** Bytes that may wait in all send buffers together; beyond it sends to connections that already have bytes waiting are refused (POST 429, fan-outs `full`, route responses dropped), while a connection with an empty buffer is still served. */
    sendBufferTotalBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
    /** A connection whose send buffer stays full this long (over `sendBufferBytes`, or refused for `sendBufferTotalBytes`) is closed with 1008 "slow consumer" (checked at least once a second). */
    slowConsumerSeconds: z.number().min(0.05).max(3600).default(30),
    /** Time a new TCP connection has to send a complete request head (counted from its first byte once it sent one); after it the socket is destroyed. A running $connect is not subject to it. */
    handshakeTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Time a management request has to send its whole body once its head arrived; after it, 408 and the socket is closed (a request refused on its head has its unread body dropped until then, then its socket closed). */
    requestBodyTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Sockets to each HTTP integration backend (origin) at once, kept alive; every gateway has its own, closed with it. */
    httpIntegrationConnections: z.number().int().min(1).max(65_536).default(128),
    /**
     * HTTP integration calls that may wait for a socket, per backend origin; beyond it a call fails at once with the error frame
     * "Internal server error" (502 on $connect), as AWS answers an integration failure. A call still waiting at its deadline times
     * out and is never sent.
     */
    httpIntegrationQueue: z.number().int().min(0).max(1_000_000).default(1024),
    /** Largest answer read from a $connect/$disconnect HTTP integration or an HTTP authorizer; over it: 502 on $connect, 500 from an authorizer (route responses are capped by `messageBytes`). */
    handshakeAnswerBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  })
  .strict();

/**
 * AWS's route throttling (`ThrottlingRateLimit`, `ThrottlingBurstLimit`): a token bucket per route over all clients of the stage,
 * full at start. A route's `routeSettings` entry wins over `defaultRouteSettings` as a whole; a number it leaves out takes AWS's
 * account default (rate 10,000, burst 5,000). Over it a message gets the error frame "Too Many Requests" and $connect is refused
 * with 429 `{"message":"Too Many Requests"}` (before the authorizer), as AWS does; $disconnect is never throttled. Without any
 * settings there is no throttling (AWS's account-level limit is not imposed).
 */
export const RouteSettingsSchema = z
  .object({
    /** Steady-state messages per second the route accepts (AWS account default: 10,000). */
    throttlingRateLimit: z.number().min(0).optional(),
    /** Messages the route accepts in a burst above the rate (AWS account default: 5,000); 0 throttles every message, as on AWS. */
    throttlingBurstLimit: z.number().int().min(0).optional(),
  })
  .strict();

export const CredentialSchema = z
  .object({
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    /** When set, requests with this key must carry exactly this session token. */
    sessionToken: z.string().min(1).optional(),
  })
  .strict();

export const ManagementSchema = z
  .object({
    /** `sigv4` (default): every management call must be SigV4-signed by a configured key. `none`: no authentication, for local development only. */
    auth: z.enum(['sigv4', 'none']).default('sigv4'),
    /** Access keys accepted for management calls (and for AWS_IAM handshakes). */
    credentials: z.array(CredentialSchema).default([]),
    /** Also accept AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the gateway's environment. */
    credentialsFromEnv: z.boolean().default(false),
    /** Signing regions accepted; default: any (AWS derives it from the host, which we cannot). */
    regions: z.array(z.string().min(1)).optional(),
    /** Token-bucket rate limit over all management calls; beyond it 429 LimitExceededException. Omit for none. */
    rateLimit: z
      .object({ perSecond: z.number().positive(), burst: z.number().int().positive() })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Cluster mode: several gateway processes behind a plain load balancer, sharing one Redis (standalone or Sentinel)
 * as connection registry and message bus. Absent: one process, everything in memory.
 */
export const ClusterSchema = z
  .object({
    /** Where Redis is: `{ url: redis://host:6379 }` (`rediss://` for TLS), or `{ sentinel: { name, nodes: [{ host, port }] } }`. */
    redis: z.union([
      z.object({ url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL') }).strict(),
      z
        .object({
          sentinel: z
            .object({
              name: z.string().min(1),
              nodes: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }).strict()).min(1),
            })
            .strict(),
        })
        .strict(),
    ]),
    /** First part of every key and channel: `PREFIX:{apiId/stage}:…` (one hash tag per stage). */
    keyPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, ".", "-" or "_"').default('sb'),
    /** This process's id in the cluster; `auto` (default): a random 96-bit id per start. */
    nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, "-" or "_"').default('auto'),
    /** How often a node renews its lease (and probes its own subscription). */
    heartbeatMs: z.number().int().min(10).max(60_000).default(1000),
    /** A node whose lease is this old is suspected: calls to its connections answer 503 until it is known dead. */
    leaseMs: z.number().int().min(50).max(600_000).default(5000),
    /** Suspected this long ⇒ dead, even if Redis still holds its connection (frozen host, partition). */
    deadAfterMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** How often every node looks for dead nodes to clean up. */
    reaperIntervalMs: z.number().int().min(10).max(600_000).default(1000),
    /** Deadline of one remote operation or fan-out; no answer by then: 500 "may have been delivered". */
    requestTimeoutMs: z.number().int().min(10).max(120_000).default(2000),
    /** Accept new WebSocket handshakes while Redis is unreachable (default: refuse with 503). */
    acceptWhileRegistryDown: z.boolean().default(false),
    /** No Redis at start: give up (exit non-zero) after this long. */
    startupTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.leaseMs <= c.heartbeatMs) ctx.addIssue({ code: 'custom', path: ['leaseMs'], message: 'leaseMs must be longer than heartbeatMs' });
    if (c.deadAfterMs < c.leaseMs) ctx.addIssue({ code: 'custom', path: ['deadAfterMs'], message: 'deadAfterMs must be at least leaseMs' });
  });

export const ConfigSchema = z
  .object({
    /** Stage name: the first path segment of client and management URLs (AWS: `/{stage}`). */
    stage: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected letters, digits, "-" or "_"').default('dev'),
    /** Interface to listen on. 127.0.0.1 by default; `0.0.0.0` (or `::`) listens on all interfaces. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one. */
    port: z.number().int().min(0).max(65_535).default(8080),
    /** API id shown in events (`requestContext.apiId`) and ARNs. */
    apiId: z.string().regex(/^[a-z0-9]{1,32}$/, 'expected lowercase letters and digits').default('switchboard'),
    /** Region shown in ARNs and given to handlers as AWS_REGION. */
    region: z.string().min(1).default('us-east-1'),
    /** Account id shown in ARNs. */
    accountId: z.string().regex(/^\d{12}$/, 'expected 12 digits').default('000000000000'),
    /** `requestContext.domainName`; default: the Host header the client sent. */
    domainName: z.string().min(1).optional(),
    /**
     * Also serve serverless-offline's URLs, without the stage: clients at `ws://HOST:PORT/` and the management API at
     * `/@connections/{id}` (still SigV4-verified, over the path as sent). The `/{stage}` URLs keep working. Set by
     * `--serverless` in serverless-offline mode; off by default (AWS has no such paths).
     */
    stagelessPaths: z.boolean().default(false),
    /** How a message picks its route (AWS grammar: `$request.body.action`, `${request.body.a}/${request.body.b}`). */
    routeSelectionExpression: z.string().min(1).default('$request.body.action'),
    /** Routes by key: `$connect`, `$disconnect`, `$default` and custom keys. */
    routes: z
      .record(z.string(), RouteSchema)
      .default({}),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    /** Throttling for every message route of the stage (AWS `DefaultRouteSettings`); a route's own entry in `routeSettings` wins. */
    defaultRouteSettings: RouteSettingsSchema.optional(),
    /** Throttling per route key (AWS `RouteSettings`); messages over it get the error frame "Too Many Requests". */
    routeSettings: z.record(z.string(), RouteSettingsSchema).default({}),
    /** Addresses (CIDR or single IP) of proxies in front of the gateway whose X-Forwarded-For is believed: the client address it names becomes `sourceIp`. */
    trustProxy: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const why = trustEntryError(entry);
          if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${why} (expected an IP address such as 10.0.0.1 or a CIDR block such as 10.0.0.0/8)` });
        }),
      )
      .default([]),
    shutdown: z
      .object({
        /** On SIGTERM / `close()`: how long running handlers may finish before clients are closed with 1001 and the process exits. */
        graceSeconds: z.number().min(0).max(3600).default(25),
      })
      .strict()
      .default({ graceSeconds: 25 }),
    management: ManagementSchema.default(ManagementSchema.parse({})),
    /** Where handlers run unless a route says otherwise: `inline` (in the gateway process) or `worker` (worker threads). */
    isolation: z.enum(['inline', 'worker']).default('inline'),
    /** Worker pools of functions with `isolation: worker`: one pool per route or authorizer, each worker one call at a time, like Lambda execution environments. */
    workers: z
      .object({
        /** Calls of one function running at once (its workers), unless the route says `maxConcurrency`; beyond it a call gets "Internal server error" (502 on $connect). */
        maxConcurrency: z.number().int().min(1).max(1024).default(8),
        /** A worker idle this long is ended; one per function is kept warm. */
        idleSeconds: z.number().min(1).max(86_400).default(300),
        /** Heap cap of each worker in MB (`resourceLimits.maxOldGenerationSizeMb`); a handler over it ends its worker (its call fails), not the gateway. */
        maxOldGenerationSizeMb: z.number().int().min(16).max(65_536).default(256),
      })
      .strict()
      .default({ maxConcurrency: 8, idleSeconds: 300, maxOldGenerationSizeMb: 256 }),
    /** Serve `wss://` and `https://` on the same port: PEM file paths (relative to the config file). */
    tls: z
      .object({
        cert: z.string().min(1),
        key: z.string().min(1),
      })
      .strict()
      .optional(),
    /** The admin listener (metrics, health, admin API, dashboard); off unless configured. */
    admin: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        /** 0 picks a free port. */
        port: z.number().int().min(0).max(65_535).default(9090),
        /**
         * Bearer token every admin route except /health and /ready requires (`/metrics` included:
         * Prometheus sends it with `authorization: { credentials: … }`); without one, those routes are
         * refused. Empty (`${ADMIN_TOKEN:-}` with the variable unset) counts as none; `switchboard start`
         * then generates one for the run and prints it.
         */
        token: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
      })
      .strict()
      .optional(),
    /** Set AWS_REGION, AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI and credentials in process.env so in-process handlers can call back unchanged. */
    handlerEnvironment: z.boolean().default(true),
    logging: z
      .object({
        /** pino level: fatal, error, warn, info (default), debug, trace, silent. */
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Human-readable lines (pino-pretty) instead of JSON; `auto` (default): when stderr is a terminal. */
        pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /**
         * Access logs (at `info`, `log: "access"`): one line per connection when it ends (close code and
         * reason, duration, messages and bytes in and out, messages per route), one per management call.
         * `open: true` adds a line when a connection opens. `format`: an AWS-style template of
         * `$context.name` variables (`$context.requestId $context.status …`); default: the JSON object.
         */
        accessLog: z
          .object({
            enabled: z.boolean().default(true),
            open: z.boolean().default(false),
            format: z.string().min(1).max(4096).optional(),
          })
          .strict()
          .default({ enabled: true, open: false }),
      })
      .strict()
      .default({ level: 'info', pretty: 'auto', accessLog: { enabled: true, open: false } }),
    /** Cluster mode (several processes sharing one Redis); absent: one process as before. */
    cluster: ClusterSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    try {
      compileSelectionExpression(c.routeSelectionExpression);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['routeSelectionExpression'], message: err.message });
    }
    for (const [key, route] of Object.entries(c.routes)) {
      if (!ROUTE_KEY.test(key)) {
        ctx.addIssue({ code: 'custom', path: ['routes', key], message: `invalid route key: expected $connect, $disconnect, $default, or a custom key of 1-128 characters without spaces, not starting with "$"` });
        continue;
      }
      const needsIntegration = key !== '$connect' && key !== '$disconnect';
      if (needsIntegration && !route.handler && !route.http && !route.httpProxy && !route.lambda && !route.mock) {
        ctx.addIssue({ code: 'custom', path: ['routes', key], message: 'a message route needs an integration: "handler", "http", "httpProxy", "lambda" or "mock"' });
      }
      if ((route.authorizer || route.authorizationType) && key !== '$connect') {
        ctx.addIssue({ code: 'custom', path: ['routes', key], message: 'authorizers apply to $connect only (as on AWS)' });
      }
      if (route.authorizationType === 'CUSTOM' && !route.authorizer) {
        ctx.addIssue({ code: 'custom', path: ['routes', key, 'authorizer'], message: 'authorizationType CUSTOM needs an "authorizer"' });
      }
      if (route.authorizationType === 'AWS_IAM' && route.authorizer) {
        ctx.addIssue({ code: 'custom', path: ['routes', key], message: 'AWS_IAM and a custom authorizer cannot be combined' });
      }
      if ((route.routeResponse || route.routeResponseSelectionExpression) && key === '$disconnect') {
        ctx.addIssue({ code: 'custom', path: ['routes', key], message: '$disconnect cannot have a route response' });
      }
    }
    for (const key of Object.keys(c.routeSettings)) {
      if (!Object.hasOwn(c.routes, key)) ctx.addIssue({ code: 'custom', path: ['routeSettings', key], message: `no route "${key}" is configured` });
    }
  });

/** The configuration as written (input) and after defaults are applied (output). */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type RouteConfig = z.output<typeof RouteSchema>;
export type AuthorizerConfig = z.output<typeof AuthorizerSchema>;
export type RouteSettings = z.output<typeof RouteSettingsSchema>;
