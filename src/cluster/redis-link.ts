import { createClient, createSentinel, type RedisClientType, type RedisSentinelType } from 'redis';
import type { ClusterConfig } from './config.js';
import type { Commands } from './scripts.js';

/**
 * One connection to "the" Redis of the cluster, whether a standalone server (`cluster.redis.url`)
 * or the primary a Sentinel group names (`cluster.redis.sentinel`). The node needs two: one for
 * commands and a duplicate for its subscriptions. With Sentinel, node-redis follows a failover
 * itself (its sentinel connection hears `+switch-master`): commands go to the new primary and the
 * subscriptions are made again there.
 */
export interface RedisLink extends Commands {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  /** Subscribes with Buffer messages. */
  subscribe(channels: string[], listener: (msg: Buffer) => void): Promise<unknown>;
  unsubscribe(): Promise<unknown>;
  /** A second link to the same Redis (the subscriber). */
  duplicate(onError: (err: Error) => void): RedisLink;
  close(): Promise<void>;
  /** Drops the connection(s) at once, without QUIT. */
  destroy(): void;
  /** Called each time the link is ready again after its first connect (a reconnect; with Sentinel, a new primary). */
  onRestored(fn: () => void): void;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type Client = RedisClientType<{}, {}, {}, 3, {}>;
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type Sentinel = RedisSentinelType<{}, {}, {}, 3, {}>;

/** Opens nothing yet: `connect()` does. `onError` hears every connection error (the node marks Redis down). */
export function redisLink(c: ClusterConfig, onError: (err: Error) => void): RedisLink {
  // Reconnect fast enough that a live node heartbeats again well within the reaper grace.
  const maxDelay = Math.max(100, Math.min(2000, c.heartbeatMs * 2));
  // No per-command timeout in node-redis (its default is 5 s): it costs an AbortSignal per command,
  // and `command()` bounds every wait with its own deadline.
  const commandOptions = { timeout: 0 };
  const socket = { connectTimeout: Math.max(1000, c.requestTimeoutMs), reconnectStrategy: (n: number) => Math.min(maxDelay, 20 * 2 ** n) + Math.floor(Math.random() * 20) };
  if ('url' in c.redis) {
    const client = createClient({ url: c.redis.url, disableOfflineQueue: true, socket, commandOptions });
    client.on('error', onError);
    return clientLink(client);
  }
  const sentinel = createSentinel({
    name: c.redis.sentinel.name,
    sentinelRootNodes: c.redis.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })),
    // Commands are not queued while the primary is away: they fail and the caller answers 503.
    nodeClientOptions: { disableOfflineQueue: true, socket },
    commandOptions,
    sentinelClientOptions: { socket },
    masterPoolSize: 1,
    // Topology is also re-read on a timer, in case a sentinel event was missed.
    scanInterval: Math.max(1000, c.heartbeatMs * 5),
    passthroughClientErrorEvents: true,
  });
  sentinel.on('error', onError);
  return sentinelLink(sentinel);
}

function clientLink(client: Client): RedisLink {
  return {
    get isOpen() {
      return client.isOpen;
    },
    connect: () => client.connect(),
    sendCommand: <T>(args: ReadonlyArray<string | Buffer>, options?: { timeout?: number; abortSignal?: AbortSignal }) => client.sendCommand(args as Array<string | Buffer>, options) as Promise<T>,
    subscribe: (channels, listener) => client.subscribe(channels, listener, true),
    unsubscribe: () => client.unsubscribe(),
    duplicate(onError) {
      const dup = client.duplicate();
      dup.on('error', onError);
      return clientLink(dup);
    },
    close: () => client.close().catch(() => client.destroy()),
    destroy: () => client.destroy(),
    onRestored(fn) {
      let first = true;
      client.on('ready', () => {
        if (first) first = false;
        else fn();
      });
    },
  };
}

function sentinelLink(s: Sentinel): RedisLink {
  return {
    get isOpen() {
      return s.isOpen;
    },
    connect: () => s.connect(),
    // false: not read-only, always the primary.
    sendCommand: <T>(args: ReadonlyArray<string | Buffer>, options?: { timeout?: number; abortSignal?: AbortSignal }) => s.sendCommand(false, args as Array<string | Buffer>, options) as Promise<T>,
    subscribe: (channels, listener) => s.subscribe(channels, listener, true),
    unsubscribe: () => s.unsubscribe(),
    duplicate(onError) {
      const dup = s.duplicate();
      dup.on('error', onError);
      return sentinelLink(dup);
    },
    close: () => s.close().catch(() => s.destroy()),
    destroy: () => void s.destroy().catch(() => {}),
    onRestored(fn) {
      // node-redis moves the subscriptions to the new primary on a master change.
      let first = true;
      s.on('topology-change', (e: { type: string }) => {
        if (e.type !== 'MASTER_CHANGE') return;
        if (first) first = false;
        else fn();
      });
    },
  };
}
