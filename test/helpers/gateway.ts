import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createGateway, type Gateway } from '../../src/index.js';
import type { GatewayOptions } from '../../src/gateway.js';
import type { ConfigInput } from '../../src/config/schema.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const ROOT = path.join(FIXTURES, '..', '..');

/** Credentials the test gateways accept. */
export const CREDS = Object.freeze({ accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' });

/**
 * Starts a real gateway on a free port with handler paths relative to test/fixtures. Logs are
 * silent unless SB_TEST_LOG is set. `extra`: more createGateway options (registry, bus, nodeId).
 */
export function startGateway(config: ConfigInput, baseDir = FIXTURES, extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const logger = pino({ level: process.env.SB_TEST_LOG ?? 'silent' });
  return createGateway({
    config: { ...config, management: { credentials: [{ ...CREDS }], ...config.management } },
    baseDir,
    port: 0,
    logger,
    ...extra,
  });
}

/** What fixture handlers recorded (they run in-process and write to globalThis). */
export function recorded(): { events: any[]; contexts: any[] } {
  const g = globalThis as any;
  g.__sb ??= { events: [], contexts: [] };
  return g.__sb;
}

export function resetRecorded(): void {
  const r = recorded();
  r.events.length = 0;
  r.contexts.length = 0;
}

/** Events a route saw, by eventType / routeKey. */
export function eventsOf(routeKey: string): any[] {
  return recorded().events.filter((e) => e.requestContext?.routeKey === routeKey);
}
