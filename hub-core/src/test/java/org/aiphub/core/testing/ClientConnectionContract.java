package org.aiphub.core.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.core.registry.ClientConnection;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link ClientConnection}, run against every implementation: each one has a
 * subclass that says how to open a live connection (and, for an asynchronous one, how to let its
 * queued work run). What every implementation must do:
 *
 * <ul>
 *   <li>{@code id()} and {@code remoteAddress()} are non-empty and never change, not even when the
 *       connection closes;
 *   <li>{@code send(m, onWritten)} on a live connection runs {@code onWritten} exactly once;
 *   <li>{@code deliver(m, onFailure)} on a live connection never reports a failure;
 *   <li>{@code close} may be called twice, and nothing throws afterwards;
 *   <li>after a close, a delivery reports its failure at most once (exactly once, and nothing is
 *       reported written, for an implementation that {@linkplain #observesWrites() observes its
 *       writes});
 *   <li>a live connection is {@code reachable()}, and a probe of it completes with {@code true}.
 * </ul>
 */
public abstract class ClientConnectionContract {
  /** A fresh, live connection whose peer reads everything. Called once per test. */
  protected abstract ClientConnection open() throws Exception;

  /** Lets the work a connection queued run (e.g. its event loop's tasks). Default: nothing. */
  protected void settle() {}

  /**
   * Whether the implementation reports writes itself: {@code onWritten} once written, {@code
   * onFailure} for a connection that is closing. False for one that relies on the interface's
   * defaults ({@code onWritten} when queued, {@code deliver} falling back to {@code send}) or that
   * cannot see the peer's end.
   */
  protected boolean observesWrites() {
    return false;
  }

  /** How long an asynchronous callback may take. */
  protected Duration patience() {
    return Duration.ofSeconds(5);
  }

  private static ServerMessage message() {
    return ServerMessage.builder(ServerMessageType.HEARTBEAT, TaskStatus.OK).build();
  }

  /** Settles until {@code condition} holds or {@link #patience()} runs out. */
  private boolean eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + patience().toNanos();
    while (true) {
      settle();
      if (condition.getAsBoolean()) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
  }

  /** Settles, then leaves a late callback a moment to show up. */
  private void quietly() throws InterruptedException {
    settle();
    Thread.sleep(50);
    settle();
  }

  @Test
  void idAndRemoteAddressAreNonEmptyAndStableAcrossClose() throws Exception {
    ClientConnection c = open();
    String id = c.id();
    String address = c.remoteAddress();
    assertThat(id).isNotEmpty();
    assertThat(address).isNotEmpty();
    assertThat(c.id()).isEqualTo(id);
    assertThat(c.remoteAddress()).isEqualTo(address);

    c.close(1000, "contract");
    settle();

    assertThat(c.id()).isEqualTo(id);
    assertThat(c.remoteAddress()).isEqualTo(address);
  }

  @Test
  void aSendOnALiveConnectionReportsItWrittenExactlyOnce() throws Exception {
    ClientConnection c = open();
    AtomicInteger written = new AtomicInteger();

    c.send(message(), written::incrementAndGet);

    assertThat(eventually(() -> written.get() >= 1)).as("onWritten ran").isTrue();
    quietly();
    assertThat(written).hasValue(1);
  }

  @Test
  void aDeliveryOnALiveConnectionReportsNoFailure() throws Exception {
    ClientConnection c = open();
    AtomicInteger failed = new AtomicInteger();

    c.deliver(message(), failed::incrementAndGet);
    quietly();

    assertThat(failed).hasValue(0);
  }

  @Test
  void closeIsIdempotentAndNothingThrowsAfterIt() throws Exception {
    ClientConnection c = open();

    assertThatCode(
            () -> {
              c.close(1000, "first");
              c.close(1000, "second");
              settle();
              c.send(message());
              c.send(message(), () -> {});
              c.deliver(message(), () -> {});
              c.reachable();
              settle();
            })
        .doesNotThrowAnyException();
  }

  @Test
  void afterCloseADeliveryFailsAtMostOnceAndNothingIsReportedWrittenTwice() throws Exception {
    ClientConnection c = open();
    c.close(1000, "contract");
    settle();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger written = new AtomicInteger();

    c.deliver(message(), failed::incrementAndGet);
    c.send(message(), written::incrementAndGet);

    if (observesWrites()) {
      assertThat(eventually(() -> failed.get() >= 1)).as("onFailure ran").isTrue();
    }
    quietly();
    assertThat(failed.get()).isLessThanOrEqualTo(1);
    assertThat(written.get()).isLessThanOrEqualTo(1);
    if (observesWrites()) {
      assertThat(failed).hasValue(1);
      assertThat(written).hasValue(0);
    }
  }

  @Test
  void aLiveConnectionIsReachable() throws Exception {
    ClientConnection c = open();
    assertThat(c.reachable()).isTrue();
    assertThat(c.reachable()).isTrue();
  }

  @Test
  void aProbeOfALiveConnectionSaysAlive() throws Exception {
    ClientConnection c = open();

    CompletionStage<Boolean> probe = c.probe(Duration.ofSeconds(1));
    assertThat(probe).isNotNull();
    CompletableFuture<Boolean> answer = new CompletableFuture<>();
    probe.whenComplete(
        (alive, error) -> {
          if (error != null) {
            answer.completeExceptionally(error);
          } else {
            answer.complete(alive);
          }
        });

    assertThat(eventually(answer::isDone)).as("the probe completed").isTrue();
    assertThat(answer.get(1, TimeUnit.SECONDS)).isTrue();
  }
}
