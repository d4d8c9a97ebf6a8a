package org.aiphub.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Clock;
import java.time.Duration;
import org.aiphub.core.registry.ClientRegistry;
import org.aiphub.core.session.Session;
import org.aiphub.core.session.SessionState;
import org.aiphub.core.session.SessionTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HubMetricsTest {
  private final SessionTable sessions =
      new SessionTable(100, Duration.ofHours(1), Clock.systemUTC());
  private final MultiThreadIoEventLoopGroup loops =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final HubMetrics metrics =
      new HubMetrics(ClientRegistry.builder().build(), sessions, loops, () -> 0);

  @AfterEach
  void close() {
    metrics.close();
    loops.shutdownGracefully(0, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Test
  void aRoundTripTimerStartsAndEndsWithItsSession() throws Exception {
    Session s = sessions.reserve("s1", "c1", "d1", "t", "r").session();
    metrics.sessionStarted(s, System.nanoTime());
    assertThat(metrics.timedSessions()).isEqualTo(1);

    Session done = sessions.finish(s, SessionState.COMPLETED, null, null).orElseThrow();
    metrics.sessionFinished(done);
    assertThat(metrics.timedSessions()).isZero();
  }

  /**
   * The start event runs after the bind, so a departure on another event loop can end the session
   * (and announce its end) first: the late start must not leave a timer nobody removes.
   */
  @Test
  void aStartAnnouncedAfterTheSessionEndedLeavesNoTimer() throws Exception {
    Session s = sessions.reserve("s1", "c1", "d1", "t", "r").session();
    Session done =
        sessions.finish(s, SessionState.FAILED, null, "device_disconnected").orElseThrow();
    metrics.sessionFinished(done);

    metrics.sessionStarted(s, System.nanoTime());

    assertThat(metrics.timedSessions()).isZero();
  }

  @Test
  void keptBytesHeldBytesAndDroppedHeldOutcomesAreExposed() throws Exception {
    String before = metrics.scrape();
    for (String reason : new String[] {"age", "owner_limit", "hub_limit"}) {
      assertThat(before).contains("hub_held_outcomes_dropped_total{reason=\"" + reason + "\"} 0.0");
    }
    assertThat(before).contains("hub_session_bytes 0.0").contains("hub_held_outcome_bytes 0.0");

    Session s = sessions.reserve("s1", "c1", "d1", "t", "r").session();
    Session done = sessions.finish(s, SessionState.COMPLETED, "result", null).orElseThrow();
    sessions.hold(done);
    metrics.heldOutcomeDropped(done, "owner_limit");

    String after = metrics.scrape();
    assertThat(after).contains("hub_held_outcomes_dropped_total{reason=\"owner_limit\"} 1.0");
    assertThat(after).doesNotContain("hub_session_bytes 0.0");
    assertThat(after).doesNotContain("hub_held_outcome_bytes 0.0");
  }
}
