package org.aiphub.server.config;

import static org.aiphub.server.config.Settings.CLUSTER_LEASE;
import static org.aiphub.server.config.Settings.CLUSTER_NODE_ID;
import static org.aiphub.server.config.Settings.CLUSTER_REDIS;
import static org.aiphub.server.config.Settings.CLUSTER_RENEW_INTERVAL;

import java.time.Duration;

/**
 * Cluster mode: the Redis backplane several nodes share, and the lease that tells live nodes from
 * dead ones. Off while {@code redis} is {@code null}.
 *
 * @param redis Redis URI ({@code redis://HOST:PORT}) of the backplane, or {@code null} for a single
 *     node
 * @param nodeId this node's id in the cluster, or {@code null} to generate one
 * @param lease how long the cluster keeps a node's clients after its last lease renewal
 * @param renewInterval how often a node renews its lease and checks its peers'
 */
public record Cluster(String redis, String nodeId, Duration lease, Duration renewInterval) {

  /** Checks each value, then that a lease is renewed before it runs out. */
  public Cluster {
    CLUSTER_REDIS.check(redis);
    CLUSTER_NODE_ID.check(nodeId);
    CLUSTER_LEASE.check(lease);
    CLUSTER_RENEW_INTERVAL.check(renewInterval);
    if (renewInterval.compareTo(lease) >= 0) {
      throw CLUSTER_RENEW_INTERVAL.invalid(
          renewInterval, "must be shorter than " + CLUSTER_LEASE.key() + " " + lease);
    }
  }

  static Cluster from(HubConfig.Builder b) {
    return new Cluster(
        b.get(CLUSTER_REDIS),
        b.get(CLUSTER_NODE_ID),
        b.get(CLUSTER_LEASE),
        b.get(CLUSTER_RENEW_INTERVAL));
  }

  /** Whether this node is part of a cluster (a Redis backplane is configured). */
  public boolean enabled() {
    return redis != null;
  }
}
