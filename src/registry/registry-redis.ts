import type { Identity } from '../connection/connection.js';
import type { ClusterNode } from '../cluster/node.js';
import { NOOP_CLUSTER_OBSERVER, type ClusterObserver, type RegistryOperation } from '../cluster/observer.js';
import { command, CONN_ADD, CONN_ADD_MANY, pairsOf, CONN_REMOVE, JOIN, LEAVE, runScript, SET_PRINCIPAL } from '../cluster/scripts.js';
import { InvalidCursor, RegistryUnavailable, type ConnectionListing, type ConnectionRecord, type ListPage, type ListQuery, type Registry } from '../registry/registry.js';
export { RegistryUnavailable };

/** A record write waiting for the next script run. */
interface PendingWrite {
  args: string[];
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** Records per conn_add_many run: bounds how long one script holds Redis. */
const WRITE_BATCH_MAX = 200;

export interface RedisRegistryOptions {
  node: ClusterNode;
  stage: string;
  /** Deadline of one registry call (ms). */
  timeoutMs: number;
  /** Accept new connections while Redis is unreachable (projected on recovery). */
  acceptWhileDown?: boolean;
  /** Latency of each registry call. */
  observer?: ClusterObserver;
}

/**
 * The Redis projection of this node's connections, written only by their owner (this node), read
 * by every node. The owner is the truth: what could not be written during an outage is kept here
 * (pending removals, dirty ids) and written on recovery by reconcile.ts. Cursors are `v1:<seq>`
 * with a cluster-wide seq, so a page from one node continues on another.
 */
export class RedisRegistry implements Registry {
  private readonly node: ClusterNode;
  private readonly stage: string;
  private readonly timeoutMs: number;
  private readonly acceptWhileDown: boolean;
  private readonly obs: ClusterObserver;
  /** Seq of each connection this node owns: re-projection keeps the listing order. */
  readonly seqs = new Map<string, number>();
  /** Removals that could not reach Redis; flushed on recovery. */
  readonly pendingRemovals = new Set<string>();
  /** Local connections whose Redis record may be stale (written during an outage); re-projected on recovery. */
  readonly dirty = new Set<string>();
  /** Set while reconcile re-projects (lookups elsewhere answer 503 through the rebuild key). */
  rebuilding = false;
  /** Record writes gathered during this event-loop turn, sent as one script run. */
  private writeQueue: PendingWrite[] = [];
  /** Writes not yet answered, by connection id: a removal waits for them (it must not overtake). */
  private readonly writing = new Map<string, Promise<number>>();

  constructor(o: RedisRegistryOptions) {
    this.node = o.node;
    this.stage = o.stage;
    this.timeoutMs = o.timeoutMs;
    this.acceptWhileDown = o.acceptWhileDown ?? false;
    this.obs = o.observer ?? NOOP_CLUSTER_OBSERVER;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  available(): boolean {
    return this.node.available() && !this.rebuilding;
  }

  private async addNow(rec: ConnectionRecord): Promise<void> {
    if (!this.node.available()) {
      if (!this.acceptWhileDown) throw new RegistryUnavailable('registry unavailable');
      this.dirty.add(rec.id);
      return;
    }
    try {
      await this.project(rec);
    } catch (err) {
      // The write may have happened (in flight when the socket died): make sure it is undone.
      this.pendingRemovals.add(rec.id);
      throw new RegistryUnavailable(`registry write failed: ${(err as Error).message}`);
    }
  }

  // Every registry call is timed for the cluster metrics (one clock read on each side).
  add(rec: ConnectionRecord): Promise<void> {
    return this.timed('add', () => this.addNow(rec));
  }

  remove(id: string): Promise<boolean> {
    return this.timed('remove', () => this.removeOwned(id));
  }

  get(id: string): Promise<ConnectionRecord | undefined> {
    return this.timed('get', () => this.getNow(id));
  }

  count(): Promise<number> {
    return this.timed('count', () => this.countNow());
  }

  setPrincipal(id: string, principalId: string): Promise<void> {
    return this.timed('setPrincipal', () => this.setPrincipalNow(id, principalId));
  }

  join(id: string, group: string): Promise<boolean> {
    return this.timed('join', () => this.joinNow(id, group));
  }

  leave(id: string, group: string): Promise<void> {
    return this.timed('leave', () => this.leaveNow(id, group));
  }

  list(q: ListQuery): Promise<ListPage> {
    return this.timed('list', () => this.listNow(q));
  }

  private async timed<T>(op: RegistryOperation, run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await run();
      this.obs.registryCall(op, true, performance.now() - t0);
      return r;
    } catch (err) {
      this.obs.registryCall(op, false, performance.now() - t0);
      throw err;
    }
  }

  /** Writes (or rewrites) one owned connection's record and indexes; `seq` given on re-projection. */
  async project(rec: ConnectionRecord, seq?: number): Promise<number> {
    const k = this.node.keys;
    // The record names its node; a node fenced and rejoined under a new id re-homes the records of its old id.
    const owner = rec.nodeId !== '' && !this.node.formerIds.has(rec.nodeId) ? rec.nodeId : this.node.nodeId;
    const args: string[] = [rec.id, owner, seq === undefined ? '' : String(seq), rec.principalId ?? '', rec.groups && rec.groups.length > 0 ? JSON.stringify(rec.groups) : ''];
    const id = rec.identity;
    args.push('ca', String(rec.connectedAt), 'ip', id.sourceIp);
    if (id.userAgent !== undefined) args.push('ua', id.userAgent);
    if (id.accessKey !== undefined) args.push('ak', id.accessKey);
    if (id.caller !== undefined) args.push('cl', id.caller);
    if (id.user !== undefined) args.push('us', id.user);
    if (rec.domainName !== undefined) args.push('d', rec.domainName);
    if (rec.authorizer !== undefined) args.push('a', JSON.stringify(rec.authorizer));
    const written = this.queueRecord(args);
    this.writing.set(rec.id, written);
    try {
      const s = await written;
      this.seqs.set(rec.id, s);
      this.dirty.delete(rec.id);
      return s;
    } finally {
      if (this.writing.get(rec.id) === written) this.writing.delete(rec.id);
    }
  }

  /** Queues one conn_add (its arguments after the key base); the records of one turn go in one script run. */
  private queueRecord(args: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.writeQueue.push({ args, resolve, reject }) === 1) setImmediate(this.flushWrites);
    });
  }

  private readonly flushWrites = (): void => {
    const queue = this.writeQueue;
    this.writeQueue = [];
    for (let i = 0; i < queue.length; i += WRITE_BATCH_MAX) this.writeBatch(queue.length <= WRITE_BATCH_MAX ? queue : queue.slice(i, i + WRITE_BATCH_MAX));
  };

  private writeBatch(batch: PendingWrite[]): void {
    const k = this.node.keys;
    if (batch.length === 1) {
      const w = batch[0]!;
      runScript<number>(this.node.cmd, CONN_ADD, k.seq, [k.base, ...w.args], this.timeoutMs).then((s) => w.resolve(Number(s)), w.reject);
      return;
    }
    const args = [k.base];
    for (const w of batch) args.push(String(w.args.length), ...w.args);
    runScript<number[]>(this.node.cmd, CONN_ADD_MANY, k.seq, args, this.timeoutMs).then(
      (seqs) =>
        batch.forEach((w, i) => {
          if (seqs[i] === undefined) w.reject(new Error(`conn_add_many answered ${seqs.length} seqs for ${batch.length} records`));
          else w.resolve(Number(seqs[i]));
        }),
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }

  private async removeOwned(id: string): Promise<boolean> {
    await this.writing.get(id)?.catch(() => {});
    const owned = this.seqs.delete(id) || this.dirty.has(id);
    this.dirty.delete(id);
    if (!this.node.available()) {
      this.pendingRemovals.add(id);
      return owned;
    }
    try {
      return (await this.removeNow(id)) || (owned && this.pendingRemovals.has(id));
    } catch {
      this.pendingRemovals.add(id);
      return owned;
    }
  }

  /** conn_remove for an owned record; true when this call removed it (false: gone already, e.g. reaped). */
  async removeNow(id: string): Promise<boolean> {
    const k = this.node.keys;
    const r = Number(await runScript<number>(this.node.cmd, CONN_REMOVE, k.seq, [k.base, id, ''], this.timeoutMs));
    this.pendingRemovals.delete(id);
    return r === 1;
  }

  private async getNow(id: string): Promise<ConnectionRecord | undefined> {
    this.need();
    const h = await command<Record<string, string> | null>(this.node.cmd, ['HGETALL', this.node.keys.conn(id)], this.timeoutMs).catch(unavailable);
    return h && Object.keys(h).length > 0 ? this.parse(id, h) : undefined;
  }

  private async countNow(): Promise<number> {
    this.need();
    return Number(await command(this.node.cmd, ['ZCARD', this.node.keys.all], this.timeoutMs).catch(unavailable));
  }

  private async setPrincipalNow(id: string, principalId: string): Promise<void> {
    await this.write(id, () => runScript(this.node.cmd, SET_PRINCIPAL, this.node.keys.seq, [this.node.keys.base, id, principalId], this.timeoutMs));
  }

  private async joinNow(id: string, group: string): Promise<boolean> {
    const r = await this.write(id, () => runScript<number>(this.node.cmd, JOIN, this.node.keys.seq, [this.node.keys.base, id, group], this.timeoutMs));
    return r === undefined ? this.seqs.has(id) : Number(r) === 1;
  }

  private async leaveNow(id: string, group: string): Promise<void> {
    await this.write(id, () => runScript(this.node.cmd, LEAVE, this.node.keys.seq, [this.node.keys.base, id, group], this.timeoutMs));
  }

  private async listNow(q: ListQuery): Promise<ListPage> {
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor);
    this.need();
    const k = this.node.keys;
    const key = q.principal !== undefined ? k.principal(q.principal) : q.group !== undefined ? k.group(q.group) : k.all;
    const cmd = this.node.cmd;
    const rows = await command<Array<[string, number]> | string[]>(cmd, ['ZRANGE', key, `(${after}`, '+inf', 'BYSCORE', 'LIMIT', '0', String(q.limit + 1), 'WITHSCORES'], this.timeoutMs)
      .catch(unavailable);
    const pairs = pairsOf(rows);
    const page = pairs.slice(0, q.limit);
    const hashes = await Promise.all(page.map(([id]) => command<Record<string, string> | null>(cmd, ['HGETALL', k.conn(id)], this.timeoutMs))).catch(unavailable);
    const items: ConnectionListing[] = [];
    page.forEach(([id], i) => {
      const h = hashes[i];
      if (!h || Object.keys(h).length === 0) return; // closed between the two reads
      const record = this.parse(id, h);
      items.push({ record, groups: [...(record.groups ?? [])] });
    });
    return pairs.length > q.limit ? { items, cursor: encodeCursor(page[page.length - 1]![1]) } : { items };
  }

  /** A write of an owned connection's membership; during an outage the id is marked dirty (re-projected later). */
  private async write<T>(id: string, run: () => Promise<T>): Promise<T | undefined> {
    if (!this.node.available()) {
      this.dirty.add(id);
      return undefined;
    }
    try {
      return await run();
    } catch {
      this.dirty.add(id);
      return undefined;
    }
  }

  private need(): void {
    if (!this.available()) throw new RegistryUnavailable('registry unavailable');
  }

  /** A record from its Redis hash (lastActiveAt: connectedAt; the owner has the live value). */
  parse(id: string, h: Record<string, string>): ConnectionRecord {
    const identity: Identity = { sourceIp: h.ip ?? '' };
    if (h.ua !== undefined) identity.userAgent = h.ua;
    if (h.ak !== undefined) identity.accessKey = h.ak;
    if (h.cl !== undefined) identity.caller = h.cl;
    if (h.us !== undefined) identity.user = h.us;
    const ca = Number(h.ca);
    return {
      id,
      stage: this.stage,
      nodeId: h.n ?? '',
      connectedAt: ca,
      lastActiveAt: ca,
      identity,
      principalId: h.p,
      ...(h.d !== undefined ? { domainName: h.d } : {}),
      ...(h.a !== undefined ? { authorizer: JSON.parse(h.a) as Record<string, unknown> } : {}),
      groups: h.g ? (JSON.parse(h.g) as string[]) : [],
      seq: Number(h.s),
    };
  }
}

function unavailable(err: Error): never {
  throw new RegistryUnavailable(`registry read failed: ${err.message}`);
}

/** Same cursor format as the memory registry: base64url of `v1:<seq>`. */
function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (m === null || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursor(`Invalid nextToken "${cursor}"`);
  return Number(m[1]);
}
