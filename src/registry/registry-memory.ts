import { InvalidCursor, isOpen, type ConnectionListing, type ConnectionRecord, type ListPage, type ListQuery, type Registry } from './registry.js';

interface Entry {
  /** A plain copy of what the owner registered (principal and groups kept beside it). */
  rec: ConnectionRecord;
  /** Insertion sequence: the listing order, and what a cursor remembers. */
  seq: number;
  principalId: string | undefined;
  /** Created on the first group: most connections never join one. */
  groups: Set<string> | undefined;
}

/**
 * The registry of one process: plain records (never live connections), indexed by principal and
 * group. One instance may be shared by several in-process nodes, each record naming its node.
 * Always available.
 */
export class MemoryRegistry implements Registry {
  private readonly byId = new Map<string, Entry>();
  private readonly byPrincipal = new Map<string, Set<Entry>>();
  private readonly byGroup = new Map<string, Set<Entry>>();
  private seq = 0;

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  available(): boolean {
    return true;
  }

  async add(rec: ConnectionRecord): Promise<void> {
    const old = this.byId.get(rec.id);
    if (old !== undefined) this.drop(old);
    const seq = ++this.seq;
    const e: Entry = { rec: plain(rec, seq), seq, principalId: undefined, groups: undefined };
    this.byId.set(rec.id, e);
    if (rec.principalId !== undefined) this.index(e, rec.principalId);
    if (rec.groups !== undefined) for (const g of rec.groups) this.link(e, g);
  }

  async remove(id: string): Promise<boolean> {
    const e = this.byId.get(id);
    if (e === undefined) return false;
    this.drop(e);
    return true;
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const e = this.byId.get(id);
    return e === undefined ? undefined : current(e);
  }

  async count(): Promise<number> {
    return this.byId.size;
  }

  async setPrincipal(id: string, principalId: string): Promise<void> {
    const e = this.byId.get(id);
    if (e === undefined) return;
    if (e.principalId !== undefined) unlink(this.byPrincipal, e.principalId, e);
    this.index(e, principalId);
    e.rec = { ...e.rec, principalId };
  }

  async join(id: string, group: string): Promise<boolean> {
    const e = this.byId.get(id);
    if (e === undefined) return false;
    this.link(e, group);
    return true;
  }

  async leave(id: string, group: string): Promise<void> {
    const e = this.byId.get(id);
    if (e === undefined || !e.groups?.delete(group)) return;
    unlink(this.byGroup, group, e);
  }

  async list(q: ListQuery): Promise<ListPage> {
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor);
    // Candidates: a filter's index when there is one, else everything (insertion order = seq order).
    let entries: Iterable<Entry>;
    if (q.principal !== undefined) entries = this.byPrincipal.get(q.principal) ?? [];
    else if (q.group !== undefined) entries = this.byGroup.get(q.group) ?? [];
    else entries = this.byId.values();
    const indexed = q.principal !== undefined || q.group !== undefined;
    const matches: Entry[] = [];
    for (const e of entries) {
      if (e.seq <= after) continue;
      if (!isOpen(e.rec)) continue;
      if (q.group !== undefined && !e.groups?.has(q.group)) continue;
      if (q.principal !== undefined && e.principalId !== q.principal) continue;
      matches.push(e);
    }
    // Index sets keep insertion order only per set (a re-join moves nothing, a re-add does): sort so pages follow one global order.
    if (indexed) matches.sort((a, b) => a.seq - b.seq);
    const page = matches.slice(0, q.limit);
    const items: ConnectionListing[] = page.map((e) => ({ record: current(e), groups: e.groups ? [...e.groups] : [] }));
    return matches.length > q.limit ? { items, cursor: encodeCursor(page[page.length - 1]!.seq) } : { items };
  }

  private drop(e: Entry): void {
    this.byId.delete(e.rec.id);
    if (e.principalId !== undefined) unlink(this.byPrincipal, e.principalId, e);
    if (e.groups) for (const g of e.groups) unlink(this.byGroup, g, e);
  }

  private index(e: Entry, principalId: string): void {
    e.principalId = principalId;
    let entries = this.byPrincipal.get(principalId);
    if (entries === undefined) this.byPrincipal.set(principalId, (entries = new Set()));
    entries.add(e);
  }

  private link(e: Entry, group: string): void {
    (e.groups ??= new Set()).add(group);
    let members = this.byGroup.get(group);
    if (members === undefined) this.byGroup.set(group, (members = new Set()));
    members.add(e);
  }
}

/** A copy holding only the record's own fields: whatever object the caller passed is not kept. */
function plain(r: ConnectionRecord, seq: number): ConnectionRecord {
  const rec: { -readonly [K in keyof ConnectionRecord]: ConnectionRecord[K] } = {
    id: r.id,
    stage: r.stage,
    nodeId: r.nodeId,
    connectedAt: r.connectedAt,
    lastActiveAt: r.lastActiveAt,
    identity: { ...r.identity },
    principalId: r.principalId,
    seq,
  };
  if (r.domainName !== undefined) rec.domainName = r.domainName;
  if (r.authorizer !== undefined) rec.authorizer = r.authorizer;
  return rec;
}

/** The record with its current groups. */
function current(e: Entry): ConnectionRecord {
  return e.groups === undefined || e.groups.size === 0 ? e.rec : { ...e.rec, groups: [...e.groups] };
}

function unlink(index: Map<string, Set<Entry>>, key: string, e: Entry): void {
  const entries = index.get(key);
  if (entries === undefined) return;
  entries.delete(e);
  if (entries.size === 0) index.delete(key);
}

/** Cursors are opaque to callers: a versioned, base64url-wrapped sequence number. */
function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (m === null || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursor(`Invalid nextToken "${cursor}"`);
  return Number(m[1]);
}
