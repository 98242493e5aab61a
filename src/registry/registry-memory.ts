import { InvalidCursor, isOpen, type ConnectionListing, type ConnectionRecord, type ListPage, type ListQuery, type Registry } from './registry.js';

interface Entry {
  rec: ConnectionRecord;
  /** Insertion sequence: the listing order, and what a cursor remembers. */
  seq: number;
  principalId: string | undefined;
  /** Created on the first join: most connections never join a group. */
  groups: Set<string> | undefined;
}

const EMPTY: ConnectionRecord[] = [];

/**
 * The registry of a single process. Records are the live connection objects themselves, so
 * `lastActiveAt` is always current and nothing is copied per message.
 */
export class MemoryRegistry implements Registry {
  private readonly byId = new Map<string, Entry>();
  // Indexes hold the entries themselves: a fan-out to 10,000 members does no id lookups.
  private readonly byPrincipal = new Map<string, Set<Entry>>();
  private readonly byGroup = new Map<string, Set<Entry>>();
  private seq = 0;

  add(rec: ConnectionRecord): void {
    const e: Entry = { rec, seq: ++this.seq, principalId: undefined, groups: undefined };
    this.byId.set(rec.id, e);
    if (rec.principalId !== undefined) this.index(e, rec.principalId);
  }

  remove(id: string): void {
    const e = this.byId.get(id);
    if (e === undefined) return;
    this.byId.delete(id);
    if (e.principalId !== undefined) unlink(this.byPrincipal, e.principalId, e);
    if (e.groups) for (const g of e.groups) unlink(this.byGroup, g, e);
  }

  get(id: string): ConnectionRecord | undefined {
    return this.byId.get(id)?.rec;
  }

  count(): number {
    return this.byId.size;
  }

  setPrincipal(id: string, principalId: string): void {
    const e = this.byId.get(id);
    if (e === undefined) return;
    if (e.principalId !== undefined) unlink(this.byPrincipal, e.principalId, e);
    this.index(e, principalId);
  }

  join(id: string, group: string): boolean {
    const e = this.byId.get(id);
    if (e === undefined) return false;
    (e.groups ??= new Set()).add(group);
    let members = this.byGroup.get(group);
    if (members === undefined) this.byGroup.set(group, (members = new Set()));
    members.add(e);
    return true;
  }

  leave(id: string, group: string): void {
    const e = this.byId.get(id);
    if (e === undefined || !e.groups?.delete(group)) return;
    unlink(this.byGroup, group, e);
  }

  principalMembers(principalId: string): ConnectionRecord[] {
    return this.records(this.byPrincipal.get(principalId));
  }

  groupMembers(group: string): ConnectionRecord[] {
    return this.records(this.byGroup.get(group));
  }

  all(): ConnectionRecord[] {
    const out: ConnectionRecord[] = [];
    for (const e of this.byId.values()) out.push(e.rec);
    return out;
  }

  list(q: ListQuery): ListPage {
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor);
    // Candidates in insertion order: a filter's index when there is one, else everything.
    let entries: Iterable<Entry>;
    if (q.principal !== undefined) entries = this.byPrincipal.get(q.principal) ?? [];
    else if (q.group !== undefined) entries = this.byGroup.get(q.group) ?? [];
    else entries = this.byId.values();
    const indexed = q.principal !== undefined || q.group !== undefined;
    const matches: Entry[] = [];
    for (const e of entries) {
      if (e.seq <= after) continue;
      if (!isOpen(e.rec)) continue; // closing: gone for callers, as GetConnection says
      if (q.group !== undefined && !e.groups?.has(q.group)) continue;
      if (q.principal !== undefined && e.principalId !== q.principal) continue;
      matches.push(e);
    }
    // Index sets keep insertion order only per set; sort so pages follow one global order.
    if (indexed) matches.sort((a, b) => a.seq - b.seq);
    const page = matches.slice(0, q.limit);
    const items: ConnectionListing[] = page.map((e) => ({ record: e.rec, groups: e.groups ? [...e.groups] : [] }));
    return matches.length > q.limit ? { items, cursor: encodeCursor(page[page.length - 1]!.seq) } : { items };
  }

  private index(e: Entry, principalId: string): void {
    e.principalId = principalId;
    let entries = this.byPrincipal.get(principalId);
    if (entries === undefined) this.byPrincipal.set(principalId, (entries = new Set()));
    entries.add(e);
  }

  private records(entries: Set<Entry> | undefined): ConnectionRecord[] {
    return entries === undefined ? EMPTY : Array.from(entries, recordOf);
  }
}

function unlink(index: Map<string, Set<Entry>>, key: string, e: Entry): void {
  const entries = index.get(key);
  if (entries === undefined) return;
  entries.delete(e);
  if (entries.size === 0) index.delete(key);
}

const recordOf = (e: Entry) => e.rec;

/** Cursors are opaque to callers: a versioned, base64url-wrapped sequence number. */
function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (m === null || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursor(`Invalid nextToken "${cursor}"`);
  return Number(m[1]);
}
