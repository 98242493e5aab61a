import type { Logger } from 'pino';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { Metrics } from '../observability/metrics.js';
import type { Config } from '../config/schema.js';
import type { Authorize } from '../connection/lifecycle.js';
import type { ApiInfo } from '../events/events.js';
import { createIntegration, type IntegrationRuntime } from '../integrations/factory.js';
import type { HttpPool } from '../integrations/http.js';
import type { CredentialStore } from './credentials.js';
import { iamHandshake } from './iam-handshake.js';
import { RequestAuthorizer } from './request-authorizer.js';
import { SigV4Verifier } from './sigv4.js';

/** Everything an authorizer needs from the gateway. */
export interface AuthorizerDeps {
  config: Config;
  baseDir: string;
  api: ApiInfo;
  credentials: CredentialStore;
  logger: Logger;
  /** The gateway's HTTP client, for an HTTP authorizer. */
  httpPool: HttpPool;
  /** Rate-limited logging: clients can make handshakes fail over and over. */
  logLimiter: LogLimiter;
  /** Counts authorizer cache hits and misses; default: not counted. */
  metrics?: Metrics | undefined;
  /** The gateway's integration runtime (per-function environment, worker pools). */
  runtime?: IntegrationRuntime | undefined;
}

/**
 * Builds the $connect authorization step from the configuration: a REQUEST authorizer
 * (handler module or HTTP endpoint), AWS_IAM (a SigV4-signed handshake), or none (undefined).
 */
export async function createAuthorize(deps: AuthorizerDeps): Promise<Authorize | undefined> {
  const route = deps.config.routes.$connect;
  if (route === undefined) return undefined;
  if (route.authorizationType === 'AWS_IAM') {
    return iamHandshake(new SigV4Verifier({ credentials: deps.credentials, regions: deps.config.management.regions }), deps.logLimiter);
  }
  if (route.authorizer === undefined) return undefined;
  const integration = await createIntegration(route.authorizer, deps.baseDir, deps.config.region, deps.config.accountId, 'routes.$connect.authorizer', {
    pool: deps.httpPool,
    answerBytes: deps.config.limits.handshakeAnswerBytes,
    answerLimit: 'limits.handshakeAnswerBytes',
  }, deps.runtime);
  return new RequestAuthorizer(route.authorizer, integration!, deps.api, deps.logLimiter, deps.metrics).authorize;
}
