package org.aiphub.core.registry;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiphub.core.aip.ServerMessage;

/** A test {@link ClientConnection} that records what it is asked to do. Identity matters. */
final class FakeConnection implements ClientConnection {
  private final String id;
  final List<ServerMessage> sent = new CopyOnWriteArrayList<>();
  final List<String> closes = new CopyOnWriteArrayList<>();

  FakeConnection(String id) {
    this.id = id;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void send(ServerMessage message) {
    sent.add(message);
  }

  @Override
  public void close(int code, String reason) {
    closes.add(code + " " + reason);
  }

  @Override
  public String remoteAddress() {
    return "127.0.0.1:" + (10000 + Math.floorMod(id.hashCode(), 50000));
  }

  @Override
  public String toString() {
    return "FakeConnection[" + id + "]";
  }
}
