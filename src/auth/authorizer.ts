import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Authorize } from '../connection/lifecycle.js';
import type { ApiInfo } from '../events/events.js';
import type { CredentialStore } from './credentials.js';

/** Everything an authorizer needs from the gateway. */
export interface AuthorizerDeps {
  config: Config;
  baseDir: string;
  api: ApiInfo;
  credentials: CredentialStore;
  logger: Logger;
}

/**
 * Builds the $connect authorization step from the configuration: a REQUEST authorizer
 * (handler module or HTTP endpoint), AWS_IAM (SigV4-presigned handshake), or none (undefined).
 * STUB: implemented by the authorizers issue.
 */
export async function createAuthorize(_deps: AuthorizerDeps): Promise<Authorize | undefined> {
  return undefined;
}
