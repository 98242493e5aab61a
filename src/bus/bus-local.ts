import type { Connection, SendOutcome } from '../connection/connection.js';
import type { Bus } from './bus.js';

/** The bus of a single process: every connection is local, so operations are direct calls. */
export class LocalBus implements Bus {
  constructor(private readonly lookup: (connectionId: string) => Connection | undefined) {}

  send(_nodeId: string, connectionId: string, data: Buffer | string, binary: boolean): SendOutcome {
    const conn = this.lookup(connectionId);
    return conn === undefined ? 'gone' : conn.send(data, binary);
  }

  close(_nodeId: string, connectionId: string, code: number, reason: string): boolean {
    return this.lookup(connectionId)?.close(code, reason) ?? false;
  }
}
