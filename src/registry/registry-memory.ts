import type { ConnectionRecord, Registry } from './registry.js';

/**
 * The registry of a single process. Records are the live connection objects themselves, so
 * `lastActiveAt` is always current and nothing is copied per message.
 */
export class MemoryRegistry implements Registry {
  private readonly byId = new Map<string, ConnectionRecord>();

  add(rec: ConnectionRecord): void {
    this.byId.set(rec.id, rec);
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  get(id: string): ConnectionRecord | undefined {
    return this.byId.get(id);
  }

  count(): number {
    return this.byId.size;
  }
}
