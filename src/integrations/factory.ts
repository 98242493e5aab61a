import { HandlerIntegration, HandlerLoadError, loadHandler } from './handler.js';
import { HttpIntegration, type HttpPool } from './http.js';
import type { Integration } from './integration.js';

/** What a route or authorizer names as its integration. */
export interface IntegrationRef {
  handler?: string | undefined;
  http?: string | undefined;
}

/** What HTTP integrations are built with: the gateway's pool and the largest answer read (and the key it comes from). */
export interface HttpIntegrationDeps {
  pool: HttpPool;
  answerBytes: number;
  /** `limits.messageBytes` or `limits.handshakeAnswerBytes`: the label of the refusal counter. */
  answerLimit: string;
}

/**
 * Builds (and for handlers, loads) the integration a route or authorizer names; null when it
 * names none. A module that cannot be loaded is a HandlerLoadError naming `where`, the
 * configuration key it came from (`routes.echo`, `routes.$connect.authorizer`).
 */
export async function createIntegration(ref: IntegrationRef, baseDir: string, region: string, accountId: string, where: string, http: HttpIntegrationDeps): Promise<Integration | null> {
  if (ref.handler) {
    let fn;
    try {
      ({ fn } = await loadHandler(ref.handler, baseDir));
    } catch (err) {
      if (err instanceof HandlerLoadError) throw new HandlerLoadError(`${where}: ${err.message}`);
      throw err;
    }
    return new HandlerIntegration(fn, ref.handler, region, accountId);
  }
  if (ref.http) return new HttpIntegration(ref.http, http.pool, http.answerBytes, http.answerLimit);
  return null;
}
