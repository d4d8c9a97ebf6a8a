package org.aiphub.server.cluster;

import static org.aiphub.server.config.Settings.CLUSTER_LEASE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.aiphub.core.aip.ServerMessage;
import org.aiphub.core.aip.ServerMessageType;
import org.aiphub.core.aip.TaskStatus;
import org.aiphub.server.route.TaskRouter;
import org.aiphub.server.testing.Clients;
import org.aiphub.server.testing.TestHub;
import org.aiphub.server.testing.WsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The periodic reconciliation of a node's mirror with Redis repairs what lost events leave behind:
 * a client that left its node but is still mirrored elsewhere is dropped there, the way its leave
 * would have dropped it.
 */
class ClusterMirrorRepairTest {
  /** A few reconciliation periods, plus slack for a loaded machine. */
  private static final Duration BOUND = Duration.ofSeconds(20);

  private ClusterRig rig;

  @BeforeEach
  void start() {
    rig = ClusterRig.start();
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  @Test
  void aClientWhoseLeaveNeverArrivedIsDroppedAndItsSessionsFailAsOnALeave() {
    // a's lease outlasts the stall below: a stays alive, only its cluster side is slow.
    TestHub a = rig.node("a", c -> c.set(CLUSTER_LEASE, Duration.ofSeconds(60)));
    TestHub b = rig.node("b");
    try (WsClient galB = Clients.constellation(b, "gal-b")) {
      WsClient dev = Clients.device(a, "dev-x");
      ClusterRig.awaitEverywhere(List.of(a, b), "dev-x", "gal-b");
      String description = rig.redis().hget("hub:clients", "dev-x");
      dev.close();
      ClusterRig.awaitGoneEverywhere(List.of(a, b), "dev-x");

      // b ends up where a lost leave leaves it: dev-x mirrored under a, which Redis and a say is
      // gone (a stale copy of its join, replayed, gets it there).
      rig.redis().publish("hub:events", description);
      ClusterRig.awaitEverywhere(List.of(b), "dev-x");
      assertThat(rig.owners()).doesNotContainKey("dev-x");

      // A task for it from b waits in a's stalled cluster side: only b can end that session now.
      CountDownLatch stalled = rig.stall(a);
      try {
        Clients.startTask(galB, "gal-b", "dev-x", "s-1");
        await().atMost(BOUND).until(() -> galB.pending() > 0);
        ServerMessage end = galB.next();
        assertThat(end.type()).isEqualTo(ServerMessageType.TASK_END);
        assertThat(end.sessionId()).isEqualTo("s-1");
        assertThat(end.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(end.error()).isEqualTo(TaskRouter.DEVICE_DISCONNECTED);
        assertThat(b.server().registry().isOnline("dev-x")).isFalse();
      } finally {
        ClusterRig.resume(stalled);
      }

      // a refuses the task late; b has ended the session already and tells nobody twice.
      galB.expectNothing(Duration.ofMillis(4 * ClusterRig.RENEW.toMillis()));
      await()
          .atMost(ClusterRig.SYNC)
          .untilAsserted(() -> assertThat(b.server().sessions().counts().running()).isZero());
      assertThat(b.server().sessions().counts().failed()).isEqualTo(1);
      assertThat(b.server().registry().isOnline("dev-x")).isFalse();
      Clients.assertNoMappingsAndConsistent(b.server().registry());
    }
  }
}
