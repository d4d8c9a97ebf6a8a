package org.aiphub.server.directory;

import java.util.Map;

/**
 * What the HTTP API and the dashboard show of the cluster: this node, whether it is degraded, the
 * per-node counts, and which node holds a listed client. Implemented by the cluster; absent (null)
 * on a single node. Calls must not block.
 */
public interface ClusterView {
  /**
   * The cluster as this node sees it now.
   *
   * @param nodeId this node's id
   * @param degraded whether the backplane is unreachable (local clients only)
   * @param nodes per node id, its counts (e.g. {@code devices}, {@code constellations})
   */
  record Snapshot(String nodeId, boolean degraded, Map<String, Map<String, Integer>> nodes) {}

  /** The cluster now. */
  Snapshot snapshot();

  /** The node holding a client listed in the local registry (this node's id for a local one). */
  String nodeOf(String clientId);
}
