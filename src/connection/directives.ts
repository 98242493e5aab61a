import type { Registry } from '../registry/registry.js';
import { isGroupName, isPrincipalId } from '../registry/names.js';
import type { Connection } from './connection.js';

/**
 * Applies the `switchboard` key of a handler's answer:
 *   { principalId?: string, join?: string[], leave?: string[] }
 * `principalId` is honoured on $connect only (for APIs without an authorizer: the identity is
 * settled at connect time, as on AWS). Throws on a malformed directive; the caller logs it.
 */
export function createDirectiveApplier(registry: Registry) {
  return (conn: Connection, directives: unknown, routeKey: string): void => {
    if (directives === null || typeof directives !== 'object' || Array.isArray(directives)) throw new Error('"switchboard" must be an object');
    const d = directives as Record<string, unknown>;
    for (const k of Object.keys(d)) if (k !== 'principalId' && k !== 'join' && k !== 'leave') throw new Error(`unknown key "switchboard.${k}"`);
    if (d.principalId !== undefined) {
      if (routeKey !== '$connect') throw new Error('switchboard.principalId can only be set by a $connect answer');
      if (typeof d.principalId !== 'string' || !isPrincipalId(d.principalId)) throw new Error('switchboard.principalId must be a string of 1-1024 characters');
      if (conn.principalId !== undefined && conn.principalId !== d.principalId) throw new Error('the authorizer already set a different principalId');
      conn.principalId = d.principalId;
      void registry.setPrincipal(conn.id, d.principalId);
    }
    for (const key of ['join', 'leave'] as const) {
      const groups = d[key];
      if (groups === undefined) continue;
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string' && isGroupName(g))) {
        throw new Error(`switchboard.${key} must be a list of group names (1-128 characters of A-Z a-z 0-9 _ . : -)`);
      }
      for (const g of groups as string[]) void (key === 'join' ? registry.join(conn.id, g) : registry.leave(conn.id, g));
    }
  };
}
