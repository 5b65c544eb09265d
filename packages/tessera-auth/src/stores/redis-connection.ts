import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Why ioredis: its `commandTimeout` covers the whole round trip, so a Redis that accepts a command
 * and never answers (frozen, overloaded) still yields a 503 in time. node-redis was about 10%
 * faster per command here, but its timeout stops once a command is written, which would leave a
 * request hanging on a frozen server.
 *
 * Options for a client that fails fast: no offline queue (a command issued while disconnected
 * fails at once instead of waiting for a reconnect), a per-command timeout, and endless
 * reconnection in the background. Together they turn an outage into quick 503s, not hangs.
 */
export function failFastRedisOptions(commandTimeoutMs = 1000): RedisOptions & Required<Pick<RedisOptions, 'retryStrategy'>> {
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick share one socket write: about 10% more requests/s.
    enableAutoPipelining: true,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
}

/** The same fail-fast behaviour for a Redis Cluster: each node's connection is a fail-fast client. */
export function failFastClusterOptions(commandTimeoutMs = 1000): ClusterOptions {
  const { retryStrategy, enableAutoPipelining, ...redisOptions } = failFastRedisOptions(commandTimeoutMs);
  return {
    redisOptions,
    enableOfflineQueue: false,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy,
    // Redirections (a slot moved, a failover) are followed a few times, then the command fails.
    maxRedirections: 4,
  };
}

/** Where to connect: a cluster's seed nodes, or one server's URL. */
export function connect(options: {
  url?: string | undefined;
  cluster?: readonly string[] | undefined;
  commandTimeoutMs?: number | undefined;
}): Redis | Cluster {
  if (options.cluster) {
    const nodes = options.cluster.map((node) => {
      const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node);
      if (!match) throw new TypeError(`Redis Cluster node must be host:port, got "${node}"`);
      return { host: match[1] as string, port: Number(match[2]) };
    });
    if (nodes.length === 0) throw new TypeError('Redis Cluster needs at least one seed node');
    return new Cluster(nodes, failFastClusterOptions(options.commandTimeoutMs));
  }
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', failFastRedisOptions(options.commandTimeoutMs));
}
