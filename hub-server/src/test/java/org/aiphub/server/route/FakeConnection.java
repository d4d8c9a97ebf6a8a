package org.aiphub.server.route;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientConnection;

/**
 * A {@link ClientConnection} that records what it is asked to do. Deliveries can be switched to
 * fail, in which case they are recorded apart and their failure callback runs at once.
 */
final class FakeConnection implements ClientConnection {
  /** A recorded {@link #close} call. */
  record Close(int code, String reason) {}

  private final String id;
  private final List<ServerMessage> sent = new CopyOnWriteArrayList<>();
  private final List<ServerMessage> failed = new CopyOnWriteArrayList<>();
  private final List<Close> closes = new CopyOnWriteArrayList<>();
  private final List<Runnable> pendingFailures = new CopyOnWriteArrayList<>();
  private volatile boolean failDeliveries;
  private volatile boolean failLater;
  private volatile int deliveries;
  private volatile boolean reachable = true;

  FakeConnection(String id) {
    this.id = id;
  }

  /** From now on every {@link #deliver} fails (or succeeds again). */
  FakeConnection failDeliveries(boolean fail) {
    failDeliveries = fail;
    return this;
  }

  /**
   * From now on deliveries look sent but their failure is reported only by {@link #failPending()},
   * like a write that fails after the call returned.
   */
  FakeConnection failLater() {
    failLater = true;
    return this;
  }

  /** Reports every delivery made in {@link #failLater()} mode as failed. */
  void failPending() {
    List<Runnable> callbacks = new ArrayList<>(pendingFailures);
    pendingFailures.clear();
    callbacks.forEach(Runnable::run);
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
  public void deliver(ServerMessage message, Runnable onFailure) {
    deliveries++;
    if (failDeliveries) {
      failed.add(message);
      onFailure.run();
    } else if (failLater) {
      failed.add(message);
      pendingFailures.add(onFailure);
    } else {
      sent.add(message);
    }
  }

  @Override
  public void close(int code, String reason) {
    closes.add(new Close(code, reason));
  }

  /** Makes the client unreachable, as a remote one while the cluster backplane is down. */
  FakeConnection reachable(boolean r) {
    reachable = r;
    return this;
  }

  @Override
  public boolean reachable() {
    return reachable;
  }

  @Override
  public String remoteAddress() {
    return "fake:" + id;
  }

  /** Everything that reached the client, in order. */
  List<ServerMessage> sent() {
    return new ArrayList<>(sent);
  }

  /** The sent messages of one type. */
  List<ServerMessage> sent(ServerMessageType type) {
    List<ServerMessage> out = new ArrayList<>();
    for (ServerMessage m : sent) {
      if (m.type() == type) {
        out.add(m);
      }
    }
    return out;
  }

  /** The only message sent since the last {@link #clear}, failing if there is not exactly one. */
  ServerMessage single() {
    if (sent.size() != 1) {
      throw new AssertionError("expected exactly one message, got " + sent);
    }
    return sent.get(0);
  }

  /** Deliveries that failed. */
  List<ServerMessage> failedDeliveries() {
    return new ArrayList<>(failed);
  }

  /** How many times {@link #deliver} was called. */
  int deliveryAttempts() {
    return deliveries;
  }

  List<Close> closes() {
    return new ArrayList<>(closes);
  }

  void clear() {
    sent.clear();
  }

  @Override
  public String toString() {
    return "FakeConnection(" + id + ")";
  }
}
