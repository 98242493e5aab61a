import { Connection, type SendOutcome } from '../connection/connection.js';
import type { Bus, FanOutOutcome, TargetRef } from './bus.js';

/** The bus of a single process: every connection is local, so operations are direct calls. */
export class LocalBus implements Bus {
  constructor(private readonly lookup: (connectionId: string) => Connection | undefined) {}

  send(_nodeId: string, connectionId: string, data: Buffer | string, binary: boolean): SendOutcome {
    const conn = this.lookup(connectionId);
    return conn === undefined ? 'gone' : conn.send(data, binary);
  }

  sendMany(targets: readonly TargetRef[], data: Buffer | string, binary: boolean): FanOutOutcome {
    const out: FanOutOutcome = { sent: 0, failed: [] };
    const now = Date.now();
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      // In one process the registry's records are the connections themselves: no lookup needed.
      const conn = t instanceof Connection ? t : this.lookup(t.id);
      const outcome = conn === undefined ? 'gone' : conn.send(data, binary, now);
      if (outcome === 'ok') out.sent++;
      else out.failed.push({ connectionId: t.id, reason: outcome });
    }
    return out;
  }

  close(_nodeId: string, connectionId: string, code: number, reason: string): boolean {
    return this.lookup(connectionId)?.close(code, reason) ?? false;
  }
}
