package org.aiphub.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.server.testing.WsClient;

/**
 * A well-behaved client that heartbeats on its own thread throughout an attack and times each round
 * trip: the hub must keep answering it, promptly, whatever the attacker does. Start it on a
 * registered client no one else reads from; {@link #closeAfter} it, then {@link #assertResponsive}.
 */
final class Canary implements AutoCloseable {
  /** Every heartbeat must be answered within this, a generous bound on a shared, noisy machine. */
  static final Duration BOUND = Duration.ofSeconds(1);

  private final WsClient client;
  private final String clientId;
  private final Thread thread;
  private final List<Long> roundTripNanos = new ArrayList<>();
  private volatile boolean stop;
  private volatile Throwable failure;

  private Canary(WsClient client, String clientId) {
    this.client = client;
    this.clientId = clientId;
    this.thread = new Thread(this::run, "canary-" + clientId);
    this.thread.setDaemon(true);
  }

  /** Starts heartbeating from {@code client}, registered as {@code clientId}. */
  static Canary start(WsClient client, String clientId) {
    Canary c = new Canary(client, clientId);
    c.thread.start();
    return c;
  }

  private void run() {
    try {
      while (!stop) {
        long t0 = System.nanoTime();
        client.send(Frames.heartbeat(clientId));
        ServerMessage m = client.next();
        long rtt = System.nanoTime() - t0;
        if (m.type() != ServerMessageType.HEARTBEAT || m.error() != null) {
          throw new AssertionError("canary got " + m);
        }
        synchronized (roundTripNanos) {
          roundTripNanos.add(rtt);
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      failure = t;
    }
  }

  /** Heartbeats answered so far. */
  int answered() {
    synchronized (roundTripNanos) {
      return roundTripNanos.size();
    }
  }

  /** The slowest round trip so far. */
  Duration slowest() {
    synchronized (roundTripNanos) {
      return Duration.ofNanos(roundTripNanos.stream().mapToLong(Long::longValue).max().orElse(0));
    }
  }

  /**
   * Every heartbeat was answered with a heartbeat within {@link #BOUND} (the last one too: a frozen
   * hub fails here, not with a missing sample), and at least {@code min} of them.
   */
  void assertResponsive(int min) {
    assertThat(failure).as("canary failure").isNull();
    assertThat(answered()).as("canary heartbeats answered").isGreaterThanOrEqualTo(min);
    assertThat(slowest()).as("slowest canary heartbeat round trip").isLessThan(BOUND);
  }

  /**
   * Stops once at least {@code min} heartbeats were answered (an attack can be over before the
   * canary sent that many; waiting keeps {@link #assertResponsive} from depending on how fast the
   * attack ran), or after the client's own wait.
   */
  void closeAfter(int min) {
    long deadline = System.nanoTime() + WsClient.WAIT.toNanos();
    while (answered() < min && failure == null && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    close();
  }

  @Override
  public void close() {
    stop = true;
    try {
      // A heartbeat in flight is answered within the client's own wait (10 s) or fails.
      thread.join(WsClient.WAIT.toMillis() + 5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertThat(thread.isAlive()).as("canary thread still waiting for an answer").isFalse();
  }
}
