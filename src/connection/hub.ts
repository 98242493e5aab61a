import type { CloseOutcome, FanOutOutcome, Failure, HubTarget, Selector } from '../bus/bus.js';
import type { Counters } from '../observability/counters.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { ConnectionRecord, Registry } from '../registry/registry.js';
import type { Connection, SendOutcome } from './connection.js';

export interface HubDeps {
  /** Where this node writes its connections' records and memberships (it is their only writer). */
  registry: Registry;
  counters: Counters;
  logLimiter: LogLimiter;
}

/** `failed` of a send that reached its one recipient: shared and frozen, never written to. */
const NONE = Object.freeze([]) as unknown as Failure[];

/**
 * The local hub: this node's open sockets, by id, with its own principal and group index. The
 * lifecycle adds a connection once it is open and deletes it when its socket has closed; the bus
 * applies operations here by selector, so a fan-out costs one call per node, not one per member.
 * The registry is written from here (the owner is the single writer): records leave it at the
 * first step out of `open`, so other nodes answer 410 at once; write failures are counted and
 * logged, never thrown into a socket listener.
 */
export class Hub implements HubTarget {
  private readonly conns = new Map<string, Connection>();
  private readonly byPrincipal = new Map<string, Set<Connection>>();
  private readonly byGroup = new Map<string, Set<Connection>>();
  /** One function for every connection (no closure each). */
  private readonly closing = (conn: Connection) => this.unregister(conn);

  constructor(private readonly d: HubDeps) {}

  /** Open connections held here. */
  get size(): number {
    return this.conns.size;
  }

  get(id: string): Connection | undefined {
    return this.conns.get(id);
  }

  has(id: string): boolean {
    return this.conns.has(id);
  }

  values(): IterableIterator<Connection> {
    return this.conns.values();
  }

  /** Takes in a connection that just opened, with the principal and groups its $connect gave it. */
  add(conn: Connection): void {
    this.conns.set(conn.id, conn);
    conn.onClosing = this.closing;
    if (conn.principalId !== undefined) link(this.byPrincipal, conn.principalId, conn);
    if (conn.memberOf !== undefined) for (const g of conn.memberOf) link(this.byGroup, g, conn);
  }

  /** Forgets a connection whose socket has closed (and its record, if a close did not already remove it). */
  delete(conn: Connection): void {
    if (this.conns.get(conn.id) === conn) {
      this.conns.delete(conn.id);
      if (conn.principalId !== undefined) unlink(this.byPrincipal, conn.principalId, conn);
      if (conn.memberOf !== undefined) for (const g of conn.memberOf) unlink(this.byGroup, g, conn);
    }
    this.unregister(conn);
  }

  /** Removes the connection's record from the registry, once; in the background, a failure counted and logged. */
  unregister(conn: Connection): void {
    if (!conn.registered) return;
    conn.registered = false;
    // A microtask later: a bulk close run for another node queues its reply to that node ahead of its
    // thousands of index removals (they share one Redis connection), so the caller hears back in time.
    const id = conn.id;
    queueMicrotask(() => this.d.registry.remove(id).then(undefined, (err: unknown) => this.writeFailed('remove', id, err)));
  }

  /** The record of a connection as the registry and GetConnection see it (live `lastActiveAt`). */
  snapshot(conn: Connection): ConnectionRecord {
    const rec: { -readonly [K in keyof ConnectionRecord]: ConnectionRecord[K] } = {
      id: conn.id,
      stage: conn.stage,
      nodeId: conn.nodeId,
      connectedAt: conn.connectedAt,
      lastActiveAt: conn.lastActiveAt,
      identity: conn.identity,
      principalId: conn.principalId,
      domainName: conn.domainName,
    };
    if (conn.authorizer !== undefined) rec.authorizer = conn.authorizer;
    if (conn.memberOf !== undefined && conn.memberOf.size > 0) rec.groups = [...conn.memberOf];
    return rec;
  }

  send(sel: Selector, data: Buffer | string, binary: boolean): FanOutOutcome {
    if ('id' in sel) {
      if (sel.except === sel.id) return { sent: 0, failed: [] };
      const outcome = this.sendOne(sel.id, data, binary);
      return outcome === 'ok' ? { sent: 1, failed: NONE } : { sent: 0, failed: [{ connectionId: sel.id, reason: outcome }] };
    }
    const out: FanOutOutcome = { sent: 0, failed: [] };
    const members = this.members(sel);
    if (members === undefined) return out;
    const now = Date.now();
    const except = sel.except;
    for (const conn of members) {
      if (conn.id === except) continue;
      const outcome = conn.send(data, binary, now);
      if (outcome === 'ok') out.sent++;
      else out.failed.push({ connectionId: conn.id, reason: outcome });
    }
    return out;
  }

  /** One message to one connection held here (PostToConnection landing on its owner). */
  sendOne(id: string, data: Buffer | string, binary: boolean): SendOutcome {
    const conn = this.conns.get(id);
    return conn === undefined ? 'gone' : conn.send(data, binary);
  }

  close(sel: Selector, code: number, reason: string): CloseOutcome {
    let closed = 0;
    if ('id' in sel) {
      if (sel.except !== sel.id && this.conns.get(sel.id)?.close(code, reason) === true) closed = 1;
      return { closed, failed: [] };
    }
    const members = this.members(sel);
    if (members !== undefined) {
      // Copied first: a close must not disturb the iteration of the index it came from.
      for (const conn of [...members]) if (conn.id !== sel.except && conn.close(code, reason)) closed++;
    }
    return { closed, failed: [] };
  }

  info(connectionId: string): ConnectionRecord | undefined {
    const conn = this.conns.get(connectionId);
    return conn === undefined || conn.state !== 'open' ? undefined : this.snapshot(conn);
  }

  async join(connectionId: string, group: string): Promise<boolean> {
    const conn = this.conns.get(connectionId);
    if (conn === undefined || conn.state !== 'open') return false;
    this.joinLocal(conn, group);
    return this.d.registry.join(connectionId, group).then(() => true);
  }

  async leave(connectionId: string, group: string): Promise<void> {
    const conn = this.conns.get(connectionId);
    if (conn === undefined || !this.leaveLocal(conn, group)) return;
    await this.d.registry.leave(connectionId, group);
  }

  /**
   * A handler's `join` directive: in memory at once; a connection still in its handshake is
   * registered with its groups before the 101, an open one's registry write runs in the
   * background (a failure counted and logged).
   */
  applyJoin(conn: Connection, group: string): void {
    if (this.conns.get(conn.id) !== conn) {
      (conn.memberOf ??= new Set()).add(group);
      return;
    }
    if (conn.state !== 'open') return;
    this.joinLocal(conn, group);
    this.d.registry.join(conn.id, group).then(undefined, (err: unknown) => this.writeFailed('join', conn.id, err));
  }

  /** A handler's `leave` directive (as applyJoin). */
  applyLeave(conn: Connection, group: string): void {
    if (this.conns.get(conn.id) !== conn) {
      conn.memberOf?.delete(group);
      return;
    }
    if (!this.leaveLocal(conn, group) || !conn.registered) return;
    this.d.registry.leave(conn.id, group).then(undefined, (err: unknown) => this.writeFailed('leave', conn.id, err));
  }

  /**
   * Closes every connection held here. `runDisconnect: false` when this node learns it was reaped
   * while unreachable: a survivor already ran their $disconnect, so it does not run again.
   */
  evictAll(code: number, reason: string, o: { runDisconnect: boolean }): void {
    for (const conn of [...this.conns.values()]) {
      if (!o.runDisconnect) conn.noDisconnect = true;
      if (!conn.close(code, reason)) conn.terminate(code, reason);
    }
  }

  /** The records of the open connections held here (re-projection after a registry loss). */
  *records(): Iterable<ConnectionRecord> {
    for (const conn of this.conns.values()) if (conn.state === 'open') yield this.snapshot(conn);
  }

  private members(sel: Selector): Iterable<Connection> | undefined {
    if ('principal' in sel) return this.byPrincipal.get(sel.principal);
    if ('group' in sel) return this.byGroup.get(sel.group);
    return this.conns.values();
  }

  private joinLocal(conn: Connection, group: string): void {
    const groups = (conn.memberOf ??= new Set());
    if (groups.has(group)) return;
    groups.add(group);
    link(this.byGroup, group, conn);
  }

  private leaveLocal(conn: Connection, group: string): boolean {
    if (conn.memberOf?.delete(group) !== true) return false;
    unlink(this.byGroup, group, conn);
    return true;
  }

  private writeFailed(op: string, connectionId: string, err: unknown): void {
    this.d.counters.inc('registryFailed', op);
    this.d.logLimiter.log('warn', `registry-failed:${op}`, { op, connectionId, err }, `registry ${op} failed`);
  }
}

function link(index: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(conn);
}

function unlink(index: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(conn);
  if (set.size === 0) index.delete(key);
}
