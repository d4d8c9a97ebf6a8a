package org.aiphub.server.cluster;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.aiphub.core.aip.ClientType;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.registry.ClientConnection;

/**
 * A client connected to another hub node, as this node's registry holds it. Sending to it publishes
 * a {@link ClusterMessage} on that node's Redis channel; the node holding the socket turns it back
 * into frames and session steps.
 */
final class RemoteConnection implements ClientConnection {
  private final ClusterNode cluster;
  private final String nodeId;
  private final String clientId;
  private final ClientType clientType;

  RemoteConnection(ClusterNode cluster, String nodeId, String clientId, ClientType clientType) {
    this.cluster = cluster;
    this.nodeId = nodeId;
    this.clientId = clientId;
    this.clientType = clientType;
  }

  /** The node holding the socket. */
  String nodeId() {
    return nodeId;
  }

  String clientId() {
    return clientId;
  }

  ClientType clientType() {
    return clientType;
  }

  @Override
  public String id() {
    return "remote:" + nodeId + ":" + clientId;
  }

  @Override
  public void send(ServerMessage message) {
    cluster.sendToRemote(this, message, null, null);
  }

  @Override
  public void send(ServerMessage message, Runnable onWritten) {
    cluster.sendToRemote(this, message, onWritten, null);
  }

  @Override
  public void deliver(ServerMessage message, Runnable onFailure) {
    cluster.sendToRemote(this, message, null, onFailure);
  }

  @Override
  public void close(int code, String reason) {
    cluster.closeRemote(this, code, reason);
  }

  /** The node holding the socket answers for its liveness; here it is alive while listed. */
  @Override
  public CompletionStage<Boolean> probe(Duration timeout) {
    return CompletableFuture.completedFuture(true);
  }

  @Override
  public boolean reachable() {
    return !cluster.degraded();
  }

  @Override
  public String remoteAddress() {
    return "hub node " + nodeId;
  }

  @Override
  public String toString() {
    return id();
  }
}
