import type { CloseOutcome, FanOutOutcome, Failure, HubTarget, Selector } from '../../src/bus/bus.js';
import type { ConnectionRecord } from '../../src/registry/registry.js';
import type { RedisRegistry } from '../../src/registry/registry-redis.js';

interface Conn {
  rec: ConnectionRecord;
  principal: string | undefined;
  groups: Set<string>;
  full: boolean;
  received: Array<{ data: string; binary: boolean }>;
  closed?: { code: number; reason: string };
}

/**
 * A small, real in-memory hub for one node: holds connection records (no sockets), applies
 * selectors, and writes the registry as the owner does. It records what each connection got.
 */
export class MemHub implements HubTarget {
  readonly conns = new Map<string, Conn>();
  /** Connections closed by evictAll (fenced node), and whether $disconnect would have run. */
  evicted: Array<{ id: string; code: number; runDisconnect: boolean }> = [];

  constructor(private readonly registry: RedisRegistry, private readonly nodeId: () => string) {}

  async open(id: string, o: { principal?: string; groups?: string[]; full?: boolean } = {}): Promise<void> {
    const rec: ConnectionRecord = { id, stage: 'dev', nodeId: this.nodeId(), connectedAt: Date.now(), lastActiveAt: Date.now(), identity: { sourceIp: '10.0.0.1' }, principalId: o.principal, groups: o.groups ?? [] };
    await this.registry.add(rec);
    this.conns.set(id, { rec, principal: o.principal, groups: new Set(o.groups ?? []), full: o.full ?? false, received: [] });
  }

  /** The client went away: forget it and remove its record (the owner's claim). */
  async drop(id: string): Promise<boolean> {
    this.conns.delete(id);
    return this.registry.remove(id);
  }

  received(id: string): string[] {
    return this.conns.get(id)?.received.map((r) => r.data) ?? [];
  }

  private match(sel: Selector): Conn[] {
    const out: Conn[] = [];
    for (const c of this.conns.values()) {
      if (c.rec.id === sel.except) continue;
      if ('id' in sel ? c.rec.id === sel.id : 'principal' in sel ? c.principal === sel.principal : 'group' in sel ? c.groups.has(sel.group) : true) out.push(c);
    }
    return out;
  }

  send(sel: Selector, data: Buffer | string, binary: boolean): FanOutOutcome {
    const failed: Failure[] = [];
    let sent = 0;
    const targets = this.match(sel);
    if ('id' in sel && targets.length === 0) return { sent: 0, failed: [{ connectionId: sel.id, reason: 'gone' }] };
    for (const c of targets) {
      if (c.full) failed.push({ connectionId: c.rec.id, reason: 'full' });
      else {
        c.received.push({ data: data.toString(), binary });
        sent++;
      }
    }
    return { sent, failed };
  }

  close(sel: Selector, code: number, reason: string): CloseOutcome {
    const targets = this.match(sel);
    for (const c of targets) {
      this.conns.delete(c.rec.id);
      void this.registry.remove(c.rec.id);
    }
    return { closed: targets.length, failed: [] };
  }

  info(id: string): ConnectionRecord | undefined {
    const c = this.conns.get(id);
    return c && { ...c.rec, lastActiveAt: c.rec.lastActiveAt + 1, principalId: c.principal, groups: [...c.groups] };
  }

  async join(id: string, group: string): Promise<boolean> {
    const c = this.conns.get(id);
    if (!c) return false;
    c.groups.add(group);
    await this.registry.join(id, group);
    return true;
  }

  async leave(id: string, group: string): Promise<void> {
    const c = this.conns.get(id);
    if (!c) return;
    c.groups.delete(group);
    await this.registry.leave(id, group);
  }

  has(id: string): boolean {
    return this.conns.has(id);
  }

  evictAll(code: number, _reason: string, o: { runDisconnect: boolean }): void {
    for (const id of [...this.conns.keys()]) {
      this.evicted.push({ id, code, runDisconnect: o.runDisconnect });
      this.conns.delete(id);
      void this.registry.remove(id);
    }
  }

  *records(): Iterable<ConnectionRecord> {
    for (const c of this.conns.values()) yield { ...c.rec, principalId: c.principal, groups: [...c.groups] };
  }
}
