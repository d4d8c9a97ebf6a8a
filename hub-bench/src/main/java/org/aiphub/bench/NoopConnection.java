package org.aiphub.bench;

import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.registry.ClientConnection;

/**
 * A connection that drops everything: registry benchmarks measure bookkeeping, not I/O. Each client
 * gets its own instance because the registry compares connections by identity (removal and takeover
 * only act on the connection they expect).
 */
public final class NoopConnection implements ClientConnection {
  private final String id;

  /** A connection named {@code id} in logs. */
  public NoopConnection(String id) {
    this.id = id;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void send(ServerMessage message) {}

  @Override
  public void close(int code, String reason) {}

  @Override
  public String remoteAddress() {
    return "bench";
  }
}
