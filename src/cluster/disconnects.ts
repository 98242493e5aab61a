import { command } from './scripts.js';
import type { ConnectionRecord } from '../registry/registry.js';
import type { ClusterConfig } from './config.js';
import type { ClusterLog, ClusterNode } from './node.js';

const GROUP = 'sb';

export interface DisconnectWorkerOptions {
  node: ClusterNode;
  config: ClusterConfig;
  /** Turns a stored record hash into a record (RedisRegistry.parse). */
  parse: (id: string, h: Record<string, string>) => ConnectionRecord;
  /** Runs the $disconnect route for a connection of a dead node. */
  run: (rec: ConnectionRecord, code: number, reason: string) => Promise<void>;
  /** Entries pending this long on a worker are taken over (integration timeout + 5 s by default: 34 s). */
  claimIdleMs?: number;
  log?: ClusterLog;
  /** Told of each $disconnect run here for a reaped connection. */
  onHandled?: () => void;
}

/**
 * Runs `$disconnect` (1006 "Connection closed abnormally") for the connections of reaped nodes,
 * from the disconnects stream through a consumer group: each record is handled by one node,
 * acknowledged and deleted after its handler settled; entries of a worker that died are taken
 * over with XAUTOCLAIM once idle for `claimIdleMs`.
 */
export class DisconnectWorker {
  private readonly o: DisconnectWorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private groupReady = false;
  /** Records handled by this worker (metrics, tests). */
  handled = 0;

  constructor(o: DisconnectWorkerOptions) {
    this.o = o;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.config.reaperIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    const { node, config } = this.o;
    if (this.running || this.stopped || !node.available()) return;
    this.running = true;
    const stream = node.keys.disconnects;
    try {
      if (!this.groupReady) {
        await command(node.cmd, ['XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM'], config.requestTimeoutMs).catch((err: Error) => {
          if (!err.message.startsWith('BUSYGROUP')) throw err;
        });
        this.groupReady = true;
      }
      const claimed = await command<[string, Entry[], unknown]>(node.cmd, ['XAUTOCLAIM', stream, GROUP, node.nodeId, String(this.o.claimIdleMs ?? 34_000), '0-0', 'COUNT', '50'], config.requestTimeoutMs);
      await this.handle(claimed[1] ?? []);
      const read = await command<Record<string, Entry[]> | Array<[string, Entry[]]> | null>(node.cmd, ['XREADGROUP', 'GROUP', GROUP, node.nodeId, 'COUNT', '50', 'STREAMS', stream, '>'], config.requestTimeoutMs);
      if (read !== null) await this.handle(Array.isArray(read) ? read.flatMap((x) => x[1]) : Object.values(read).flat());
    } catch (err) {
      if ((err as Error).message.startsWith('NOGROUP')) this.groupReady = false; // Redis lost the stream: recreate
      else this.o.log?.('warn', 'disconnects', { err: (err as Error).message }, 'cluster: $disconnect worker tick failed');
    } finally {
      this.running = false;
    }
  }

  private async handle(entries: Entry[]): Promise<void> {
    const { node, config } = this.o;
    const stream = node.keys.disconnects;
    for (const e of entries) {
      if (e === null || !Array.isArray(e[1])) continue; // deleted meanwhile
      const [entryId, flat] = e;
      const h: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
      if (h.id !== undefined) {
        try {
          await this.o.run(this.o.parse(h.id, h), 1006, 'Connection closed abnormally');
        } catch (err) {
          this.o.log?.('warn', 'disconnect-run', { err: (err as Error).message }, 'cluster: $disconnect of a reaped connection failed');
        }
        this.handled++;
        this.o.onHandled?.();
      }
      await command(node.cmd, ['XACK', stream, GROUP, entryId], config.requestTimeoutMs);
      await command(node.cmd, ['XDEL', stream, entryId], config.requestTimeoutMs);
    }
  }
}

type Entry = [string, string[]];
