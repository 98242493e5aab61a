import type { SignedHttp } from './http.js';
import type { ConnectionPage, ListedConnection, PageOptions } from './types.js';

/** A listing item as it is on the wire (timestamps as ISO-8601 strings). */
interface WireListed {
  connectionId: string;
  connectedAt: string;
  lastActiveAt: string;
  identity: { sourceIp: string; userAgent?: string | null };
  principalId?: string | null;
  groups?: string[];
  nodeId?: string;
}

/** Converts one wire item: timestamps become Dates, absent optional fields become null / []. */
export function listedFromWire(w: WireListed): ListedConnection {
  return {
    connectionId: w.connectionId,
    connectedAt: new Date(w.connectedAt),
    lastActiveAt: new Date(w.lastActiveAt),
    identity: { sourceIp: w.identity.sourceIp, userAgent: w.identity.userAgent ?? null },
    principalId: w.principalId ?? null,
    groups: w.groups ?? [],
    nodeId: w.nodeId ?? 'local',
  };
}

/** Fetches one page of a listing at `subPath` (`@connections`, `@principals/P/connections`, `@groups/G/connections`). */
export async function fetchPage(http: SignedHttp, subPath: string, query: Record<string, string | number | undefined>): Promise<ConnectionPage> {
  const wire = await http.json<{ items: WireListed[]; nextToken?: string }>('GET', subPath, query);
  const page: ConnectionPage = { items: wire.items.map(listedFromWire) };
  if (wire.nextToken !== undefined) page.nextToken = wire.nextToken;
  return page;
}

/**
 * Every item of a listing, page after page, until a page comes without `nextToken`.
 * `limit` is the page size; `nextToken` starts from a page other than the first.
 */
export async function* allPages(fetch: (page: PageOptions) => Promise<ConnectionPage>, opts: PageOptions = {}): AsyncGenerator<ListedConnection, void, undefined> {
  let nextToken = opts.nextToken;
  do {
    const page = await fetch({ limit: opts.limit, nextToken });
    yield* page.items;
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
}
