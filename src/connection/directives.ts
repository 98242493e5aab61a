import { isGroupName, isPrincipalId } from '../registry/names.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';

/**
 * Applies the `switchboard` key of a handler's answer:
 *   { principalId?: string, join?: string[], leave?: string[] }
 * `principalId` is honoured on $connect only (for APIs without an authorizer: the identity is
 * settled at connect time, as on AWS). On $connect they go on the connection before its record
 * is registered; later ones through the hub (memory at once, the registry write in the background).
 * Throws on a malformed directive, having applied none of it; the caller logs it.
 */
export function createDirectiveApplier(hub: Hub) {
  return (conn: Connection, directives: unknown, routeKey: string): void => {
    if (directives === null || typeof directives !== 'object' || Array.isArray(directives)) throw new Error('"switchboard" must be an object');
    const d = directives as Record<string, unknown>;
    for (const k of Object.keys(d)) if (k !== 'principalId' && k !== 'join' && k !== 'leave') throw new Error(`unknown key "switchboard.${k}"`);
    // Validate every key before applying any, so a malformed answer changes nothing.
    const principalId = d.principalId;
    if (principalId !== undefined) {
      if (routeKey !== '$connect') throw new Error('switchboard.principalId can only be set by a $connect answer');
      if (typeof principalId !== 'string' || !isPrincipalId(principalId)) throw new Error('switchboard.principalId must be a string of 1-1024 characters');
      if (conn.principalId !== undefined && conn.principalId !== principalId) throw new Error('the authorizer already set a different principalId');
    }
    for (const key of ['join', 'leave'] as const) {
      const groups = d[key];
      if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string' && isGroupName(g)))) {
        throw new Error(`switchboard.${key} must be a list of group names (1-128 characters of A-Z a-z 0-9 _ . : -)`);
      }
    }
    // Only a $connect answer sets it, before the connection is registered or indexed.
    if (principalId !== undefined) conn.principalId = principalId as string;
    for (const g of (d.join ?? []) as string[]) hub.applyJoin(conn, g);
    for (const g of (d.leave ?? []) as string[]) hub.applyLeave(conn, g);
  };
}
