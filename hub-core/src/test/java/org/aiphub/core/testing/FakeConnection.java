package org.aiphub.core.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.registry.ClientConnection;

/**
 * A {@link ClientConnection} that records what it is asked to do: the one fake connection of the
 * project's tests. Identity matters (the registry compares connections by identity), so each client
 * gets its own. Deliveries can be switched to fail, at once or later, and the client can be made
 * unreachable or silent to a probe. Safe to use from any thread.
 */
public final class FakeConnection implements ClientConnection {
  /**
   * A recorded {@link #close} call.
   *
   * @param code the WebSocket close code
   * @param reason the close reason
   */
  public record Close(int code, String reason) {}

  private final String id;
  private final String remoteAddress;
  private final List<ServerMessage> sent = new CopyOnWriteArrayList<>();
  private final List<ServerMessage> failed = new CopyOnWriteArrayList<>();
  private final List<Close> closes = new CopyOnWriteArrayList<>();
  private final List<Runnable> pendingFailures = new CopyOnWriteArrayList<>();
  private volatile boolean failDeliveries;
  private volatile boolean failLater;
  private volatile int deliveries;
  private volatile boolean reachable = true;
  private volatile boolean answersProbes = true;

  /** A connection named {@code id}, whose remote address is {@code fake:<id>}. */
  public FakeConnection(String id) {
    this.id = id;
    this.remoteAddress = "fake:" + id;
  }

  /** From now on every {@link #deliver} fails (or succeeds again). */
  public FakeConnection failDeliveries(boolean fail) {
    failDeliveries = fail;
    return this;
  }

  /**
   * From now on deliveries look sent but their failure is reported only by {@link #failPending()},
   * like a write that fails after the call returned.
   */
  public FakeConnection failLater() {
    failLater = true;
    return this;
  }

  /** Reports every delivery made in {@link #failLater()} mode as failed. */
  public void failPending() {
    List<Runnable> callbacks = new ArrayList<>(pendingFailures);
    pendingFailures.clear();
    callbacks.forEach(Runnable::run);
  }

  /** Makes the client unreachable, as a remote one while the cluster backplane is down. */
  public FakeConnection reachable(boolean r) {
    reachable = r;
    return this;
  }

  /** Whether {@link #probe} reports the peer alive (true unless set otherwise). */
  public FakeConnection answersProbes(boolean answers) {
    answersProbes = answers;
    return this;
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
  public CompletionStage<Boolean> probe(Duration timeout) {
    return CompletableFuture.completedFuture(answersProbes);
  }

  @Override
  public boolean reachable() {
    return reachable;
  }

  @Override
  public void close(int code, String reason) {
    closes.add(new Close(code, reason));
  }

  @Override
  public String remoteAddress() {
    return remoteAddress;
  }

  /** Everything that reached the client, in order (a snapshot). */
  public List<ServerMessage> sent() {
    return new ArrayList<>(sent);
  }

  /** The sent messages of one type, in order. */
  public List<ServerMessage> sent(ServerMessageType type) {
    List<ServerMessage> out = new ArrayList<>();
    for (ServerMessage m : sent) {
      if (m.type() == type) {
        out.add(m);
      }
    }
    return out;
  }

  /** The only message sent since the last {@link #clear}, failing if there is not exactly one. */
  public ServerMessage single() {
    if (sent.size() != 1) {
      throw new AssertionError("expected exactly one message, got " + sent);
    }
    return sent.get(0);
  }

  /** Deliveries that failed (or, in {@link #failLater()} mode, will). */
  public List<ServerMessage> failedDeliveries() {
    return new ArrayList<>(failed);
  }

  /** How many times {@link #deliver} was called. */
  public int deliveryAttempts() {
    return deliveries;
  }

  /** Every {@link #close} call, in order. */
  public List<Close> closes() {
    return new ArrayList<>(closes);
  }

  /** Forgets the sent messages. */
  public void clear() {
    sent.clear();
  }

  @Override
  public String toString() {
    return "FakeConnection(" + id + ")";
  }
}
