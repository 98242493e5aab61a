import { HandlerIntegration, loadHandler } from './handler.js';
import { HttpIntegration } from './http.js';
import type { Integration } from './integration.js';

/** What a route or authorizer names as its integration. */
export interface IntegrationRef {
  handler?: string | undefined;
  http?: string | undefined;
}

/** Builds (and for handlers, loads) the integration a route or authorizer names; null when it names none. */
export async function createIntegration(ref: IntegrationRef, baseDir: string, region: string, accountId: string): Promise<Integration | null> {
  if (ref.handler) {
    const { fn } = await loadHandler(ref.handler, baseDir);
    return new HandlerIntegration(fn, ref.handler, region, accountId);
  }
  if (ref.http) return new HttpIntegration(ref.http);
  return null;
}
