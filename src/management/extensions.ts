import { isUtf8 } from 'node:buffer';
import type { Bus, Selector } from '../bus/bus.js';
import { isGroupName, isPrincipalId } from '../registry/names.js';
import { InvalidCursor, type ConnectionListing, type ConnectionRecord, type ListPage, type ListQuery, type NodeSummary, type Registry } from '../registry/registry.js';
import { connectionInfo, type ManagementCall, type ManagementRoute } from './api.js';
import { closeParams, type CloseParams } from './close-params.js';
import { badRequest, gone, sendEmpty, sendJson, serviceUnavailable } from './errors.js';

/**
 * Switchboard's operations beyond AWS, on the same host and signed the same way, under
 * `/{stage}/@…` paths AWS does not use. They read like AWS's: POST sends, GET lists, DELETE closes.
 *   GET    @connections                      list (filter ?principal= ?group= ?search=, ?limit= ?nextToken=)
 *   GET    @principals/{p}/connections       a principal's connections
 *   POST   @principals/{p}                   send to all of them (?exclude=id)
 *   DELETE @principals/{p}                   close all of them (?code= ?reason= ?exclude=id)
 *   PUT    @groups/{g}/connections/{id}      join      DELETE … leave
 *   GET    @groups/{g}/connections           members
 *   POST   @groups/{g}                       send to members (?exclude=id)
 *   DELETE @groups/{g}                       close members (?code= ?reason= ?exclude=id)
 *   POST   @broadcast                        send to every connection of the stage (?exclude=id)
 *   GET    @nodes                            the gateway's nodes and how many connections each holds
 * Sends and closes go to the bus as one selector (each node resolves its own members); a send
 * answers `{sent, failed}`, a close `{closed}` plus `failed` when some members' nodes did not
 * confirm. Listings read the registry; each item's `lastActiveAt` comes from its owner.
 */

function listingJson(l: ConnectionListing) {
  return { connectionId: l.record.id, ...connectionInfo(l.record), principalId: l.record.principalId ?? null, groups: l.groups, nodeId: l.record.nodeId };
}

/**
 * Asks the owners for their live records, one batched request per node present in the page:
 * exact `lastActiveAt`, and items the owner no longer has open are dropped (closing, or closed
 * since the registry was read). An owner that cannot be asked leaves its items as the registry has them.
 */
async function fromOwners(bus: Bus, items: ConnectionListing[]): Promise<ConnectionListing[]> {
  const live = await bus.infoMany(items.map((l) => ({ id: l.record.id, nodeId: l.record.nodeId }))).catch(() => new Map<string, ConnectionRecord | null>());
  const out: ConnectionListing[] = [];
  for (let i = 0; i < items.length; i++) {
    const rec = live.has(items[i]!.record.id) ? live.get(items[i]!.record.id) : items[i]!.record;
    if (rec === null || rec === undefined) continue;
    out.push({ record: rec, groups: rec.groups !== undefined ? [...rec.groups] : items[i]!.groups });
  }
  return out;
}

function pageQuery(call: ManagementCall, filter: Partial<ListQuery>): ListQuery {
  const limitText = call.query.get('limit');
  let limit = 100;
  if (limitText !== null) {
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) throw badRequest(`Invalid limit "${limitText}": expected 1 to 1000`);
    limit = Number(limitText);
  }
  const cursor = call.query.get('nextToken') ?? undefined;
  return { ...filter, limit, cursor };
}

function groupParam(call: ManagementCall): string {
  const g = call.params.group!;
  if (!isGroupName(g)) throw badRequest(`Invalid group name "${g.slice(0, 140)}": expected 1-128 characters of A-Z a-z 0-9 _ . : -`);
  return g;
}

function principalParam(call: ManagementCall): string {
  const p = call.params.principalId!;
  if (!isPrincipalId(p)) throw badRequest('Invalid principal id: expected 1-1024 characters');
  return p;
}

/** Registry pages one search reads at most (of 1000 connections each); past them the answer is short, with a nextToken to carry on. */
const SEARCH_PAGES = 10;
const SEARCH_PAGE_SIZE = 1000;

function matchesSearch(l: ConnectionListing, needle: string): boolean {
  const r = l.record;
  const has = (s: string | undefined) => s !== undefined && s.toLowerCase().includes(needle);
  return has(r.id) || has(r.principalId) || has(r.identity.sourceIp) || has(r.identity.userAgent) || l.groups.some(has);
}

/**
 * A page of the connections matching `q` whose id, principal, group, source IP or user agent
 * contains `text` (case-insensitive). Reads the registry in large pages; when a page holds more
 * matches than fit, it asks again for just the records up to the last one kept, so the cursor
 * handed back sits exactly there (paging loses and repeats nothing, as with the plain listing).
 */
async function searchPage(registry: Registry, q: ListQuery, text: string): Promise<ListPage> {
  const needle = text.toLowerCase();
  const items: ConnectionListing[] = [];
  let cursor = q.cursor;
  for (let pages = 0; pages < SEARCH_PAGES; pages++) {
    const page = await registry.list({ ...q, limit: SEARCH_PAGE_SIZE, cursor });
    const found = page.items.filter((l) => matchesSearch(l, needle));
    if (items.length + found.length > q.limit) {
      const last = found[q.limit - items.length - 1]!;
      const upTo = await registry.list({ ...q, limit: page.items.indexOf(last) + 1, cursor });
      items.push(...upTo.items.filter((l) => matchesSearch(l, needle)));
      return upTo.cursor === undefined ? { items } : { items, cursor: upTo.cursor };
    }
    items.push(...found);
    if (page.cursor === undefined) return { items };
    cursor = page.cursor;
  }
  return { items, cursor: cursor! };
}

/** What the extension routes work with. */
export interface ExtensionDeps {
  registry: Registry;
  bus: Bus;
  /** The gateway's nodes (one in a single process), for `GET @nodes`. */
  nodes: () => Promise<NodeSummary[]>;
}

/** The routes, bound to a registry, a bus and the node list. */
export function extensionRoutes({ registry, bus, nodes }: ExtensionDeps): ManagementRoute[] {
  async function list(call: ManagementCall, filter: Partial<ListQuery>): Promise<void> {
    if (!registry.available()) throw serviceUnavailable('Service Unavailable: the registry cannot be reached right now; retry later');
    let page;
    try {
      const q = pageQuery(call, filter);
      const search = call.query.get('search');
      if (search !== null && search.length > 256) throw badRequest('Invalid search: at most 256 characters');
      page = search ? await searchPage(registry, q, search) : await registry.list(q);
    } catch (err) {
      if (err instanceof InvalidCursor) throw badRequest(err.message);
      throw err;
    }
    const body: { items: unknown[]; nextToken?: string } = { items: (await fromOwners(bus, page.items)).map(listingJson) };
    if (page.cursor !== undefined) body.nextToken = page.cursor;
    sendJson(call.res, 200, body, call.requestId);
  }

  /** The selector with `?exclude=` as its `except`. */
  function selector(call: ManagementCall, sel: { principal: string } | { group: string } | { all: true }): Selector {
    const exclude = call.query.get('exclude');
    return exclude === null ? sel : { ...sel, except: exclude };
  }

  async function fanOut(call: ManagementCall, sel: Selector): Promise<void> {
    // Every recipient comes back either counted in `sent` or named in `failed` (gone, full, unknown).
    sendJson(call.res, 200, await bus.fanOut(sel, call.body, !isUtf8(call.body)), call.requestId);
  }

  async function closeAll(call: ManagementCall, sel: Selector, close: CloseParams): Promise<void> {
    const out = await bus.disconnectAll(sel, close.code, close.reason);
    sendJson(call.res, 200, out.failed.length > 0 ? out : { closed: out.closed }, call.requestId);
  }

  return [
    {
      method: 'GET',
      pattern: ['@connections'],
      handle: (c) => {
        const principal = c.query.get('principal') ?? undefined;
        const group = c.query.get('group') ?? undefined;
        if (group !== undefined && !isGroupName(group)) throw badRequest(`Invalid group name "${group.slice(0, 140)}"`);
        if (principal !== undefined && !isPrincipalId(principal)) throw badRequest('Invalid principal id');
        return list(c, { principal, group });
      },
    },
    { method: 'GET', pattern: ['@principals', ':principalId', 'connections'], handle: (c) => list(c, { principal: principalParam(c) }) },
    { method: 'POST', pattern: ['@principals', ':principalId'], handle: (c) => fanOut(c, selector(c, { principal: principalParam(c) })) },
    {
      method: 'DELETE',
      pattern: ['@principals', ':principalId'],
      handle: async (c) => {
        const close = closeParams(c.query); // validated before anything is closed
        return closeAll(c, selector(c, { principal: principalParam(c) }), close);
      },
    },
    {
      method: 'PUT',
      pattern: ['@groups', ':group', 'connections', ':connectionId'],
      handle: async (c) => {
        const group = groupParam(c);
        if (!(await bus.join(c.params.connectionId!, group))) throw gone();
        sendEmpty(c.res, 204, c.requestId);
      },
    },
    {
      method: 'DELETE',
      pattern: ['@groups', ':group', 'connections', ':connectionId'],
      handle: async (c) => {
        await bus.leave(c.params.connectionId!, groupParam(c));
        sendEmpty(c.res, 204, c.requestId);
      },
    },
    { method: 'GET', pattern: ['@groups', ':group', 'connections'], handle: (c) => list(c, { group: groupParam(c) }) },
    { method: 'POST', pattern: ['@groups', ':group'], handle: (c) => fanOut(c, selector(c, { group: groupParam(c) })) },
    {
      method: 'DELETE',
      pattern: ['@groups', ':group'],
      handle: async (c) => {
        const group = groupParam(c);
        const close = closeParams(c.query);
        return closeAll(c, selector(c, { group }), close);
      },
    },
    { method: 'POST', pattern: ['@broadcast'], handle: (c) => fanOut(c, selector(c, { all: true })) },
    {
      method: 'GET',
      pattern: ['@nodes'],
      handle: async (c) => {
        const items = await nodes();
        items.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
        sendJson(c.res, 200, { items }, c.requestId);
      },
    },
  ];
}
